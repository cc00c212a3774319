import { existsSync } from 'node:fs';
import { redact } from '../redact.js';
import { openDatabase, type Db } from './db.js';
import { SCHEMA_VERSION } from './migrations.js';
import { BuildStore } from './builds.js';
import { IncidentStore } from './incidents.js';
import { LockStore } from './locks.js';
import { MetricsStore } from './metrics.js';
import { ModelStore } from './models.js';
import { ReleaseStore } from './releases.js';
import { RiskStore } from './risk.js';
import { RunStore } from './runs.js';
import { TriageStore } from './triage.js';

export { SCHEMA_VERSION } from './migrations.js';
export type { Run, RunFilter, RunLogLine, RunStatus, NewRun } from './runs.js';
export { RUN_STATUSES } from './runs.js';
export type { BuildRecord, StoredBuild } from './builds.js';
export type { NewRelease, Release, ReleaseStatus, RiskVerdict } from './releases.js';
export type { AliasEvent, ModelSummary, ModelVersion, StoredDataset, VersionUse } from './models.js';
export type { CommitLabel, NewRiskScore, StoredCommit } from './risk.js';
export type { Incident, IncidentEvent, IncidentState, NewSignal, NotificationRecord, SourceStatus, StoredSignal, Suspect } from './incidents.js';
export { INCIDENT_STATES } from './incidents.js';
export type { IncidentAction, StoredTriage } from './triage.js';
export type { ChangeFact, FactFilter, IncidentFact, ReleaseFact } from './metrics.js';
export type { LockAttempt, LockHolder, LockOwner } from './locks.js';

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

  private constructor(
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
  }

  /**
   * `redact` scrubs every string stored or looked up; by default the secret patterns, with no known
   * values. `create: false` (commands that only read): a missing ledger is not created, and reads as empty.
   */
  static open(path: string, options: { redact?: (text: string) => string; create?: boolean } = {}): Ledger {
    const scrub = options.redact ?? ((text: string) => redact(text));
    if (options.create === false && !existsSync(path)) return new Ledger(path, openDatabase(':memory:', scrub), true);
    return new Ledger(path, openDatabase(path, scrub));
  }

  schemaVersion(): { current: number; supported: number } {
    return { current: this.db.pragma('user_version', { simple: true }) as number, supported: SCHEMA_VERSION };
  }

  /** `PRAGMA integrity_check`: ['ok'] when healthy, else the problems SQLite found. */
  integrityCheck(): string[] {
    return (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
