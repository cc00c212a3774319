import { ToolMissingError } from '../core/errors.js';

export interface GitState {
  sha: string | null;
  branch: string | null;
  dirty: boolean;
}

const GIT_HINT = 'install git (Debian: apt-get install git) or add it to PATH';

function isMissingBinary(err: unknown): boolean {
  const text = String((err as Error)?.message ?? err);
  return /ENOENT/.test(text) && /spawn|git/.test(text);
}

async function git(cwd: string) {
  const { simpleGit } = await import('simple-git');
  return simpleGit({ baseDir: cwd });
}

/** Commit, branch and dirtiness of the work tree at `cwd`; null outside a repository. */
export async function gitState(cwd: string): Promise<GitState | null> {
  try {
    const repo = await git(cwd);
    if (!(await repo.checkIsRepo())) return null;
    const status = await repo.status();
    const sha = await repo.revparse(['--verify', '-q', 'HEAD']).catch(() => null);
    return { sha: sha?.trim() || null, branch: status.current ?? null, dirty: !status.isClean() };
  } catch (err) {
    if (isMissingBinary(err)) throw new ToolMissingError('git', GIT_HINT);
    throw err;
  }
}

/** URL of the `origin` remote (or the first remote), or null. */
export async function gitRemoteUrl(cwd: string): Promise<string | null> {
  try {
    const repo = await git(cwd);
    if (!(await repo.checkIsRepo())) return null;
    const remotes = await repo.getRemotes(true);
    const remote = remotes.find((r) => r.name === 'origin') ?? remotes[0];
    return remote?.refs.fetch || null;
  } catch (err) {
    if (isMissingBinary(err)) throw new ToolMissingError('git', GIT_HINT);
    throw err;
  }
}

export async function gitVersion(): Promise<string> {
  try {
    const repo = await git(process.cwd());
    const version = await repo.version();
    if (!version.installed) throw new ToolMissingError('git', GIT_HINT);
    return `${version.major}.${version.minor}.${version.patch}`;
  } catch (err) {
    if (isMissingBinary(err)) throw new ToolMissingError('git', GIT_HINT);
    throw err;
  }
}
