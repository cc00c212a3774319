import { createReadStream, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../../errors.js';

/** Every regular file under `dir`, sorted by path. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    if (entry.isFile()) files.push(full);
    else if (entry.isSymbolicLink() && (await stat(full)).isFile()) files.push(full);
  }
  return files.sort();
}

export interface DatasetDigest {
  digest: string;
  path: string;
  kind: 'file' | 'dir';
  sizeBytes: number;
}

// node:crypto loads on first use: `ops model history` reaches this module and never hashes.
async function sha256() {
  const { createHash } = await import('node:crypto');
  return createHash('sha256');
}

async function hashFile(file: string): Promise<string> {
  const hash = await sha256();
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A file's digest is its sha256; a folder's is the sha256 of its sorted manifest of
 * "relative path, size, sha256" lines (DVC-like), so renaming or editing any file changes it.
 */
export async function digestDataset(path: string, cwd: string): Promise<DatasetDigest> {
  const absolute = resolve(cwd, path);
  let info;
  try {
    info = statSync(absolute);
  } catch {
    throw new UsageError(`dataset ${path} does not exist`, 'check the path given to --data');
  }
  if (info.isFile()) return { digest: `sha256:${await hashFile(absolute)}`, path: absolute, kind: 'file', sizeBytes: info.size };
  if (!info.isDirectory()) throw new UsageError(`dataset ${path} is neither a file nor a folder`, 'pass a file or a folder to --data');
  let manifest = '';
  let sizeBytes = 0;
  for (const file of await listFiles(absolute)) {
    const size = statSync(file).size;
    sizeBytes += size;
    manifest += `${relative(absolute, file).split(sep).join('/')}\t${size}\t${await hashFile(file)}\n`;
  }
  return { digest: `sha256:${(await sha256()).update(manifest).digest('hex')}`, path: absolute, kind: 'dir', sizeBytes };
}
