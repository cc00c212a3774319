import dockerignore from '@balena/dockerignore';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';

export interface ContextEntry {
  /** Path inside the context, with forward slashes. */
  path: string;
  type: 'file' | 'symlink';
  mode: number;
  size: number;
  linkTarget?: string;
}

export interface BuildInputs {
  contextDir: string;
  /** Dockerfile path relative to the context (posix). */
  dockerfile: string;
  buildArgs: Record<string, string>;
  target?: string;
}

const toPosix = (path: string) => path.split(sep).join('/');

/**
 * The files Docker would send for this context: everything but what .dockerignore excludes
 * (Docker's own matching rules), plus the Dockerfile and .dockerignore themselves, sorted by path.
 */
export function listContext(contextDir: string, dockerfile: string): ContextEntry[] {
  const ignoreFile = join(contextDir, '.dockerignore');
  const patterns = existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8').split(/\r?\n/) : [];
  const matcher = dockerignore.default({ ignorecase: false }).add(patterns);
  // An ignored folder can be skipped whole unless a `!` pattern could bring something back.
  const canPrune = !patterns.some((p) => p.trim().startsWith('!'));
  const alwaysSent = new Set([toPosix(dockerfile), '.dockerignore']);
  const entries: ContextEntry[] = [];

  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const path = toPosix(relative(contextDir, full));
      const stat = lstatSync(full);
      if (stat.isDirectory()) {
        if (!(canPrune && matcher.ignores(`${path}/`))) walk(full);
      } else if (alwaysSent.has(path) || !matcher.ignores(path)) {
        if (stat.isSymbolicLink()) entries.push({ path, type: 'symlink', mode: 0o777, size: 0, linkTarget: readlinkSync(full) });
        else if (stat.isFile()) entries.push({ path, type: 'file', mode: stat.mode & 0o777, size: stat.size });
      }
    }
  };
  walk(contextDir);
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Like Skaffold's inputDigest: a hash of every sent file's path, mode and content, the Dockerfile,
 * the build args and the target. Timestamps are left out, so a fresh checkout hashes the same.
 */
export function inputDigest(inputs: BuildInputs, entries: ContextEntry[]): string {
  const hash = createHash('sha256');
  hash.update(`ops-input-digest/v1\0dockerfile=${inputs.dockerfile}\0target=${inputs.target ?? ''}\0`);
  for (const [key, value] of Object.entries(inputs.buildArgs).sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`arg:${key}=${value}\0`);
  for (const entry of entries) {
    hash.update(`${entry.type}\0${entry.path}\0${entry.mode.toString(8)}\0`);
    if (entry.type === 'symlink') hash.update(`${entry.linkTarget}\0`);
    else hash.update(createHash('sha256').update(readFileSync(join(inputs.contextDir, entry.path))).digest());
  }
  return `sha256:${hash.digest('hex')}`;
}

/** A tar of the entries with fixed owners and times, streamed file by file. */
export function contextTar(contextDir: string, entries: ContextEntry[]): Readable {
  const tar = pack();
  const fixed = { uid: 0, gid: 0, mtime: new Date(0) };
  void (async () => {
    try {
      for (const entry of entries) {
        if (entry.type === 'symlink') {
          tar.entry({ ...fixed, name: entry.path, type: 'symlink', linkname: entry.linkTarget, mode: entry.mode });
          continue;
        }
        const content = readFileSync(join(contextDir, entry.path));
        await new Promise<void>((resolve, reject) =>
          tar.entry({ ...fixed, name: entry.path, type: 'file', mode: entry.mode, size: content.length }, content, (err) => (err ? reject(err) : resolve())),
        );
      }
      tar.finalize();
    } catch (err) {
      tar.destroy(err as Error);
    }
  })();
  return tar as unknown as Readable;
}
