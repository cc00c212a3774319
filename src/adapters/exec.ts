import { TimeoutError, ToolMissingError } from '../errors.js';
import { childOptions, guard, signalChild } from './children.js';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const INSTALL_HINTS: Record<string, string> = {
  kubectl: 'install kubectl and add it to PATH (https://kubernetes.io/docs/tasks/tools/)',
  docker: 'install the Docker CLI (Debian: apt-get install docker.io)',
  git: 'install git (Debian: apt-get install git) or add it to PATH',
};

const TIMEOUT_HINTS: Record<string, string> = {
  kubectl: 'check that the cluster answers (`kubectl cluster-info`) and the kube context is right, or raise the environment\'s timeout in the config',
  docker: 'check that dockerd is running and answers (`docker info`), then try again',
  git: 'check that no other git process holds the repository (a stale .git/index.lock) and that its disk answers',
};

/** Run a tool with an argument array (never a shell string) and capture its output. */
export async function runTool(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  const { execa } = await import('execa');
  const group = childOptions();
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    timeout: options.timeoutMs,
    reject: false,
    ...group,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  guard(child, group);
  const result = await child;
  // execa's timeout stops the tool itself; what it started (a credential plugin) goes with its group.
  if (result.timedOut) signalChild(child, group, 'SIGKILL');
  if ((result as { code?: string }).code === 'ENOENT' || (result.failed && /ENOENT/.test(String(result.message)) && result.exitCode === undefined)) {
    throw new ToolMissingError(file, INSTALL_HINTS[file] ?? `install ${file} and add it to PATH`);
  }
  // execa kills a tool past its timeout; without this it read as a bare "exited with code 1".
  if (result.timedOut && options.timeoutMs !== undefined) throw new TimeoutError(file, options.timeoutMs, TIMEOUT_HINTS[file] ?? `check what ${file} waits for, then try again`);
  return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** A stopped command that ignores the signal gets SIGKILL this much later. */
const FORCE_KILL_AFTER_MS = 5000;

export interface StreamedCommand {
  exitCode: number;
  /** Set when the command could not start or was killed by a signal. */
  failure?: string;
}

/**
 * Run a command with the terminal's stdin, handing its output to `onOutput` as it comes,
 * stopping it (and what it started) when `cancel` aborts: the signal ops got, then SIGKILL.
 */
export async function runStreaming(
  command: readonly string[],
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    cancel: AbortSignal;
    onOutput: (stream: 'stdout' | 'stderr', text: string) => void;
  },
): Promise<StreamedCommand> {
  const { spawn } = await import('node:child_process');
  const [file, ...args] = command;
  const group = childOptions(Boolean(process.stdin.isTTY));
  // spawn, not execa: the child is on the watchdog's list the moment it runs (execa hands it back
  // milliseconds later, long enough for a SIGKILL of ops to leave it behind).
  const child = spawn(file!, args, { cwd: options.cwd, env: options.env, stdio: ['inherit', 'pipe', 'pipe'], ...group });
  guard(child, group);
  let forceKill: NodeJS.Timeout | undefined;
  const stop = () => {
    const reason = options.cancel.reason;
    const signal = typeof reason === 'string' && reason.startsWith('SIG') ? (reason as NodeJS.Signals) : 'SIGTERM';
    if (signalChild(child, group, signal)) forceKill = setTimeout(() => signalChild(child, group, 'SIGKILL'), FORCE_KILL_AFTER_MS).unref();
  };
  if (options.cancel.aborted) stop();
  else options.cancel.addEventListener('abort', stop, { once: true });
  child.stdout.setEncoding('utf8').on('data', (text: string) => options.onOutput('stdout', text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => options.onOutput('stderr', text));
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  }).finally(() => {
    options.cancel.removeEventListener('abort', stop);
    clearTimeout(forceKill);
  });
  if (result.error?.code === 'ENOENT') throw new ToolMissingError(file!, `check the command name, or install ${file} and add it to PATH`);
  if (result.error) return { exitCode: 1, failure: `could not start ${file}: ${result.error.message}` };
  if (result.code === null) return { exitCode: 1, failure: `killed by ${result.signal}` };
  return { exitCode: result.code };
}
