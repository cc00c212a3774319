import type { Db } from './db.js';

export interface StoredProfile<P = unknown> {
  digest: string;
  rows: number;
  profile: P;
  createdAt: string;
}

export interface NewDataCheck {
  digest: string;
  runId: number | null;
  /** The suite file as given, or "(none)". */
  suite: string;
  passed: boolean;
  /** The names of the checks that failed. */
  failed: string[];
  checks: unknown[];
  /** Why a failing dataset was used all the same (`--allow-bad-data`). */
  override: string | null;
}

export interface DataCheckRecord extends NewDataCheck {
  id: number;
  createdAt: string;
}

interface CheckRow {
  id: number;
  digest: string;
  run_id: number | null;
  suite: string;
  passed: number;
  failed: string;
  checks: string;
  override: string | null;
  created_at: number;
}

const toCheck = (row: CheckRow): DataCheckRecord => ({
  id: row.id,
  digest: row.digest,
  runId: row.run_id,
  suite: row.suite,
  passed: row.passed === 1,
  failed: JSON.parse(row.failed) as string[],
  checks: JSON.parse(row.checks) as unknown[],
  override: row.override,
  createdAt: new Date(row.created_at).toISOString(),
});

/** Dataset profiles by digest (the same bytes have one profile) and the suites checked against datasets. */
export class DataStore {
  constructor(private readonly db: Db) {}

  /** Keep a dataset's profile; a digest already profiled keeps its first profile (same bytes, same statistics). */
  async saveProfile(digest: string, rows: number, profile: unknown, nowMs: number): Promise<void> {
    await this.db.run(
      `INSERT INTO dataset_profiles (digest, row_count, profile, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      digest,
      rows,
      JSON.stringify(profile),
      nowMs,
    );
  }

  async profile<P>(digest: string): Promise<StoredProfile<P> | undefined> {
    const row = await this.db.get<{ digest: string; row_count: number; profile: string; created_at: number }>(
      `SELECT digest, row_count, profile, created_at FROM dataset_profiles WHERE digest = ?`,
      digest,
    );
    return row && { digest: row.digest, rows: row.row_count, profile: JSON.parse(row.profile) as P, createdAt: new Date(row.created_at).toISOString() };
  }

  /** Profiled digests starting with `prefix` (with or without "sha256:"). */
  async profileDigests(prefix: string): Promise<string[]> {
    const pattern = prefix.replace(/[%_\\]/g, (c) => `\\${c}`);
    const rows = await this.db.all<{ digest: string }>(
      `SELECT digest FROM dataset_profiles WHERE digest LIKE ? ESCAPE '\\' OR digest LIKE ? ESCAPE '\\' ORDER BY digest LIMIT 20`,
      `${pattern}%`,
      `sha256:${pattern}%`,
    );
    return rows.map((r) => r.digest);
  }

  async recordCheck(check: NewDataCheck, nowMs: number): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO data_checks (digest, run_id, suite, passed, failed, checks, override, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      check.digest,
      check.runId,
      check.suite,
      check.passed ? 1 : 0,
      JSON.stringify(check.failed),
      JSON.stringify(check.checks),
      check.override,
      nowMs,
    );
    return row!.id;
  }

  /** The suites a run checked its data with, oldest first. */
  async checksOfRun(runId: number): Promise<DataCheckRecord[]> {
    return (await this.db.all<CheckRow>(`SELECT * FROM data_checks WHERE run_id = ? ORDER BY id`, runId)).map(toCheck);
  }
}
