import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const AUTHOR = { name: 'Ada Fixture', email: 'ada@example.test' };

export interface CommitOptions {
  author?: { name: string; email: string };
  /** ISO date for both author and committer, so histories are reproducible. */
  date?: string;
}

export interface GitRepo {
  dir: string;
  git(...args: string[]): string;
  /** Write (string) or delete (null) files, stage everything, commit; returns the new sha. */
  commit(files: Record<string, string | Buffer | null>, message: string, options?: CommitOptions): string;
  write(files: Record<string, string | Buffer | null>): void;
  cleanup(): void;
}

/** A temp repository on `main` with a fixed author, signing off and no user or system config. */
export function gitRepo(prefix = 'ops-git-'): GitRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const baseEnv = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: AUTHOR.name,
    GIT_AUTHOR_EMAIL: AUTHOR.email,
    GIT_COMMITTER_NAME: AUTHOR.name,
    GIT_COMMITTER_EMAIL: AUTHOR.email,
  };
  const run = (args: string[], env: NodeJS.ProcessEnv = baseEnv) =>
    execFileSync('git', ['-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, env, encoding: 'utf8' }).trim();
  run(['init', '-q', '-b', 'main']);

  const write = (files: Record<string, string | Buffer | null>) => {
    for (const [path, content] of Object.entries(files)) {
      const full = join(dir, path);
      if (content === null) unlinkSync(full);
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
  };

  return {
    dir,
    git: (...args) => run(args),
    write,
    commit(files, message, options = {}) {
      write(files);
      const author = options.author ?? AUTHOR;
      const env = {
        ...baseEnv,
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        ...(options.date ? { GIT_AUTHOR_DATE: options.date, GIT_COMMITTER_DATE: options.date } : {}),
      };
      run(['add', '-A'], env);
      run(['commit', '-q', '--allow-empty', '-m', message], env);
      return run(['rev-parse', 'HEAD']);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
