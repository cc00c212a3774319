import type { SimpleGit } from 'simple-git';
import { ToolMissingError } from '../errors.js';
import { childOptions, guard } from './children.js';

export interface GitState {
  sha: string | null;
  branch: string | null;
  dirty: boolean;
  /**
   * With uncommitted changes: a hash of every changed or untracked path with its work-tree content,
   * so two different dirty trees never share it. Null when clean.
   */
  dirtyHash: string | null;
}

/** Run `work` with a simple-git client; a missing git binary becomes one clear error. */
async function withGit<T>(cwd: string, work: (git: SimpleGit) => Promise<T>): Promise<T> {
  const { simpleGit } = await import('simple-git');
  try {
    return await work(simpleGit({ baseDir: cwd }));
  } catch (err) {
    const text = String((err as Error)?.message ?? err);
    if (/ENOENT/.test(text) && /spawn|git/.test(text)) {
      throw new ToolMissingError('git', 'install git (Debian: apt-get install git) or add it to PATH');
    }
    throw err;
  }
}

/**
 * Commit, branch and changes of the work tree at `cwd`, from one `git status` call; null outside
 * a repository. (One call matters: simple-git waits 50 ms after any git command that prints nothing.)
 */
export function gitState(cwd: string): Promise<GitState | null> {
  return withGit(cwd, async (git) => {
    let status: string;
    try {
      status = await git.raw(['status', '--porcelain=v2', '--branch', '--untracked-files=all', '-z']);
    } catch (err) {
      if (/not a git repository/i.test(String((err as Error).message))) return null;
      throw err;
    }
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    let sha: string | null = null;
    let branch: string | null = null;
    const changes: string[] = [];
    const fields = status.split('\0');
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      if (field.startsWith('# branch.oid ')) sha = field.slice(13) === '(initial)' ? null : field.slice(13);
      else if (field.startsWith('# branch.head ')) branch = field.slice(14) === '(detached)' ? null : field.slice(14);
      else if (field.startsWith('1 ') || field.startsWith('u ')) changes.push(`${field.slice(0, 4)}\0${field.split(' ').slice(field.startsWith('1 ') ? 8 : 10).join(' ')}`);
      else if (field.startsWith('2 ')) changes.push(`${field.slice(0, 4)}\0${field.split(' ').slice(9).join(' ')}\0${fields[++i]}`);
      else if (field.startsWith('? ')) changes.push(`?\0${field.slice(2)}`);
    }
    if (changes.length === 0) return { sha, branch, dirty: false, dirtyHash: null };
    const hash = createHash('sha256');
    for (const change of changes.sort()) {
      hash.update(`${change}\0`);
      try {
        hash.update(readFileSync(join(cwd, change.split('\0')[1]!)));
      } catch {
        hash.update('(absent)');
      }
    }
    return { sha, branch, dirty: true, dirtyHash: hash.digest('hex') };
  });
}

/** URL of the `origin` remote, or null. */
export function gitRemoteUrl(cwd: string): Promise<string | null> {
  return withGit(cwd, async (git) => {
    // --default makes git print a line even without the key (see gitState on empty output).
    const url = (await git.raw(['config', '--default', '', '--get', 'remote.origin.url']).catch(() => '')).trim();
    return url || null;
  });
}

export function gitVersion(): Promise<string> {
  return withGit(process.cwd(), async (git) => {
    const version = await git.version();
    if (!version.installed) throw new ToolMissingError('git', 'install git (Debian: apt-get install git) or add it to PATH');
    return `${version.major}.${version.minor}.${version.patch}`;
  });
}

export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number,
  ) {
    super(`git ${args[0]} failed (exit code ${exitCode}): ${stderr.trim().split('\n')[0] ?? ''}`);
  }
}

/**
 * Run git with an argument array and return its stdout (through execa: simple-git buffers with a
 * 50 ms pause after silent commands, which a history walk of thousands of calls cannot afford).
 */
export async function gitOutput(cwd: string, args: readonly string[], input?: string): Promise<string> {
  const { runTool } = await import('./exec.js');
  const result = await runTool('git', ['-c', 'core.quotepath=off', ...args], { cwd, input });
  if (result.exitCode !== 0) throw new GitCommandError(args, result.stderr, result.exitCode);
  return result.stdout;
}

/**
 * The commits reachable from `sha` and from none of `earlier`, with their author times (ms), newest
 * first, at most `limit`; null when the repository does not have `sha` (a shallow clone, or an image
 * built elsewhere). Earlier commits the repository lacks are skipped.
 */
export async function commitsSince(cwd: string, sha: string, earlier: readonly string[], limit: number): Promise<Array<{ sha: string; authoredAt: number }> | null> {
  try {
    await gitOutput(cwd, ['cat-file', '-e', `${sha}^{commit}`]);
  } catch (err) {
    if (err instanceof GitCommandError) return null;
    throw err;
  }
  const revisions = [sha, ...earlier.map((e) => `^${e}`)].join('\n');
  const out = await gitOutput(cwd, ['log', '--ignore-missing', `--max-count=${limit}`, '--format=%H %at', '--stdin'], `${revisions}\n`);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [commit, at] = line.split(' ');
      return { sha: commit!, authoredAt: Number(at) * 1000 };
    });
}

const missingGit = () => new ToolMissingError('git', 'install git (Debian: apt-get install git) or add it to PATH');

