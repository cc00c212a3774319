import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { redact } from '../redact.js';
import { displayTarget, isPostgresUrl, type Db, type TransactionOptions } from './db.js';
import { SCHEMA_VERSION } from './migrations.js';
import { PostgresDb, postgresSchemaVersion, type PgHooks, type ServerFacts } from './postgres.js';
import { isCorruption, openSqlite, sqliteSchemaVersion, SqliteDb } from './sqlite.js';
import { BlobStore } from './blobs.js';
import { BuildStore } from './builds.js';
import { DataStore, PredictionStore } from './data.js';
import { IncidentStore } from './incidents.js';
import { LockStore } from './locks.js';
import { MetricsStore } from './metrics.js';
import { ModelStore } from './models.js';
import { ReleaseStore } from './releases.js';
import { RiskStore } from './risk.js';
import { RunStore } from './runs.js';
import { TriageStore } from './triage.js';

export { SCHEMA_VERSION } from './migrations.js';
export { displayTarget, isPostgresUrl } from './db.js';
export type { Db, Dialect, TransactionOptions } from './db.js';
export type { Run, RunFilter, RunLogLine, RunStatus, NewRun } from './runs.js';
export { RUN_STATUSES } from './runs.js';
export type { BuildRecord, StoredBuild } from './builds.js';
export type { NewRelease, Release, ReleaseStatus, RiskVerdict } from './releases.js';
export type { DataCheckRecord, FileMark, NewDataCheck, NewPrediction, PredictionValue, PredictionWindow, StoredPrediction, StoredProfile } from './data.js';
export type { AliasEvent, ModelSummary, ModelVersion, StoredDataset, VersionUse } from './models.js';
export type { CommitLabel, FixOutcome, NewRiskScore, StoredCommit } from './risk.js';
export type { Incident, IncidentEvent, IncidentState, NewSignal, NotificationRecord, SourceStatus, StoredSignal, Suspect } from './incidents.js';
export { INCIDENT_STATES } from './incidents.js';
export type { IncidentAction, StoredTriage } from './triage.js';
export type { ChangeFact, FactFilter, IncidentFact, ReleaseFact } from './metrics.js';
export type { LockAttempt, LockHolder, LockOwner } from './locks.js';
export type { ServerFacts } from './postgres.js';
export { CHUNK_BYTES, fixedChunks, type BlobChunk, type BlobRecord, type BlobStore } from './blobs.js';

/**
 * The ledger: one set of stores over SQLite (a file path) or PostgreSQL (a postgres:// URL). Every
 * store method is async; `transaction` groups calls of any stores into one transaction.
 */
export class Ledger {
  readonly runs: RunStore;
  readonly builds: BuildStore;
  readonly releases: ReleaseStore;
  readonly locks: LockStore;
  readonly models: ModelStore;
  readonly risk: RiskStore;
  readonly incidents: IncidentStore;
  readonly triage: TriageStore;
  readonly metrics: MetricsStore;
  readonly data: DataStore;
  readonly predictions: PredictionStore;
  /** Artifact bytes kept in the database (a PostgreSQL ledger's artifact store). */
  readonly blobs: BlobStore;

  private constructor(
    /** The file path or URL it was opened with (a URL may hold a password: show it with displayTarget). */
    readonly path: string,
    readonly db: Db,
    /** No ledger at `path`: a read-only command reads an empty one in memory instead of creating it. */
    readonly absent = false,
  ) {
    this.runs = new RunStore(db);
    this.builds = new BuildStore(db);
    this.releases = new ReleaseStore(db);
    this.locks = new LockStore(db);
    this.models = new ModelStore(db);
    this.risk = new RiskStore(db);
    this.incidents = new IncidentStore(db);
    this.triage = new TriageStore(db);
    this.metrics = new MetricsStore(db);
    this.data = new DataStore(db);
    this.predictions = new PredictionStore(db);
    this.blobs = new BlobStore(db, displayTarget(path));
  }

  /**
   * A SQLite file is opened (and migrated) now, so its errors are thrown here; a PostgreSQL URL
   * connects on the first query, which rejects with the connection's error.
   */
  static open(target: string, options: { redact?: (text: string) => string; create?: boolean } & PgHooks = {}): Ledger {
    // `redact` scrubs every string stored or looked up; by default the secret patterns, with no known values.
    const scrub = options.redact ?? ((text: string) => redact(text));
    if (isPostgresUrl(target)) return new Ledger(target, new PostgresDb(target, scrub, options));
    // `create: false` (commands that only read): a missing file is not created, and reads as empty.
    if (options.create === false && !existsSync(target)) return new Ledger(target, openSqlite(':memory:', scrub), true);
    return new Ledger(target, openSqlite(target, scrub));
  }

  get backend(): 'sqlite' | 'postgres' {
    return this.db.dialect.name;
  }

  /** The better-sqlite3 handle of a SQLite ledger, for SQLite-only checks; undefined on PostgreSQL. */
  get sqlite(): Database.Database | undefined {
    return this.db instanceof SqliteDb ? this.db.raw : undefined;
  }

  transaction<T>(work: () => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.db.transaction(work, options);
  }

  /** Run `work` before any other query of this ledger (chores on opening, like marking abandoned runs). */
  hold<T>(work: () => Promise<T>): Promise<T> {
    return (this.db as SqliteDb | PostgresDb).hold(work);
  }

  async schemaVersion(): Promise<{ current: number; supported: number }> {
    const current = this.db instanceof SqliteDb ? sqliteSchemaVersion(this.db.raw) : await postgresSchemaVersion(this.db);
    return { current, supported: SCHEMA_VERSION };
  }

  /** SQLite's `PRAGMA integrity_check` (['ok'] when healthy, else the problems found); PostgreSQL checks its own pages. */
  async integrityCheck(): Promise<string[]> {
    const raw = this.sqlite;
    if (!raw) return ['ok'];
    try {
      return (raw.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    } catch (err) {
      // Pages too damaged for the check to walk them (the schema's, a table's root).
      if (isCorruption(err)) return [(err as Error).message];
      throw err;
    }
  }

  /** What showed a SQLite ledger corrupt (its scheduled quick_check, or a statement); null when nothing has. */
  get corruption(): string | null {
    return this.db instanceof SqliteDb ? this.db.corruption : null;
  }

  /** Server version, TLS and a round trip's time of a PostgreSQL ledger. */
  async server(): Promise<ServerFacts | undefined> {
    return this.db instanceof PostgresDb ? this.db.describe() : undefined;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
