import { chmodSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { OpsError, CorruptArtifactError, quote, UsageError } from '../../errors.js';
import { CHUNK_BYTES, type BlobStore } from '../../ledger/index.js';
import type { Context } from '../context.js';

// node:crypto and node:stream load on first use: `ops model history` and `lineage` never hash.
const nodeRequire = createRequire(import.meta.url);
const crypto = () => nodeRequire('node:crypto') as typeof import('node:crypto');

export interface StoredBlob {
  digest: string;
  sizeBytes: number;
}

export interface TreeEntry extends StoredBlob {
  path: string;
  /** A symbolic link inside the folder: its target, relative to the link; digest and size are the target's. */
  link?: string;
}

/** A folder of files stored as one artifact: its sorted list of (path, size, digest). */
export interface TreeManifest {
  mediaType: typeof TREE_MEDIA_TYPE;
  files: TreeEntry[];
}

export const TREE_MEDIA_TYPE = 'application/vnd.ops.tree.v1+json';

/** The ledger's privacy: folders 0700, files 0600 (a model or its training data may be confidential). */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Where an artifact store keeps its bytes, each blob by its sha256 digest and checked whenever read. */
export interface BlobPlace {
  putFile(source: string): Promise<StoredBlob>;
  putBytes(bytes: Buffer): Promise<StoredBlob>;
  read(digest: string): Promise<Buffer>;
}

/**
 * A SQLite ledger's blobs: files under the ledger's folder (artifacts/sha256/ab/cdef...), written
 * once (temporary file, then rename). Folders are 0700 and files 0600, as the ledger is.
 */
export class FolderBlobs implements BlobPlace {
  private madePrivate = false;

  constructor(readonly root: string) {}

  static beside(ledgerPath: string): FolderBlobs {
    return new FolderBlobs(join(dirname(ledgerPath), 'artifacts'));
  }

  /** Create a folder of the store 0700; the store's root made private too if an older ops left it open. */
  private folder(dir: string): void {
    if (!this.madePrivate) {
      mkdirSync(this.root, { recursive: true, mode: DIR_MODE });
      if ((statSync(this.root).mode & 0o077) !== 0) chmodSync(this.root, DIR_MODE);
      this.madePrivate = true;
    }
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  }

  pathOf(digest: string): string {
    const hex = digest.replace(/^sha256:/, '');
    return join(this.root, 'sha256', hex.slice(0, 2), hex.slice(2));
  }

  private temporary(): string {
    const dir = join(this.root, 'tmp');
    this.folder(dir);
    return join(dir, `${process.pid}-${crypto().randomBytes(6).toString('hex')}`);
  }

  private settle(temporary: string, digest: string): void {
    const target = this.pathOf(digest);
    if (existsSync(target)) {
      rmSync(temporary, { force: true });
      return;
    }
    this.folder(dirname(target));
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
      await pipeline(createReadStream(source), tap, createWriteStream(temporary, { mode: FILE_MODE }));
    } catch (err) {
      rmSync(temporary, { force: true });
      throw err;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    this.settle(temporary, digest);
    return { digest, sizeBytes };
  }

  async putBytes(buffer: Buffer): Promise<StoredBlob> {
    const digest = digestOf(buffer);
    if (!existsSync(this.pathOf(digest))) {
      const temporary = this.temporary();
      writeFileSync(temporary, buffer, { mode: FILE_MODE });
      this.settle(temporary, digest);
    }
    return { digest, sizeBytes: buffer.length };
  }

  /** Every blob in the folder, by digest (none when the folder does not exist). */
  async digests(): Promise<string[]> {
    const top = join(this.root, 'sha256');
    if (!existsSync(top)) return [];
    const found: string[] = [];
    for (const prefix of await readdir(top)) for (const rest of await readdir(join(top, prefix))) found.push(`sha256:${prefix}${rest}`);
    return found.sort();
  }

  async read(digest: string): Promise<Buffer> {
    const file = this.pathOf(digest);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      throw new OpsError(`artifact ${file} (${digest}) is missing`, 'restore the ledger folder from a backup, or register the model again');
    }
    const found = digestOf(bytes);
    if (found !== digest) throw new CorruptArtifactError(file, digest, found);
    return bytes;
  }
}

/**
 * A PostgreSQL ledger's blobs: in the database itself (chunked, see BlobStore), so that every
 * machine using the ledger reads what any of them stored, with nothing else to run or grant.
 */
export class LedgerBlobs implements BlobPlace {
  constructor(
    private readonly blobs: BlobStore,
    private readonly now: () => number,
  ) {}

