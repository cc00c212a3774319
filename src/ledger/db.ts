import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { LedgerError } from '../errors.js';
import { SCHEMA_VERSION, migrations } from './migrations.js';

const require = createRequire(import.meta.url);
/** The addon's path, so that opening skips the `bindings` package's search of a dozen folders. */
let nativeBinding: string | undefined;
function addonPath(): string | undefined {
  try {
    nativeBinding ??= require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    // A non-standard install: let better-sqlite3 search.
  }
  return nativeBinding;
}

export type Db = Database.Database;

export const BUSY_TIMEOUT_MS = 30_000;

function describeOpenFailure(path: string, err: unknown): LedgerError {
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message ?? String(err);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || /not a database|malformed/i.test(message)) {
    return new LedgerError(
      `ledger ${path} is not a valid SQLite database (corrupt or not a ledger)`,
      'move it aside and rerun to start a new ledger, or restore it from a backup',
    );
  }
  if (code === 'SQLITE_READONLY' || /readonly|read-only/i.test(message)) {
    return new LedgerError(`ledger ${path} is read-only`, 'make the file and its folder writable, or pass --ledger <file>');
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'SQLITE_PERM') {
    return new LedgerError(`cannot open ledger ${path}: ${message}`, 'check the path and its permissions, or pass --ledger <file>');
  }
  return new LedgerError(`cannot use ledger ${path}: ${message}`, 'run `ops doctor` for details');
}

/** Create the file with mode 0600 (and its folder) before SQLite does, so it never exists world-readable. */
function ensureFile(path: string): void {
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Open the ledger: refuse a newer schema (before touching anything), switch to WAL,
 * then apply pending migrations in one immediate transaction.
 */
export function openDatabase(path: string, scrub: (text: string) => string): Db {
  let db: Db | undefined;
  try {
    if (path !== ':memory:') ensureFile(path);
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS, nativeBinding: addonPath() });
    scrubBoundValues(db, scrub);
    const found = schemaVersion(db);
    if (found > SCHEMA_VERSION) {
      db.close();
      throw new LedgerError(
        `ledger ${path} has schema version ${found}, newer than this ops understands (${SCHEMA_VERSION})`,
        'upgrade ops, or pass --ledger <file> to use another ledger',
      );
    }
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    if (found < SCHEMA_VERSION) migrate(db);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof LedgerError) throw err;
    throw describeOpenFailure(path, err);
  }
}

/**
 * Every string bound to a statement passes through `scrub` first, so that no store, present or
 * future, can put a secret in the file. Reads are scrubbed alike: a lookup by a value finds what
 * was stored for it.
 */
function scrubBoundValues(db: Db, scrub: (text: string) => string): void {
  const clean = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (Array.isArray(value)) return value.map(clean);
    if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clean(v)]));
    }
    return value;
  };
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const statement = prepare(sql);
    for (const method of ['run', 'get', 'all', 'iterate', 'bind'] as const) {
      const original = statement[method] as (...args: unknown[]) => unknown;
      Object.defineProperty(statement, method, { value: (...args: unknown[]) => original.apply(statement, args.map(clean)) });
    }
    return statement;
  }) as Db['prepare'];
}

function migrate(db: Db): void {
  db.transaction(() => {
    // Another process may have migrated while we waited for the write lock.
    const current = schemaVersion(db);
    for (let version = current; version < SCHEMA_VERSION; version++) db.exec(migrations[version]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
