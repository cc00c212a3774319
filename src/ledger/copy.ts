import type { Db } from './db.js';
import { openSqlite } from './sqlite.js';

/** A table of the ledger as a copy sees it: its columns in order, its key, and its identity column. */
export interface TableShape {
  name: string;
  columns: string[];
  key: string[];
  /** The integer key a PostgreSQL identity generates, whose sequence follows copied ids. */
  identity: string | null;
}

/** Tables a copy does not carry row by row: blobs move as blobs, and the ledger's own facts and checks stay. */
const NOT_ROWS = new Set(['blobs', 'blob_chunks', 'ledger_meta', 'ledger_checks']);

let shapes: TableShape[] | undefined;

/**
 * The ledger's tables, each after every table it references (so rows insert with foreign keys on),
 * read from the migrations applied to an empty in-memory SQLite database: one schema, both backends.
 */
export function ledgerTables(): TableShape[] {
  if (shapes) return shapes;
  const db = openSqlite(':memory:', (text) => text).raw;
  try {
    const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid`).all() as Array<{ name: string }>).map((r) => r.name).filter((n) => !NOT_ROWS.has(n));
    const info = new Map(
      names.map((name) => {
        const columns = db.pragma(`table_info(${name})`) as Array<{ name: string; type: string; pk: number }>;
        const key = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
        const references = (db.pragma(`foreign_key_list(${name})`) as Array<{ table: string }>).map((f) => f.table).filter((t) => t !== name);
        const shape: TableShape = {
          name,
          columns: columns.map((c) => c.name),
          key: key.map((c) => c.name),
          identity: key.length === 1 && key[0]!.type === 'INTEGER' ? key[0]!.name : null,
        };
        return [name, { shape, references }] as const;
      }),
    );
    const ordered: TableShape[] = [];
    const placed = new Set<string>();
    const place = (name: string) => {
      if (placed.has(name)) return;
      placed.add(name);
      for (const target of info.get(name)!.references) place(target);
      ordered.push(info.get(name)!.shape);
    };
    for (const name of names) place(name);
    return (shapes = ordered);
  } finally {
    db.close();
  }
}

const PAGE_ROWS = 1000;

/** A table's rows in key order, a page at a time, each with the columns in the shape's order. */
export async function* tableRows(db: Db, table: TableShape): AsyncGenerator<Record<string, unknown>> {
  const sql = `SELECT ${table.columns.join(', ')} FROM ${table.name} ORDER BY ${table.key.join(', ')} LIMIT ? OFFSET ?`;
  for (let offset = 0; ; offset += PAGE_ROWS) {
    const rows = await db.all(sql, PAGE_ROWS, offset);
    for (const row of rows) yield row;
    if (rows.length < PAGE_ROWS) return;
  }
}

const INSERT_ROWS = 100;

/** Insert rows as they are (ids included); a row whose key the table already has is left alone. Resolves to the rows inserted. */
export async function insertRows(db: Db, table: TableShape, rows: Array<Record<string, unknown>>): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < rows.length; start += INSERT_ROWS) {
    const batch = rows.slice(start, start + INSERT_ROWS);
    const values = batch.map(() => `(${table.columns.map(() => '?').join(', ')})`).join(', ');
    const params = batch.flatMap((row) => table.columns.map((c) => row[c] ?? null));
    inserted += await db.run(`INSERT INTO ${table.name} (${table.columns.join(', ')}) VALUES ${values} ON CONFLICT DO NOTHING`, ...params);
  }
  return inserted;
}

/** After ids were inserted as they were, PostgreSQL's identities continue above the largest. */
export async function followIdentities(db: Db): Promise<void> {
  if (db.dialect.name !== 'postgres') return;
  for (const table of ledgerTables()) {
    if (!table.identity) continue;
    await db.run(`SELECT setval(pg_get_serial_sequence('${table.name}', '${table.identity}'), max(${table.identity})) FROM ${table.name} HAVING max(${table.identity}) IS NOT NULL`);
  }
}

/** True when any table of the ledger holds a row. */
export async function holdsRows(db: Db): Promise<boolean> {
  for (const table of ledgerTables()) if (await db.get(`SELECT 1 AS one FROM ${table.name} LIMIT 1`)) return true;
  return false;
}

export async function ledgerFact(db: Db, key: string): Promise<string | null> {
  return (await db.get<{ value: string }>(`SELECT value FROM ledger_meta WHERE key = ?`, key))?.value ?? null;
}

export async function recordLedgerFact(db: Db, key: string, value: string): Promise<void> {
  await db.run(`INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
}