  /** Hash the file first: a blob the ledger has is not sent again. */
  async putFile(source: string): Promise<StoredBlob> {
    const hash = crypto().createHash('sha256');
    let sizeBytes = 0;
    for await (const piece of createReadStream(source) as AsyncIterable<Buffer>) {
      hash.update(piece);
      sizeBytes += piece.length;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (!(await this.blobs.has(digest))) await this.blobs.put(digest, sizeBytes, createReadStream(source, { highWaterMark: CHUNK_BYTES }), this.now());
    return { digest, sizeBytes };
  }

  async putBytes(buffer: Buffer): Promise<StoredBlob> {
    const digest = digestOf(buffer);
    if (!(await this.blobs.has(digest))) await this.blobs.put(digest, buffer.length, [buffer], this.now());
    return { digest, sizeBytes: buffer.length };
  }

  read(digest: string): Promise<Buffer> {
    return this.blobs.read(digest);
  }
}

const digestOf = (bytes: Buffer) => `sha256:${crypto().createHash('sha256').update(bytes).digest('hex')}`;

/**
 * Content-addressed artifacts: files and the trees (sorted file lists) that make a model folder,
 * over the ledger's blob place: a private folder beside a SQLite ledger, the database for PostgreSQL.
 */
export class ArtifactStore {
  constructor(readonly blobs: BlobPlace) {}

  /** The artifact store of the command's ledger. */
  static of(ctx: Pick<Context, 'ledger' | 'ledgerPath' | 'clock'>): ArtifactStore {
    const ledger = ctx.ledger();
    return new ArtifactStore(ledger.backend === 'postgres' ? new LedgerBlobs(ledger.blobs, () => ctx.clock.now()) : FolderBlobs.beside(ctx.ledgerPath));
  }

  putFile(source: string): Promise<StoredBlob> {
    return this.blobs.putFile(source);
  }

  /** The artifact's bytes, after checking they still hash to its digest. */
  read(digest: string): Promise<Buffer> {
    return this.blobs.read(digest);
  }

  async readTree(digest: string): Promise<TreeManifest> {
    const manifest = JSON.parse((await this.read(digest)).toString('utf8')) as TreeManifest;
    if (manifest.mediaType !== TREE_MEDIA_TYPE) throw new OpsError(`artifact ${digest} is not a file tree`);
    return manifest;
  }

  /** Store a file list as a tree; entries are sorted so equal trees get equal digests. */
  putTree(files: TreeEntry[]): Promise<StoredBlob> {
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest: TreeManifest = { mediaType: TREE_MEDIA_TYPE, files: sorted };
    return this.blobs.putBytes(Buffer.from(JSON.stringify(manifest, null, 1)));
  }

  /**
   * Store every file under `dir` and then the tree naming them. A symbolic link to a file inside
   * the folder is stored as a link (its entry names the target and carries the target's digest);
   * one that leads outside the folder, to a folder, or nowhere is refused before anything is
   * stored: ops never copies what a link points at outside the tree.
   */
  async putFolder(dir: string): Promise<{ tree: StoredBlob; files: TreeEntry[] }> {
    const { files, links } = await walkTree(dir);
    const entries: TreeEntry[] = [];
    const byPath = new Map<string, TreeEntry>();
    for (const file of files) {
      const entry = { path: treePath(dir, file), ...(await this.putFile(file)) };
      entries.push(entry);
      byPath.set(entry.path, entry);
    }
    for (const link of links) {
      const target = byPath.get(link.targetPath)!;
      entries.push({ path: link.path, link: link.link, digest: target.digest, sizeBytes: target.sizeBytes });
    }
    return { tree: await this.putTree(entries), files: entries };
  }

  /** Check a tree and every file in it; returns the files checked. */
  async verifyTree(digest: string): Promise<TreeEntry[]> {
    const manifest = await this.readTree(digest);
    for (const entry of manifest.files) await this.read(entry.digest);
    return manifest.files;
  }
}

const treePath = (dir: string, file: string) => relative(dir, file).split(sep).join('/');

/** The regular files of an artifact folder, and its links to files inside it; any other link is refused. */
async function walkTree(dir: string): Promise<{ files: string[]; links: Array<{ path: string; link: string; targetPath: string }> }> {
  const root = await realpath(dir);
  const files: string[] = [];
  const links: Array<{ path: string; link: string; targetPath: string }> = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    if (entry.isFile()) files.push(full);
    if (!entry.isSymbolicLink()) continue;
    const link = await readlink(full);
    const refuse = (why: string) =>
      new UsageError(
        `artifact folder ${dir}: the symbolic link ${quote(treePath(dir, full))} -> ${quote(link)} ${why}`,
        'copy the file into the folder, or remove the link: ops stores links only to files inside the artifact folder, never what they point at outside it',
      );
    const resolved = await realpath(full).catch(() => null);
    if (resolved === null) throw refuse('leads nowhere');
    if (resolved !== root && !resolved.startsWith(`${root}${sep}`)) throw refuse('leads outside the folder');
    if (!(await stat(resolved)).isFile()) throw refuse('leads to a folder');
    links.push({ path: treePath(dir, full), link, targetPath: treePath(root, resolved) });
  }
  return { files: files.sort(), links };
}
