import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { listFiles } from '../data/files.js';
import { OpsError, CorruptArtifactError } from '../../errors.js';

// node:crypto and node:stream load on first use: `ops model history` and `lineage` never hash.
const nodeRequire = createRequire(import.meta.url);
const crypto = () => nodeRequire('node:crypto') as typeof import('node:crypto');

export interface StoredBlob {
  digest: string;
  sizeBytes: number;
}

export interface TreeEntry extends StoredBlob {
  path: string;
}

/** A folder of files stored as one artifact: its sorted list of (path, size, digest). */
export interface TreeManifest {
  mediaType: typeof TREE_MEDIA_TYPE;
  files: TreeEntry[];
}

export const TREE_MEDIA_TYPE = 'application/vnd.ops.tree.v1+json';

/**
 * Content-addressed files under the ledger's folder (artifacts/sha256/ab/cdef...), written once
 * (temporary file, then rename) and checked against their digest whenever read.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  static beside(ledgerPath: string): ArtifactStore {
    return new ArtifactStore(join(dirname(ledgerPath), 'artifacts'));
  }

  pathOf(digest: string): string {
    const hex = digest.replace(/^sha256:/, '');
    return join(this.root, 'sha256', hex.slice(0, 2), hex.slice(2));
  }

  private temporary(): string {
    const dir = join(this.root, 'tmp');
    mkdirSync(dir, { recursive: true });
    return join(dir, `${process.pid}-${crypto().randomBytes(6).toString('hex')}`);
  }

  private settle(temporary: string, digest: string): void {
    const target = this.pathOf(digest);
    if (existsSync(target)) {
      rmSync(temporary, { force: true });
      return;
    }
    mkdirSync(dirname(target), { recursive: true });
    renameSync(temporary, target);
  }

  /** Copy a file in, hashing as it streams. */
  async putFile(source: string): Promise<StoredBlob> {
    const { pipeline } = await import('node:stream/promises');
    const { Transform } = await import('node:stream');
    const temporary = this.temporary();
    const hash = crypto().createHash('sha256');
    let sizeBytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(createReadStream(source), tap, createWriteStream(temporary, { mode: 0o644 }));
    } catch (err) {
      rmSync(temporary, { force: true });
      throw err;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    this.settle(temporary, digest);
    return { digest, sizeBytes };
  }

  putBytes(bytes: Buffer | string): StoredBlob {
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
    const digest = `sha256:${crypto().createHash('sha256').update(buffer).digest('hex')}`;
    if (!existsSync(this.pathOf(digest))) {
      const temporary = this.temporary();
      writeFileSync(temporary, buffer, { mode: 0o644 });
      this.settle(temporary, digest);
    }
    return { digest, sizeBytes: buffer.length };
  }

  /** The artifact's bytes, after checking they still hash to its digest. */
  read(digest: string): Buffer {
    const file = this.pathOf(digest);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      throw new OpsError(`artifact ${file} (${digest}) is missing`, 'restore the ledger folder from a backup, or register the model again');
    }
    const found = `sha256:${crypto().createHash('sha256').update(bytes).digest('hex')}`;
    if (found !== digest) throw new CorruptArtifactError(file, digest, found);
    return bytes;
  }

  readTree(digest: string): TreeManifest {
    const manifest = JSON.parse(this.read(digest).toString('utf8')) as TreeManifest;
    if (manifest.mediaType !== TREE_MEDIA_TYPE) throw new OpsError(`artifact ${digest} is not a file tree`);
    return manifest;
  }

  /** Store a file list as a tree; entries are sorted so equal trees get equal digests. */
  putTree(files: TreeEntry[]): StoredBlob {
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest: TreeManifest = { mediaType: TREE_MEDIA_TYPE, files: sorted };
    return this.putBytes(JSON.stringify(manifest, null, 1));
  }

  /** Store every file under `dir` and then the tree naming them. */
  async putFolder(dir: string): Promise<{ tree: StoredBlob; files: TreeEntry[] }> {
    const files: TreeEntry[] = [];
    for (const file of await listFiles(dir)) {
      const blob = await this.putFile(file);
      files.push({ path: relative(dir, file).split(sep).join('/'), ...blob });
    }
    return { tree: this.putTree(files), files };
  }

  /** Check a tree and every file in it; returns the files checked. */
  verifyTree(digest: string): TreeEntry[] {
    const manifest = this.readTree(digest);
    for (const entry of manifest.files) this.read(entry.digest);
    return manifest.files;
  }
}