/**
 * Stream git's stdout as records ending at `separator` (the text before the first one is dropped),
 * read as git writes them, so a history larger than memory can be walked. Exits non-zero: throws.
 */
export async function* gitRecords(cwd: string, args: readonly string[], separator: string, input?: string): AsyncGenerator<string> {
  const { spawn } = await import('node:child_process');
  const group = childOptions();
  const child = spawn('git', ['-c', 'core.quotepath=off', ...args], { cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...group });
  guard(child, group);
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text.slice(0, 4096)));
  if (input !== undefined) child.stdin!.end(input);
  let pending = '';
  let first = true;
  try {
    for await (const chunk of child.stdout!.setEncoding('utf8') as AsyncIterable<string>) {
      pending += chunk;
      let at: number;
      while ((at = pending.indexOf(separator)) >= 0) {
        const record = pending.slice(0, at);
        pending = pending.slice(at + separator.length);
        if (!first) yield record;
        first = false;
      }
    }
  } finally {
    if (child.exitCode === null) child.kill();
  }
  const { code, error } = await exited;
  if (error) throw (error as NodeJS.ErrnoException).code === 'ENOENT' ? missingGit() : error;
  if (code !== 0) throw new GitCommandError(args, stderr, code ?? 1);
  if (!first) yield pending;
}

/**
 * Git processes run side by side, `size` at a time (one per core), with `git cat-file --batch` kept
 * open for file contents. It keeps the sum of its calls' wall times, the cost the work could not
 * go below on `size` cores.
 */
export class GitProcesses {
  /** Wall time of every call, added up (ms); cat-file counts while it has a request open. */
  busyMs = 0;
  calls = 0;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private catFile: CatFile | null = null;

  constructor(
    readonly cwd: string,
    readonly size: number,
  ) {}

  /** Run `git args` when a slot is free; stdout as text. */
  async run(args: readonly string[]): Promise<string> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    const started = performance.now();
    try {
      return await runGit(this.cwd, args);
    } finally {
      this.busyMs += performance.now() - started;
      this.calls++;
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** The contents of `<rev>:<path>` (null when missing), from one long-lived `git cat-file --batch`. */
  async read(object: string): Promise<Buffer | null> {
    this.catFile ??= new CatFile(this.cwd, (ms) => (this.busyMs += ms));
    return this.catFile.read(object);
  }

  close(): void {
    this.catFile?.close();
    this.catFile = null;
  }
}

async function runGit(cwd: string, args: readonly string[]): Promise<string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const group = childOptions();
    const child = spawn('git', ['-c', 'core.quotepath=off', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...group });
    guard(child, group);
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text.slice(0, 4096)));
    child.on('error', (error) => reject((error as NodeJS.ErrnoException).code === 'ENOENT' ? missingGit() : error));
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new GitCommandError(args, stderr, code ?? 1))));
  });
}

/** `git cat-file --batch`: requests answered in order, one process for all of them. */
class CatFile {
  private child: import('node:child_process').ChildProcessWithoutNullStreams | null = null;
  private readonly queue: Array<{ resolve: (content: Buffer | null) => void; reject: (error: Error) => void }> = [];
  private buffer: Buffer = Buffer.alloc(0);
  private busySince = 0;
  private failure: Error | null = null;

  constructor(
    private readonly cwd: string,
    private readonly onBusy: (ms: number) => void,
  ) {}

  async read(object: string): Promise<Buffer | null> {
    if (/[\n\r]/.test(object)) return null;
    if (!this.child) await this.start();
    if (this.failure) throw this.failure;
    if (this.queue.length === 0) this.busySince = performance.now();
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.child!.stdin.write(`${object}\n`);
    });
  }

  private async start(): Promise<void> {
    const { spawn } = await import('node:child_process');
    if (this.child) return;
    const group = childOptions();
    const child = spawn('git', ['cat-file', '--batch'], { cwd: this.cwd, ...group });
    guard(child, group);
    this.child = child;
    child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.drain();
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const request of this.queue.splice(0)) request.reject(error);
    };
    child.on('error', (error) => fail((error as NodeJS.ErrnoException).code === 'ENOENT' ? missingGit() : error));
    child.on('close', (code) => {
      if (this.queue.length) fail(new GitCommandError(['cat-file', '--batch'], `exited with code ${code}`, code ?? 1));
    });
  }

  /** Answers: `<oid> <type> <size>\n<content>\n`, or `<object> missing\n` (or ambiguous). */
  private drain(): void {
    while (this.queue.length) {
      const newline = this.buffer.indexOf(10);
      if (newline < 0) return;
      const header = this.buffer.subarray(0, newline).toString('utf8');
      const size = /^[0-9a-f]+ \w+ (\d+)$/.exec(header);
      if (!size) {
        this.buffer = this.buffer.subarray(newline + 1);
        this.answer(null);
        continue;
      }
      const end = newline + 1 + Number(size[1]);
      if (this.buffer.length < end + 1) return;
      const content = Buffer.from(this.buffer.subarray(newline + 1, end));
      this.buffer = this.buffer.subarray(end + 1);
      this.answer(header.split(' ')[1] === 'blob' ? content : null);
    }
  }

  private answer(content: Buffer | null): void {
    this.queue.shift()!.resolve(content);
    if (this.queue.length === 0) this.onBusy(performance.now() - this.busySince);
  }

  close(): void {
    this.child?.stdin.end();
    this.child = null;
  }
}
