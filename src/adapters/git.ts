import type { SimpleGit } from 'simple-git';
import { ToolMissingError } from '../core/errors.js';

export interface GitState {
  sha: string | null;
  branch: string | null;
  dirty: boolean;
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

/** Commit, branch and dirtiness of the work tree at `cwd`; null outside a repository. */
export function gitState(cwd: string): Promise<GitState | null> {
  return withGit(cwd, async (git) => {
    if (!(await git.checkIsRepo())) return null;
    const status = await git.status();
    const sha = await git.revparse(['--verify', '-q', 'HEAD']).catch(() => null);
    return { sha: sha?.trim() || null, branch: status.current ?? null, dirty: !status.isClean() };
  });
}

/** URL of the `origin` remote (or the first remote), or null. */
export function gitRemoteUrl(cwd: string): Promise<string | null> {
  return withGit(cwd, async (git) => {
    if (!(await git.checkIsRepo())) return null;
    const remotes = await git.getRemotes(true);
    const remote = remotes.find((r) => r.name === 'origin') ?? remotes[0];
    return remote?.refs.fetch || null;
  });
}

export function gitVersion(): Promise<string> {
  return withGit(process.cwd(), async (git) => {
    const version = await git.version();
    if (!version.installed) throw new ToolMissingError('git', 'install git (Debian: apt-get install git) or add it to PATH');
    return `${version.major}.${version.minor}.${version.patch}`;
  });
}

/**
 * A hash of everything that makes the work tree differ from HEAD: the diff of tracked files and the
 * content of untracked, unignored ones. Two different dirty trees never share it.
 */
export function gitDirtyHash(cwd: string): Promise<string> {
  return withGit(cwd, async (git) => {
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const top = (await git.revparse(['--show-toplevel'])).trim();
    await git.cwd(top);
    const hash = createHash('sha256');
    hash.update(await git.raw(['diff', 'HEAD', '--binary', '--no-color', '--no-ext-diff']));
    const untracked = (await git.raw(['ls-files', '--others', '--exclude-standard', '-z'])).split('\0').filter(Boolean).sort();
    for (const file of untracked) {
      hash.update(`\0untracked\0${file}\0`);
      try {
        hash.update(readFileSync(join(top, file)));
      } catch {
        // Removed since the listing, or unreadable: its name still counts.
      }
    }
    return hash.digest('hex');
  });
}
