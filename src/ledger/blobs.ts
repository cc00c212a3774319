import { createRequire } from 'node:module';
import { CorruptArtifactError, OpsError } from '../errors.js';
import type { Db } from './db.js';

// node:crypto loads on first use: most commands never store or read a blob.
const nodeRequire = createRequire(import.meta.url);
const sha256 = (bytes: Buffer) => `sha256:${(nodeRequire('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`;

/** Blobs are cut into chunks of this size (the last one shorter), one row each. */
export const CHUNK_BYTES = 1024 * 1024;

export interface BlobRecord {
  digest: string;
  sizeBytes: number;
  chunks: number;
}

export interface BlobChunk {
  idx: number;
  chunkDigest: string;
  bytes: Buffer;
}

/** Cut a stream of pieces of any size into chunks of exactly CHUNK_BYTES (the last one shorter). */
export async function* fixedChunks(source: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let filled = 0;
  for await (const piece of source) {
    let rest = piece;
    while (filled + rest.length >= CHUNK_BYTES) {
      const take = CHUNK_BYTES - filled;
      pending.push(rest.subarray(0, take));
      yield Buffer.concat(pending);
      pending = [];
      filled = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      pending.push(rest);
      filled += rest.length;
    }
  }
  if (filled > 0) yield Buffer.concat(pending);
}

/**
 * The content-addressed blobs of a ledger that keeps its artifacts in the database (PostgreSQL):
 * each blob once by its sha256 digest, in chunks, written in one transaction with its row (so a
 * blob is whole or absent) and checked chunk by chunk and whole when read.
 */
export class BlobStore {
  constructor(
    private readonly db: Db,
    /** The ledger as it may be shown, for messages. */
    private readonly where: string,
  ) {}

  async has(digest: string): Promise<boolean> {
    return (await this.db.get(`SELECT 1 AS one FROM blobs WHERE digest = ?`, digest)) !== undefined;
  }

  /**
   * Store the chunks of a blob whose digest and size the caller computed; nothing when the ledger
   * already has it (false). Content that no longer hashes to `digest` (a file changed between
   * hashing and storing) is refused and nothing is written.
   */
  put(digest: string, sizeBytes: number, chunks: AsyncIterable<Buffer> | Iterable<Buffer>, nowMs: number): Promise<boolean> {
    return this.db.transaction(
      async () => {
        if (await this.has(digest)) return false;
        await this.db.run(`INSERT INTO blobs (digest, size_bytes, chunks, created_at) VALUES (?, ?, 0, ?)`, digest, sizeBytes, nowMs);
        const whole = (nodeRequire('node:crypto') as typeof import('node:crypto')).createHash('sha256');
        let idx = 0;
        let size = 0;
        for await (const chunk of fixedChunks(chunks)) {
          whole.update(chunk);
          size += chunk.length;
          await this.db.run(`INSERT INTO blob_chunks (digest, idx, chunk_digest, bytes) VALUES (?, ?, ?, ?)`, digest, idx++, sha256(chunk), chunk);
        }
        const found = `sha256:${whole.digest('hex')}`;
        if (found !== digest || size !== sizeBytes) {
          throw new OpsError(`artifact ${digest} changed while it was being stored (it now hashes to ${found})`, 'leave the files alone until ops has stored them, then run the command again');
        }
        await this.db.run(`UPDATE blobs SET chunks = ? WHERE digest = ?`, idx, digest);
        return true;
      },
      { lock: `blob:${digest}` },
    );
  }

  /** A blob copied from another ledger, chunk by chunk as it was cut there, in one transaction; false when the ledger has it. */
  putChunks(record: BlobRecord, chunks: BlobChunk[], nowMs: number): Promise<boolean> {
    return this.db.transaction(
      async () => {
        if (await this.has(record.digest)) return false;
        await this.db.run(`INSERT INTO blobs (digest, size_bytes, chunks, created_at) VALUES (?, ?, ?, ?)`, record.digest, record.sizeBytes, record.chunks, nowMs);
        for (const chunk of chunks) {
          await this.db.run(`INSERT INTO blob_chunks (digest, idx, chunk_digest, bytes) VALUES (?, ?, ?, ?)`, record.digest, chunk.idx, chunk.chunkDigest, chunk.bytes);
        }
        return true;
      },
      { lock: `blob:${record.digest}` },
    );
  }

  /** The blob's bytes, every chunk and then the whole checked against the digests recorded. */
  async read(digest: string): Promise<Buffer> {
    const record = await this.db.get<{ chunks: number; sizeBytes: number }>(`SELECT chunks, size_bytes AS "sizeBytes" FROM blobs WHERE digest = ?`, digest);
    if (!record) {
      throw new OpsError(
        `artifact ${digest} is not in the ledger ${this.where}`,
        'register the model again from a machine that has its files, or copy a local ledger in with `ops ledger migrate --to <url>`',
      );
    }
    const chunks = await this.chunks(digest);
    const at = (what: string) => `${digest} (${what} in the ledger ${this.where})`;
    const hint = 'register the model again from its files, or restore the ledger database from a backup';
    if (chunks.length !== record.chunks) throw new OpsError(`artifact ${digest} in the ledger ${this.where} is corrupt: ${chunks.length} of its ${record.chunks} chunks are there`, hint);
    for (const chunk of chunks) {
      const found = sha256(chunk.bytes);
      if (found !== chunk.chunkDigest) throw new CorruptArtifactError(at(`chunk ${chunk.idx + 1} of ${record.chunks}`), chunk.chunkDigest, found, hint);
    }
    const bytes = Buffer.concat(chunks.map((c) => c.bytes));
    const found = sha256(bytes);
    if (found !== digest) throw new CorruptArtifactError(at('its chunks together'), digest, found, hint);
    return bytes;
  }

  /** The blob's chunks in order, as stored (unchecked: `read` checks). */
  async chunks(digest: string): Promise<BlobChunk[]> {
    const rows = await this.db.all<{ idx: number; chunkDigest: string; bytes: Buffer | Uint8Array }>(
      `SELECT idx, chunk_digest AS "chunkDigest", bytes FROM blob_chunks WHERE digest = ? ORDER BY idx`,
      digest,
    );
    return rows.map((r) => ({ idx: r.idx, chunkDigest: r.chunkDigest, bytes: Buffer.isBuffer(r.bytes) ? r.bytes : Buffer.from(r.bytes) }));
  }

  /** Every blob the ledger holds, by digest. */
  list(): Promise<BlobRecord[]> {
    return this.db.all<BlobRecord>(`SELECT digest, size_bytes AS "sizeBytes", chunks FROM blobs ORDER BY digest`);
  }
}
