import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { BadDataError, LedgerError, NotFoundError, OpsError, UsageError } from '../../errors.js';
import { redact } from '../../redact.js';
import { displayTarget, fixedChunks, Ledger, SCHEMA_VERSION, type BlobChunk, type BlobRecord } from '../../ledger/index.js';
import { followIdentities, holdsRows, insertRows, ledgerFact, ledgerTables, recordLedgerFact, tableRows, type TableShape } from '../../ledger/copy.js';
import type { Context } from '../context.js';
import { FolderBlobs } from '../models/artifacts.js';

const nodeRequire = createRequire(import.meta.url);
const crypto = () => nodeRequire('node:crypto') as typeof import('node:crypto');
const sha256 = (bytes: Buffer) => `sha256:${crypto().createHash('sha256').update(bytes).digest('hex')}`;

export const EXPORT_FORMAT = 'ops-ledger';

/**
 * A ledger as a stream: its header, every row of every table (tables in reference order, rows in
 * key order), every blob with its chunks, and an end that counts and digests what came before.
 * `ops ledger export` writes it as JSON Lines, `import` reads it back, `migrate` pipes it.
 */
export type LedgerRecord =
  | { type: 'ledger'; format: typeof EXPORT_FORMAT; version: 1; schema: number; project: string | null }
  | { type: 'row'; table: string; row: Record<string, unknown> }
  | ({ type: 'blob' } & BlobRecord)
  | ({ type: 'chunk'; digest: string } & BlobChunk)
  | { type: 'end'; rows: Record<string, number>; digests: Record<string, string>; blobs: number };

/** Row counts and a digest of each table's rows (in order, as JSON arrays of the shape's columns). */
class Tally {
  private readonly hashes = new Map<string, import('node:crypto').Hash>();
  readonly rows: Record<string, number> = {};

  constructor() {
    for (const table of ledgerTables()) {
      this.hashes.set(table.name, crypto().createHash('sha256'));
      this.rows[table.name] = 0;
    }
  }

  add(table: TableShape, row: Record<string, unknown>): void {
    this.hashes.get(table.name)!.update(`${JSON.stringify(table.columns.map((c) => row[c] ?? null))}\n`);
    this.rows[table.name]!++;
  }

  digests(): Record<string, string> {
    return Object.fromEntries([...this.hashes].map(([name, hash]) => [name, `sha256:${hash.copy().digest('hex')}`]));
  }
}

/** The project a ledger holds: the one recorded in it, else the configuration's. */
async function projectOf(ctx: Context, ledger: Ledger): Promise<string | null> {
  return (await ledgerFact(ledger.db, 'project')) ?? ctx.config?.project ?? null;
}

/** Every blob of a ledger, checked: the database's (PostgreSQL) or the folder beside the file (SQLite). */
async function* ledgerBlobs(ledger: Ledger): AsyncGenerator<{ digest: string; bytes: Buffer }> {
  if (ledger.backend === 'postgres') {
    for (const blob of await ledger.blobs.list()) yield { digest: blob.digest, bytes: await ledger.blobs.read(blob.digest) };
    return;
  }
  const folder = FolderBlobs.beside(ledger.path);
  for (const digest of await folder.digests()) yield { digest, bytes: await folder.read(digest) };
}

/** The ledger as records; strings pass the command's redaction once more, so an export holds no secret. */
export async function* readLedger(ctx: Context, ledger: Ledger): AsyncGenerator<LedgerRecord> {
  yield { type: 'ledger', format: EXPORT_FORMAT, version: 1, schema: SCHEMA_VERSION, project: await projectOf(ctx, ledger) };
  const tally = new Tally();
  const scrub = (value: unknown) => (typeof value === 'string' ? redact(value, ctx.secrets) : value);
  for (const table of ledgerTables()) {
    for await (const raw of tableRows(ledger.db, table)) {
      const row = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, scrub(v)]));
      tally.add(table, row);
      yield { type: 'row', table: table.name, row };
    }
  }
  let blobs = 0;
  for await (const { digest, bytes } of ledgerBlobs(ledger)) {
    const chunks: BlobChunk[] = [];
    for await (const piece of fixedChunks([bytes])) chunks.push({ idx: chunks.length, chunkDigest: sha256(piece), bytes: piece });
    yield { type: 'blob', digest, sizeBytes: bytes.length, chunks: chunks.length };
    for (const chunk of chunks) yield { type: 'chunk', digest, ...chunk };
    blobs++;
  }
  yield { type: 'end', rows: tally.rows, digests: tally.digests(), blobs };
}

export interface TableCheck {
  table: string;
  source: number;
  target: number;
  copied: number;
  /** The target's rows digest to the source's. */
  same: boolean;
}

