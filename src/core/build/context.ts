import dockerignore from '@balena/dockerignore';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { join, sep } from 'node:path';
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
 * The files Docker would send for this context (everything but what .dockerignore excludes, by
 * Docker's own matching rules, plus the Dockerfile and .dockerignore themselves), sorted by path,
 * and their input digest, like Skaffold's inputDigest: every sent file's path, mode and content,
 * the Dockerfile, the build args and the target. Timestamps are left out, so a fresh checkout
 * hashes the same. One pass: each file is opened once and streamed through one hash.
 */
export function scanContext(inputs: BuildInputs): { entries: ContextEntry[]; digest: string } {
  const { contextDir, dockerfile } = inputs;
  const ignoreFile = join(contextDir, '.dockerignore');
  const patterns = existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8').split(/\r?\n/) : [];
  const matcher = dockerignore.default({ ignorecase: false }).add(patterns);
  // An ignored folder can be skipped whole unless a `!` pattern could bring something back.
  const canPrune = !patterns.some((p) => p.trim().startsWith('!'));
  const alwaysSent = new Set([toPosix(dockerfile), '.dockerignore']);
  const found: Array<{ path: string; symlink: boolean }> = [];

  // Paths are built by concatenation: path.join and path.relative on every entry cost ~30 ms per 10,000 files.
  const root = contextDir.endsWith(sep) ? contextDir : contextDir + sep;
  const walk = (prefix: string) => {
    for (const dirent of readdirSync(root + prefix, { withFileTypes: true })) {
      const path = prefix + dirent.name;
      if (dirent.isDirectory()) {
        if (!(canPrune && matcher.ignores(`${path}/`))) walk(`${path}/`);
      } else if ((dirent.isFile() || dirent.isSymbolicLink()) && (alwaysSent.has(path) || !matcher.ignores(path))) {
        found.push({ path, symlink: dirent.isSymbolicLink() });
      }
    }
  };
  walk('');
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const hash = createHash('sha256');
  hash.update(`ops-input-digest/v2\0dockerfile=${dockerfile}\0target=${inputs.target ?? ''}\0`);
  for (const [key, value] of Object.entries(inputs.buildArgs).sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`arg:${key}=${value}\0`);
  const buffer = Buffer.allocUnsafe(1 << 20);
  const entries = found.map(({ path, symlink }): ContextEntry => {
    const full = root + path;
    if (symlink) {
      const linkTarget = readlinkSync(full);
      hash.update(`symlink\0${path}\0${linkTarget}\0`);
      return { path, type: 'symlink', mode: 0o777, size: 0, linkTarget };
    }
    const fd = openSync(full, 'r');
    try {
      const stat = fstatSync(fd);
      const mode = stat.mode & 0o777;
      hash.update(`file\0${path}\0${mode.toString(8)}\0${stat.size}\0`);
      let read: number;
      while ((read = readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, read));
      return { path, type: 'file', mode, size: stat.size };
    } finally {
      closeSync(fd);
    }
  });
  return { entries, digest: `sha256:${hash.digest('hex')}` };
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
