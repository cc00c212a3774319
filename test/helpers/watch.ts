import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { cleanEnv, OPS_BIN, runOpsJson } from './ops.js';

export interface WatchProject {
  dir: string;
  ledger: string;
  env: NodeJS.ProcessEnv;
  /** Run ops with --json in the project; stdout parsed when it is JSON. */
  ops(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; json: any }>;
  writeConfig(yaml: string): void;
}

/** A folder with an ops.config.yaml and its own ledger (or the one OPS_LEDGER names). */
export function watchProject(t: TestContext, yaml: string, env: NodeJS.ProcessEnv = {}): WatchProject {
  const dir = mkdtempSync(join(tmpdir(), 'ops-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const runEnv = cleanEnv(env);
  const project: WatchProject = {
    dir,
    ledger: env.OPS_LEDGER ?? join(dir, '.ops', 'ledger.db'),
    env: runEnv,
    writeConfig: (text) => writeFileSync(join(dir, 'ops.config.yaml'), text),
    async ops(args) {
      const { code, stdout, stderr, json } = await runOpsJson(args, { cwd: dir, env: runEnv });
      return { code, stdout, stderr, json };
    },
  };
  project.writeConfig(yaml);
  return project;
}

export interface Recorder {
  url: string;
  requests: Array<{ method: string; path: string; body: string }>;
  /** What the next requests answer: a status per request, then 200. */
  answers: number[];
  close(): Promise<void>;
}

/** A local HTTP server that records requests and answers with the queued statuses (then 200). */
export async function recorder(t: TestContext, respond?: (req: IncomingMessage, res: ServerResponse, body: string) => boolean): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const answers: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      requests.push({ method: req.method!, path: req.url!, body });
      if (respond?.(req, res, body)) return;
      res.writeHead(answers.shift() ?? 200, { 'Content-Type': 'text/plain' });
      res.end('ok\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  t.after(close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, answers, close };
}

/** Poll `probe` every 250 ms until it gives a value; `what` names the wait (or says more) on timeout. */
export async function until<T>(what: string | (() => string), probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

/** A container labelled as ops deploys them (env local), so the docker source finds it; removed after the test. */
export function container(t: TestContext, project: string, service: string, args: string[], command: string): string {
  const name = `${project}-${service}-${randomBytes(2).toString('hex')}`;
  execFileSync('docker', ['run', '-d', '--name', name, '--label', `ops.project=${project}`, '--label', `ops.service=${service}`, '--label', 'ops.env=local', ...args, 'ops/busybox:latest', 'sh', '-c', command], { encoding: 'utf8' });
  t.after(() => void execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' }));
  return name;
}

interface InspectedState {
  Status: string;
  OOMKilled: boolean;
  ExitCode: number;
  Health?: { Status: string };
}

/**
 * Wait until a container shows what a test needs of it (restarted, unhealthy, killed): on a loaded
 * machine that takes longer than any fixed sleep can promise.
 */
export async function untilContainer(name: string, what: string, ready: (state: InspectedState & { RestartCount: number }) => boolean, timeoutMs = 60_000): Promise<void> {
  await until(`${name} to be ${what}`, () => {
    const [state, restarts] = JSON.parse(execFileSync('docker', ['inspect', '--format', '[{{json .State}}, {{.RestartCount}}]', name], { encoding: 'utf8' })) as [InspectedState, number];
    return ready({ ...state, RestartCount: restarts }) ? true : undefined;
  }, timeoutMs);
}

export interface Receiver {
  /** The receiver's stderr so far. */
  stderr(): string;
  /** SIGTERM, then its exit. */
  stop(): Promise<{ code: number | null; stderr: string }>;
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** `ops watch --listen <address>` as a child process of the project, ready when it says it listens; killed after the test. */
export async function listen(t: TestContext, p: WatchProject, address: string, env: NodeJS.ProcessEnv = {}): Promise<Receiver> {
  const child = spawn(process.execPath, [OPS_BIN, 'watch', '--listen', address], { cwd: p.dir, env: { ...p.env, ...env } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  t.after(() => void child.kill('SIGKILL'));
  await until(
    () => `ops watch --listen ${address}: ${stderr}`,
    async () => (stderr.includes('listening for Alertmanager webhooks') ? true : child.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined),
    20_000,
  );
  return {
    stderr: () => stderr,
    exited,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
