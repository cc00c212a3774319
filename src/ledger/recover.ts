import Database from 'better-sqlite3';
import { chmodSync, existsSync, renameSync, rmSync } from 'node:fs';
import { LedgerError } from '../errors.js';
import { migrations, SCHEMA_VERSION } from './migrations.js';
import { addonPath } from './sqlite.js';

export interface TableRecovery {
  table: string;
  rows: number;
  /** Stretches of rowids that could not be read (each a corrupt page or more), skipped. */
  unreadable: number;
}

export interface Recovery {
  ledger: string;
  /** The corrupt file, kept as it was (with its -wal and -shm). */
  kept: string;
  /** vacuum: VACUUM INTO read everything; copy: the tables were read row by row around bad pages. */
  method: 'vacuum' | 'copy';
  tables: TableRecovery[];
  integrity: string[];
}

/** The largest rowid step tried when skipping past a bad page (2^40 rows). */
const MAX_SKIP_BITS = 40;

/**
 * Copy what is readable of a SQLite ledger into a new file, then put the new file in its place and
 * keep the old one beside it (`<file>.corrupt-<time>`). First VACUUM INTO (it rebuilds indexes,
 * so a bad index page costs nothing); if that fails, each table is read in rowid order and, at a
 * bad page, read on past it with growing rowid steps. Nobody else should have the file open.
 */
export function recoverSqlite(path: string, now: number): Recovery {
  if (!existsSync(path)) throw new LedgerError(`no ledger at ${path} to recover`, 'pass the ledger with --ledger <file>');
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  const fresh = `${path}.recovering-${stamp}`;
  const kept = `${path}.corrupt-${stamp}`;
  let old: Database.Database;
  try {
    old = new Database(path, { readonly: true, fileMustExist: true, nativeBinding: addonPath() });
  } catch (err) {
    throw new LedgerError(`cannot read ledger ${path}: ${(err as Error).message}`, 'restore it from a backup, or move it aside to start a new ledger');
  }
  let method: Recovery['method'] = 'vacuum';
  let tables: TableRecovery[];
  try {
    const version = safe(() => old.pragma('user_version', { simple: true }) as number);
    if (version === undefined) throw unreadable(path);
    if (version > SCHEMA_VERSION) throw new LedgerError(`ledger ${path} has schema version ${version}, newer than this ops understands (${SCHEMA_VERSION})`, 'recover it with a newer ops');
    try {
      old.prepare('VACUUM INTO ?').run(fresh);
      const check = new Database(fresh, { nativeBinding: addonPath() });
      const ok = (check.pragma('integrity_check') as Array<{ integrity_check: string }>).every((r) => r.integrity_check === 'ok');
      tables = tableNames(check).map((table) => ({ table, rows: (check.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n, unreadable: 0 }));
      check.close();
      if (!ok) throw new Error('the copy failed its integrity check');
    } catch {
      rmSync(fresh, { force: true });
      method = 'copy';
      try {
        tables = copyReadable(old, fresh, version, path);
      } catch (err) {
        rmSync(fresh, { force: true });
        throw err;
      }
    }
  } finally {
    old.close();
  }
  const check = new Database(fresh, { nativeBinding: addonPath() });
  const integrity = (check.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
  // The copy carries the old file's stored check result; this file's is the check just run.
  if (tableNames(check).includes('ledger_checks')) {
    check.prepare(`DELETE FROM ledger_checks`).run();
    if (integrity.length === 1 && integrity[0] === 'ok') check.prepare(`INSERT INTO ledger_checks (name, checked_at, result) VALUES ('quick_check', ?, 'ok')`).run(now);
  }
  check.pragma('journal_mode = WAL');
  check.close();
  chmodSync(fresh, 0o600);
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, kept + suffix);
  renameSync(fresh, path);
  return { ledger: path, kept, method, tables, integrity };
}

function unreadable(path: string): LedgerError {
  return new LedgerError(`nothing in ledger ${path} can be read (its header or schema pages are damaged); it is left as it was`, 'restore it from a backup, or move it aside to start a new ledger');
}

function tableNames(db: Database.Database): string[] {
  return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
}

/** A new file at the old schema version, each table's readable rows copied in (rowids kept). */
function copyReadable(old: Database.Database, fresh: string, version: number, path: string): TableRecovery[] {
  const oldTables = new Set(safe(() => tableNames(old)) ?? []);
  // Without its schema nothing can be read: a new empty ledger in its place would only hide that.
  if (oldTables.size === 0) throw unreadable(path);
  const db = new Database(fresh, { nativeBinding: addonPath() });
  try {
    db.pragma('foreign_keys = OFF');
    db.transaction(() => {
      for (let v = 0; v < version; v++) db.exec(migrations[v]!);
      db.pragma(`user_version = ${version}`);
    })();
    const report: TableRecovery[] = [];
    for (const table of tableNames(db)) {
      if (!oldTables.has(table)) {
        report.push({ table, rows: 0, unreadable: 1 });
        continue;
      }
      const oldColumns = new Set((safe(() => old.pragma(`table_info("${table}")`)) as Array<{ name: string }> | undefined ?? []).map((c) => c.name));
      const columns = (db.pragma(`table_info("${table}")`) as Array<{ name: string }>).map((c) => c.name).filter((c) => oldColumns.has(c));
      const list = columns.map((c) => `"${c}"`).join(', ');
      const insert = db.prepare(`INSERT OR IGNORE INTO "${table}" (rowid, ${list}) VALUES (${['?', ...columns.map(() => '?')].join(', ')})`);
      const read = old.prepare(`SELECT rowid AS rowid_, ${list} FROM "${table}" WHERE rowid > ? ORDER BY rowid`).raw(true);
      const probe = old.prepare(`SELECT rowid FROM "${table}" WHERE rowid > ? ORDER BY rowid LIMIT 1`).pluck();
      let after = Number.MIN_SAFE_INTEGER;
      let rows = 0;
      let unreadable = 0;
      db.transaction(() => {
        for (;;) {
          try {
            for (const row of read.iterate(after) as Iterable<unknown[]>) {
              insert.run(...row);
              after = row[0] as number;
              rows++;
            }
            return;
          } catch {
            unreadable++;
            // Read on past the bad page: the first rowid that can be reached beyond it.
            let resumed = false;
            for (let bit = 0; bit <= MAX_SKIP_BITS && !resumed; bit++) {
              const from = after + 2 ** bit;
              const next = safe(() => probe.get(from) as number | undefined, null);
              if (next === null) continue;
              if (next === undefined) return;
              after = from;
              resumed = true;
            }
            if (!resumed) return;
          }
        }
      })();
      report.push({ table, rows, unreadable });
    }
    return report;
  } finally {
    db.close();
  }
}

/** The value of `work`, or `fallback` when reading the corrupt file throws. */
function safe<T, F = undefined>(work: () => T, fallback?: F): T | F {
  try {
    return work();
  } catch {
    return fallback as F;
  }
}
