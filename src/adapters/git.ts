import type { SimpleGit } from 'simple-git';
import { ToolMissingError } from '../errors.js';

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
