import { AsyncLocalStorage } from 'node:async_hooks';
import { LedgerError } from '../errors.js';

/**
 * The one store layer's view of a database: the same SQL text on SQLite and PostgreSQL, written in
 * their common subset (`?` placeholders, `INSERT ... ON CONFLICT`, `RETURNING id`, quoted camelCase
 * aliases), with the few differences behind `dialect`.
 */
export interface Db {
  readonly dialect: Dialect;
  all<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T | undefined>;
  /** A statement without rows; resolves to the number of rows it changed. */
  run(sql: string, ...params: unknown[]): Promise<number>;
  /**
   * Run `work` in one transaction: every query of this database made from inside it (through any
   * store, at any depth of calls) joins it; others wait (SQLite) or use another connection (PostgreSQL).
   * A transaction that reads then writes names what it serialises on with `lock`: SQLite takes the
   * write lock at BEGIN IMMEDIATE, PostgreSQL a transaction-scoped advisory lock on that name.
   * A nested call joins the outer transaction.
   */
  transaction<T>(work: () => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /** What the transaction serialises on (e.g. `release:api/prod`): its reads decide its writes. */
  lock?: string;
}

/** SQL that differs between the backends; everything else is written once. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Aggregate: the values joined with commas (NULL when there are none). */
  groupConcat(expr: string): string;
  /** Aggregate: a JSON object text of key -> value, '{}' when there are none. */
  jsonObjectAgg(key: string, value: string): string;
  /** The larger of two values (SQLite's two-argument max). */
  greatest(a: string, b: string): string;
  /** A planner hint where the backend takes one (SQLite's INDEXED BY). */
  indexedBy(index: string): string;
  /** True when the JSON array text in `column` holds the string bound to the next `?`. */
  jsonArrayHas(column: string): string;
  /** The database's clock in epoch milliseconds: one clock for every machine sharing the ledger. */
  readonly nowMs: string;
}

export const BUSY_TIMEOUT_MS = 30_000;

/** Scrubs a string before it is bound to a statement (the ledger's one redaction boundary). */
export type Scrub = (text: string) => string;

/**
 * Every string bound to a statement passes through `scrub` first, so that no store, present or
 * future, can put a secret in the database. Lookups are scrubbed alike: a lookup by a value finds
 * what was stored for it.
 */
export function scrubbed(params: unknown[], scrub: Scrub): unknown[] {
  const clean = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (Array.isArray(value)) return value.map(clean);
    if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clean(v)]));
    }
    return value;
  };
  return params.map(clean);
}

export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/** The ledger as it may be shown: a URL without its password. */
export function displayTarget(target: string): string {
  if (!isPostgresUrl(target)) return target;
  return target.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** Which transaction the running async code is inside, for each database. */
export interface ActiveTransaction {
  readonly owner: object;
  active: boolean;
  /** The transaction of another database this one was opened inside (a copy between ledgers). */
  readonly outer: ActiveTransaction | undefined;
}

export const transactions = new AsyncLocalStorage<ActiveTransaction>();

/** The caller's transaction on `owner`, if it is inside one that is still open. */
export function currentTransaction(owner: object): ActiveTransaction | undefined {
  for (let tx = transactions.getStore(); tx; tx = tx.outer) if (tx.owner === owner) return tx.active ? tx : undefined;
  return undefined;
}

export function ledgerBusyError(target: string): LedgerError {
  return new LedgerError(
    `ledger ${displayTarget(target)} stayed busy for ${BUSY_TIMEOUT_MS / 1000} s`,
    'another ops process holds it: retry, or see `ops runs list --status running`',
  );
}
