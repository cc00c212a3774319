import { TimeoutError, ToolMissingError } from '../errors.js';

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
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    timeout: options.timeoutMs,
    reject: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  if ((result as { code?: string }).code === 'ENOENT' || (result.failed && /ENOENT/.test(String(result.message)) && result.exitCode === undefined)) {
    throw new ToolMissingError(file, INSTALL_HINTS[file] ?? `install ${file} and add it to PATH`);
  }
  // execa kills a tool past its timeout; without this it read as a bare "exited with code 1".
  if (result.timedOut && options.timeoutMs !== undefined) throw new TimeoutError(file, options.timeoutMs, TIMEOUT_HINTS[file] ?? `check what ${file} waits for, then try again`);
  return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

export interface StreamedCommand {
  exitCode: number;
  /** Set when the command could not start or was killed by a signal. */
  failure?: string;
}

/**
 * Run a command with the terminal's stdin, handing its output to `onOutput` as it comes,
 * stopping it when `cancel` aborts.
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
  const { execa } = await import('execa');
  const [file, ...args] = command;
  const child = execa(file!, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    reject: false,
    stdin: 'inherit',
    buffer: false,
    cancelSignal: options.cancel,
    forceKillAfterDelay: 5000,
  });
  child.stdout?.setEncoding('utf8').on('data', (text: string) => options.onOutput('stdout', text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => options.onOutput('stderr', text));
  const result = await child;
  if ((result as { code?: string }).code === 'ENOENT') {
    throw new ToolMissingError(file!, `check the command name, or install ${file} and add it to PATH`);
  }
  if (result.exitCode === undefined) {
    return { exitCode: 1, failure: result.signal ? `killed by ${result.signal}` : String(result.shortMessage ?? result.message) };
  }
  return { exitCode: result.exitCode };
}
