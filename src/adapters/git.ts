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