export interface CopySummary {
  source: string;
  target: string;
  project: string | null;
  tables: TableCheck[];
  blobs: { source: number; copied: number; verified: number };
  /** Every table and blob of the target matches the source. */
  verified: boolean;
}

/**
 * Write a ledger's records into `target` in one transaction (a record stream cut short or
 * inconsistent writes nothing), keeping ids; rows and blobs the target already has are left, so a
 * second copy copies nothing. Refused before any write when the target holds another project's
 * data, unless `allowOtherProject`. Then every table and blob of the target is read back and
 * checked against the source's counts and digests.
 */
export async function writeLedger(
  ctx: Context,
  target: Ledger,
  source: string,
  records: AsyncIterable<LedgerRecord>,
  options: { allowOtherProject?: boolean } = {},
): Promise<CopySummary> {
  const iterator = records[Symbol.asyncIterator]();
  const first = await iterator.next();
  const header = first.done ? undefined : first.value;
  if (header?.type !== 'ledger' || header.format !== EXPORT_FORMAT || header.version !== 1) {
    throw new BadDataError(`${source} is not an ops ledger export (its first line is not {"type":"ledger","format":"${EXPORT_FORMAT}","version":1,...})`, 'make one with `ops ledger export --out <file>`');
  }
  if (header.schema > SCHEMA_VERSION) {
    throw new LedgerError(`${source} has schema version ${header.schema}, newer than this ops understands (${SCHEMA_VERSION})`, 'upgrade ops on this machine, then import it');
  }
  const where = displayTarget(target.path);
  const theirs = await ledgerFact(target.db, 'project');
  if (!options.allowOtherProject && theirs !== header.project && (await holdsRows(target.db))) {
    const held = theirs ? `project ${JSON.stringify(theirs)}'s data` : 'data of a project it does not name';
    throw new LedgerError(
      `ledger ${where} already holds ${held}, and ${source} is ${header.project ? `project ${JSON.stringify(header.project)}` : 'of no named project'}`,
      'copy into an empty database, or pass --allow-other-project to add to it (rows whose keys it already has are left as they are, and the check at the end names the tables that differ)',
    );
  }
  const shapes = new Map(ledgerTables().map((t) => [t.name, t]));
  const tally = new Tally();
  const copied: Record<string, number> = Object.fromEntries([...shapes.keys()].map((name) => [name, 0]));
  const blobDigests: string[] = [];
  let copiedBlobs = 0;
  const now = ctx.clock.now();
  const folder = target.backend === 'sqlite' ? FolderBlobs.beside(target.path) : undefined;

  await target.transaction(async () => {
    let pending: { table: TableShape; rows: Array<Record<string, unknown>> } | undefined;
    let blob: { record: BlobRecord; chunks: BlobChunk[] } | undefined;
    let end: Extract<LedgerRecord, { type: 'end' }> | undefined;
    const flush = async () => {
      if (pending && pending.rows.length > 0) copied[pending.table.name]! += await insertRows(target.db, pending.table, pending.rows);
      pending = undefined;
    };
    const settleBlob = async () => {
      if (!blob) return;
      const { record, chunks } = blob;
      blob = undefined;
      for (const chunk of chunks) {
        if (sha256(chunk.bytes) !== chunk.chunkDigest) throw new BadDataError(`${source}: chunk ${chunk.idx + 1} of blob ${record.digest} does not hash to its digest`, 'export the ledger again; nothing was imported');
      }
      const bytes = Buffer.concat(chunks.map((c) => c.bytes));
      if (chunks.length !== record.chunks || bytes.length !== record.sizeBytes || sha256(bytes) !== record.digest) {
        throw new BadDataError(`${source}: blob ${record.digest} does not hash to its digest (or lacks chunks)`, 'export the ledger again; nothing was imported');
      }
      blobDigests.push(record.digest);
      if (folder) {
        const fresh = !existsSync(folder.pathOf(record.digest));
        await folder.putBytes(bytes);
        if (fresh) copiedBlobs++;
      } else if (await target.blobs.putChunks(record, chunks, now)) copiedBlobs++;
    };
    let line = 1;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const record = next.value;
      line++;
      if (end) throw new BadDataError(`${source}: line ${line} comes after the end line`, 'export the ledger again; nothing was imported');
      if (record.type === 'row') {
        const table = shapes.get(record.table);
        if (!table) throw new BadDataError(`${source}: line ${line} is a row of an unknown table ${JSON.stringify(record.table)}`, 'import it with the ops version that exported it');
        if (pending?.table !== table) {
          await flush();
          pending = { table, rows: [] };
        }
        tally.add(table, record.row);
        pending.rows.push(record.row);
        if (pending.rows.length >= 500) {
          const table = pending.table;
          await flush();
          pending = { table, rows: [] };
        }
      } else if (record.type === 'blob') {
        await flush();
        await settleBlob();
        blob = { record: { digest: record.digest, sizeBytes: record.sizeBytes, chunks: record.chunks }, chunks: [] };
      } else if (record.type === 'chunk') {
        if (blob?.record.digest !== record.digest) throw new BadDataError(`${source}: line ${line} is a chunk of ${record.digest} outside its blob`, 'export the ledger again; nothing was imported');
        blob.chunks.push({ idx: record.idx, chunkDigest: record.chunkDigest, bytes: record.bytes });
      } else if (record.type === 'end') {
        await flush();
        await settleBlob();
        end = record;
      } else {
        throw new BadDataError(`${source}: line ${line} is not a row, blob, chunk or end`, 'export the ledger again; nothing was imported');
      }
    }
    if (!end) throw new BadDataError(`${source} stops before its end line: it was cut short`, 'export the ledger again; nothing was imported');
    const digests = tally.digests();
    const off = [...shapes.keys()].filter((name) => (end!.rows[name] ?? 0) !== tally.rows[name] || (end!.digests[name] !== undefined && end!.digests[name] !== digests[name]));
    if (off.length > 0 || end.blobs !== blobDigests.length) {
      throw new BadDataError(`${source}: its end line does not match what came before it (${off.length > 0 ? `tables ${off.join(', ')}` : 'blobs'})`, 'export the ledger again; nothing was imported');
    }
    await followIdentities(target.db);
    if (!theirs && header.project) await recordLedgerFact(target.db, 'project', header.project);
  });

  // Read the target back: every table's count and digest, every blob re-hashed.
  const check = new Tally();
  for (const table of ledgerTables()) for await (const row of tableRows(target.db, table)) check.add(table, row);
  const sourceDigests = tally.digests();
  const targetDigests = check.digests();
  const tables = ledgerTables().map((t) => ({ table: t.name, source: tally.rows[t.name]!, target: check.rows[t.name]!, copied: copied[t.name]!, same: sourceDigests[t.name] === targetDigests[t.name] }));
  let verified = 0;
  for (const digest of blobDigests) {
    await (folder ? folder.read(digest) : target.blobs.read(digest));
    verified++;
  }
  const summary: CopySummary = {
    source,
    target: where,
    project: header.project,
    tables,
    blobs: { source: blobDigests.length, copied: copiedBlobs, verified },
    verified: tables.every((t) => t.same),
  };
  if (!summary.verified) {
    const differ = tables.filter((t) => !t.same).map((t) => `${t.table} (${t.source} rows in the source, ${t.target} in the target)`);
    throw new OpsError(`ledger ${where} differs from ${source} after the copy: ${differ.join(', ')}`, 'it held other rows already: copy into an empty database to have an exact copy').withResult(summary);
  }
  return summary;
}

