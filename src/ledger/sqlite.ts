import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { LedgerError } from '../errors.js';
import {
  BUSY_TIMEOUT_MS,
  currentTransaction,
  ledgerBusyError,
  transactions,
  type ActiveTransaction,
  type Db,
  type Dialect,
  type Scrub,
  type TransactionOptions,
  scrubbed,
} from './db.js';
import { SCHEMA_VERSION, migrations } from './migrations.js';

const require = createRequire(import.meta.url);
/** The addon's path, so that opening skips the `bindings` package's search of a dozen folders. */
let nativeBinding: string | undefined;
export function addonPath(): string | undefined {
  try {
    nativeBinding ??= require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    // A non-standard install: let better-sqlite3 search.
  }
  return nativeBinding;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  groupConcat: (expr) => `group_concat(${expr})`,
  jsonObjectAgg: (key, value) => `json_group_object(${key}, ${value})`,
  greatest: (a, b) => `max(${a}, ${b})`,
  indexedBy: (index) => `INDEXED BY ${index}`,
  jsonArrayHas: (column) => `EXISTS (SELECT 1 FROM json_each(${column}) t WHERE t.value = ?)`,
  // The one host's clock (every process sharing a SQLite file runs on it).
  nowMs: `CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
};

interface Held extends ActiveTransaction {
  /** A transaction is open on the connection (not only the opening work holding it). */
  readonly open: boolean;
}

/**
 * better-sqlite3 behind the async store interface. Queries run synchronously; a transaction holds
 * the one connection until it ends, so queries from outside it (another async chain) wait rather
 * than land inside it. Every transaction is BEGIN IMMEDIATE: it takes the write lock at once (the
 * busy timeout applies), so a read that decides a write never meets SQLITE_BUSY_SNAPSHOT.
 */
export class SqliteDb implements Db {
  readonly dialect = sqliteDialect;
  private readonly statements = new Map<string, Database.Statement>();
  /** A transaction (or the opening work) has the connection. */
  private held = false;
  /** What showed the file corrupt (a check, or a statement's SQLITE_CORRUPT): nothing more is written. */
  corruption: string | null = null;

  constructor(
    /** The better-sqlite3 handle, for SQLite-only checks (pragmas, integrity). */
    readonly raw: Database.Database,
    private readonly path: string,
    private readonly scrub: Scrub,
  ) {}

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.raw.prepare(sql)));
    return statement;
  }

  /** Any statement's SQLITE_CORRUPT marks the ledger corrupt: this and every later write is refused. */
  private checked<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (!isCorruption(err)) throw err;
      this.corruption ??= (err as Error).message;
      throw corruptLedgerError(this.path, this.corruption);
    }
  }

  private writable(): void {
    if (this.corruption !== null) throw corruptLedgerError(this.path, this.corruption);
  }

  all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return this.when(() => this.checked(() => this.prepared(sql).all(...scrubbed(params, this.scrub)) as T[]));
  }

  get<T>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return this.when(() => this.checked(() => this.prepared(sql).get(...scrubbed(params, this.scrub)) as T | undefined));
  }

  run(sql: string, ...params: unknown[]): Promise<number> {
    return this.when(() => this.checked(() => this.prepared(sql).run(...scrubbed(params, this.scrub)).changes));
  }

  /** The statement, refused when it writes (an INSERT ... RETURNING reads through get too) to a corrupt file. */
  private prepared(sql: string): Database.Statement {
    const statement = this.statement(sql);
    if (!statement.readonly) this.writable();
    return statement;
  }

  /** Run a statement now, or (held by someone else) as soon as the connection is let go. */
  private when<T>(statement: () => T): Promise<T> {
    if (!this.held || currentTransaction(this)) {
      try {
        return Promise.resolve(statement());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.queue(() => statement());
  }

  /**
   * Wait for the connection, at most the busy timeout (as SQLite waits for a lock). `next` runs
   * synchronously when the holder lets go, before anything else can take the connection.
   */
  private queue<T>(next: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        try {
          resolve(next());
        } catch (err) {
          reject(err);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(ledgerBusyError(this.path));
      }, BUSY_TIMEOUT_MS);
      this.waiters.push(waiter);
    });
  }

  private readonly waiters: Array<() => void> = [];

  private take(): void {
    this.held = true;
  }

  private acquire(): Promise<void> {
    if (!this.held) {
      this.take();
      return Promise.resolve();
    }
    return this.queue(() => this.take());
  }

  private release(): void {
    this.held = false;
    // Waiting statements run in order until one of the waiters takes the connection.
    while (!this.held && this.waiters.length) this.waiters.shift()!();
  }

  /** Run `work` holding the connection, outside any transaction (the ledger's opening chores). */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    const marker: Held = { owner: this, active: true, open: false, outer: transactions.getStore() };
    try {
      return await transactions.run(marker, work);
    } finally {
      marker.active = false;
      this.release();
    }
  }

  /** The lock name is PostgreSQL's concern: SQLite's IMMEDIATE transactions serialise every writer. */
  async transaction<T>(work: () => Promise<T>, _options?: TransactionOptions): Promise<T> {
    const mine = currentTransaction(this) as Held | undefined;
    if (mine?.open) return work();
    this.writable();
    if (!mine) await this.acquire();
    const marker: Held = { owner: this, active: true, open: true, outer: transactions.getStore() };
    try {
      this.writable();
      this.checked(() => this.raw.exec('BEGIN IMMEDIATE'));
      try {
        const result = await transactions.run(marker, work);
        this.checked(() => this.raw.exec('COMMIT'));
        return result;
      } catch (err) {
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
        throw err;
      }
    } finally {
      marker.active = false;
      if (!mine) this.release();
    }
  }

  async close(): Promise<void> {
    if (this.raw.open) this.raw.close();
  }
}

/** `PRAGMA quick_check` runs at most this often (its time and result are kept in the ledger). */
export const QUICK_CHECK_EVERY_MS = 3_600_000;

export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
}

export function corruptLedgerError(path: string, detail: string): LedgerError {
  return new LedgerError(
    `ledger ${path} is corrupt (${detail}); ops writes nothing more to it`,
    'run `ops doctor --recover` to copy what is readable into a new ledger (the corrupt file is kept beside it)',
  );
}

/**
 * The scheduled check, at open. A problem a past check stored is returned (the ledger stays refused
 * until it is recovered). When the last check is over QUICK_CHECK_EVERY_MS old, one opener claims
 * the next (its time is stored at once) and runs it in a detached process, so that no command waits
 * for it: `quick_check` reads every page, about a second on a 186 MB ledger. A ledger gets its
 * first check an hour after it got the table.
 */
function scheduledCheck(db: Database.Database, path: string, now: number): string | null {
  try {
    const last = db.prepare(`SELECT checked_at, result FROM ledger_checks WHERE name = 'quick_check'`).get() as { checked_at: number; result: string } | undefined;
    if (!last) {
      db.prepare(`INSERT INTO ledger_checks (name, checked_at, result) VALUES ('quick_check', ?, 'ok') ON CONFLICT (name) DO NOTHING`).run(now);
      return null;
    }
    if (last.result !== 'ok') return last.result;
    if (now - last.checked_at < QUICK_CHECK_EVERY_MS && now >= last.checked_at) return null;
    // Of many commands opening at once, the one whose update lands runs the check.
    const claimed = db.prepare(`UPDATE ledger_checks SET checked_at = ? WHERE name = 'quick_check' AND checked_at = ?`).run(now, last.checked_at).changes;
    if (claimed) startQuickCheck(path);
    return null;
  } catch (err) {
    if (isCorruption(err)) return (err as Error).message;
    // Busy (another writer holds the lock past the timeout): a later command claims the check.
    return null;
  }
}

/**
 * The check's own process: `PRAGMA quick_check`, and its result stored as one line (`ok`, or the
 * problem that every later open reads), by the same `oneLine` as doctor's. Plain CommonJS for
 * `node -e`, given better-sqlite3's path.
 */
const QUICK_CHECK_SCRIPT = `
const [path, pkg, addon] = process.argv.slice(1);
const Database = require(pkg);
const oneLine = (${oneLine.toString()});
const db = new Database(path, { timeout: ${BUSY_TIMEOUT_MS}, nativeBinding: addon || undefined, fileMustExist: true });
let result;
try {
  const problems = db.pragma('quick_check(3)').map((r) => r.quick_check);
  result = problems.length === 1 && problems[0] === 'ok' ? 'ok' : 'quick_check: ' + oneLine(problems);
} catch (err) {
  result = /^SQLITE_(CORRUPT|NOTADB)/.test(err.code || '') ? err.message : undefined;
}
if (result) db.prepare("UPDATE ledger_checks SET result = ? WHERE name = 'quick_check'").run(result);
db.close();
`;

function startQuickCheck(path: string): void {
  try {
    const child = spawn(process.execPath, ['-e', QUICK_CHECK_SCRIPT, path, require.resolve('better-sqlite3'), addonPath() ?? ''], { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No process to spare: the check is due again in an hour.
  }
}

/** A check's first problem on one line (its rows hold several lines, under a database header). */
export function oneLine(problems: string[]): string {
  const lines = problems.flatMap((p) => p.split('\n')).map((l) => l.trim()).filter((l) => l && !/^\*\*\* in database/.test(l));
  const first = (lines[0] ?? 'failed').slice(0, 200);
  return lines.length > 1 ? `${first} (and ${lines.length - 1} more)` : first;
}

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

export function sqliteSchemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Open a SQLite ledger: refuse a newer schema (before touching anything), switch to WAL,
 * then apply pending migrations in one immediate transaction.
 */
export function openSqlite(path: string, scrub: Scrub): SqliteDb {
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') ensureFile(path);
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS, nativeBinding: addonPath() });
    const found = sqliteSchemaVersion(db);
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
    const opened = new SqliteDb(db, path, scrub);
    if (path !== ':memory:') opened.corruption = scheduledCheck(db, path, Date.now());
    return opened;
  } catch (err) {
    db?.close();
    if (err instanceof LedgerError) throw err;
    throw describeOpenFailure(path, err);
  }
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    // Another process may have migrated while we waited for the write lock.
    const current = sqliteSchemaVersion(db);
    for (let version = current; version < SCHEMA_VERSION; version++) db.exec(migrations[version]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
