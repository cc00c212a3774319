import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const OPS_BIN = join(PROJECT_ROOT, 'bin', 'ops.js');

export interface OpsResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  uid?: number;
  gid?: number;
  /** Kill it (SIGTERM) if it is still running after this long. */
  timeoutMs?: number;
}

/** An environment without the caller's colour, CI and OPS_* settings, with its own XDG config dir. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OPS_') && !['CI', 'NO_COLOR', 'FORCE_COLOR', 'NODE_TEST_CONTEXT'].includes(key)) env[key] = value;
  }
  return { ...env, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'ops-xdg-')), XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), 'ops-cache-')), ...extra };
}

/** The pids of a process's children (Linux /proc); none once it is gone. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process's command name (Linux /proc), or null once it is gone. */
export function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Run the real `ops` binary and collect its output. */
export function runOps(args: string[], options: RunOptions = {}): Promise<OpsResult> {
  return runProcess(process.execPath, [OPS_BIN, ...args], options);
}

/** Run `ops` with --json; `json` is its parsed stdout, undefined when stdout is not JSON. */
export async function runOpsJson(args: string[], options: RunOptions = {}): Promise<OpsResult & { json: any }> {
  const result = await runOps([...args, '--json'], options);
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { ...result, json };
}

export function runProcess(file: string, args: string[], options: RunOptions = {}): Promise<OpsResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env ?? cleanEnv(), uid: options.uid, gid: options.gid, timeout: options.timeoutMs };
    const child = spawn(file, args, spawnOptions);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    // A child that exits without reading its input is not an error of the caller's.
    child.stdin!.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin!.end(options.input ?? '');
  });
}

/**
 * Run `ops` on a real pseudo-terminal (util-linux `script`), answering each prompt that matches.
 * Returns everything the terminal showed.
 */
export function runOpsInTerminal(args: string[], cwd: string, answers: Array<[RegExp, string]>, timeoutMs = 20_000): Promise<OpsResult> {
  const quoted = [process.execPath, OPS_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // `script` makes a terminal of no size; give it a real one, as a terminal emulator would.
  const child = spawn('script', ['-qfec', `stty cols 120 rows 40; exec ${quoted}`, '/dev/null'], { cwd, env: cleanEnv({ TERM: 'xterm' }) });
  const pending = [...answers];
  let screen = '';
  let sinceLastAnswer = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`no prompt matched ${pending[0]?.[0]} within ${timeoutMs} ms; the terminal showed:\n${screen}`));
    }, timeoutMs);
    child.stdout!.on('data', (data: Buffer) => {
      screen += data.toString();
      sinceLastAnswer += data.toString();
      const next = pending[0];
      if (next && next[0].test(sinceLastAnswer)) {
        pending.shift();
        sinceLastAnswer = '';
        setTimeout(() => child.stdin!.write(next[1]), 50);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: screen, stderr: '' });
    });
  });
}

/**
 * A data set from the read-only `../shared/data` beside the project root (OPS_SHARED_DATA overrides);
 * skips the test loudly when it is not there, and fails in CI.
 */
export function sharedData(t: { skip(message: string): void }, file: string): string | null {
  const path = join(process.env.OPS_SHARED_DATA ?? join(PROJECT_ROOT, '..', 'shared', 'data'), file);
  if (existsSync(path)) return path;
  const message = `${path} is missing: the shared data sets live in ../shared/data beside the project root (or set OPS_SHARED_DATA)`;
  if (process.env.CI && process.env.CI !== 'false') throw new Error(`${message} (CI must run every test)`);
  process.stderr.write(`\n!!! SKIPPED: ${message}\n\n`);
  t.skip(message);
  return null;
}