/** Open another ledger the way the command's own is opened: its password learned, redacted everywhere. */
function openOther(ctx: Context, target: string): Ledger {
  return Ledger.open(target, {
    redact: (text) => redact(text, ctx.secrets),
    warn: (line) => ctx.output.warn(line),
    secret: (value) => {
      if (!ctx.secrets.includes(value)) ctx.secrets.push(value);
    },
  });
}

/** `ops ledger migrate --to`: the command's ledger copied into another (a PostgreSQL URL), then checked. */
export async function migrateLedger(ctx: Context, to: string, options: { allowOtherProject?: boolean }): Promise<CopySummary> {
  if (to === ctx.ledgerPath) throw new UsageError(`--to names the ledger being copied (${displayTarget(to)})`, 'pass the URL of the other ledger, e.g. --to postgres://ops@db.internal/ops');
  const source = ctx.ledger();
  if (source.absent) throw new NotFoundError(`no ledger at ${displayTarget(ctx.ledgerPath)}: nothing to migrate`, 'run ops where its ledger is, or name it with --ledger <file>');
  const target = openOther(ctx, to);
  try {
    return await writeLedger(ctx, target, `ledger ${displayTarget(ctx.ledgerPath)}`, readLedger(ctx, source), options);
  } finally {
    await target.close();
  }
}

/** A record as one JSON line (chunk bytes in base64). */
export function recordLine(record: LedgerRecord): string {
  return `${JSON.stringify(record.type === 'chunk' ? { ...record, bytes: record.bytes.toString('base64') } : record)}\n`;
}

/** Records from JSON Lines, each line parsed as it comes; a line that is not JSON is named. */
export async function* parseRecords(lines: AsyncIterable<string>, source: string): AsyncGenerator<LedgerRecord> {
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new BadDataError(`${source}: line ${n} is not JSON (${(err as Error).message})`, 'export the ledger again; nothing was imported');
    }
    if (value.type === 'chunk') value.bytes = Buffer.from(String(value.bytes), 'base64');
    yield value as LedgerRecord;
  }
}
