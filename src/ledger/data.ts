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

export type PredictionValue = string | number | boolean | null;

export interface NewPrediction {
  model: string;
  version: number;
  /** The caller's id, for a delayed label; unique per model. */
  externalId: string | null;
  inputs: Record<string, PredictionValue>;
  output: PredictionValue;
  /** Where it came from: `predict` (ops model predict --log) or `log` (ops model log). */
  source: 'predict' | 'log';
  atMs: number;
}

export interface StoredPrediction {
  id: number;
  version: number;
  externalId: string | null;
  inputs: Record<string, PredictionValue>;
  output: PredictionValue;
  label: PredictionValue | undefined;
  at: string;
}

export interface FileMark {
  offset: number;
  lines: number;
  /** sha256 of the file's first min(offset, 4096) bytes: a different head means the file was replaced. */
  head: string;
}

export interface PredictionWindow {
  model: string;
  /** Only this version's predictions (default: every version's). */
  version?: number;
  /** Only predictions made at or after this time. */
  sinceMs?: number;
  /** The newest this many. */
  limit?: number;
}

interface PredictionRow {
  id: number;
  version: number;
  external_id: string | null;
  inputs: string;
  output: string;
  label: string | null;
  at: number;
}

/** Predictions per model version and their delayed labels: what `ops model monitor` compares with the training data. */
export class PredictionStore {
  constructor(private readonly db: Db) {}

  /** Append predictions in one transaction; one whose id the model already has is skipped. Returns how many were new. */
  append(predictions: NewPrediction[]): Promise<number> {
    return this.db.transaction(async () => {
      let added = 0;
      for (const p of predictions) {
        added += await this.db.run(
          `INSERT INTO predictions (model, version, external_id, inputs, output, source, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model, external_id) DO NOTHING`,
          p.model,
          p.version,
          p.externalId,
          JSON.stringify(p.inputs),
          JSON.stringify(p.output),
          p.source,
          p.atMs,
        );
      }
      return added;
    });
  }

  /** Attach labels by the caller's id (within one model, or any model's); returns the ids that matched no prediction. */
  label(labels: Array<{ id: string; label: PredictionValue; model: string | null }>, nowMs: number): Promise<{ labelled: number; unknown: string[] }> {
    return this.db.transaction(async () => {
      let labelled = 0;
      const unknown: string[] = [];
      for (const l of labels) {
        const changed = l.model
          ? await this.db.run(`UPDATE predictions SET label = ?, labelled_at = ? WHERE model = ? AND external_id = ?`, JSON.stringify(l.label), nowMs, l.model, l.id)
          : await this.db.run(`UPDATE predictions SET label = ?, labelled_at = ? WHERE external_id = ?`, JSON.stringify(l.label), nowMs, l.id);
        if (changed === 0) unknown.push(l.id);
        labelled += changed;
      }
      return { labelled, unknown };
    });
  }

  /** Where the last `ops model log` of an append-only file stopped: its byte offset, lines read, and a digest of its first bytes. */
  async fileMark(path: string): Promise<FileMark | undefined> {
    const row = await this.db.get<{ offset_bytes: number; line_count: number; head: string }>(`SELECT offset_bytes, line_count, head FROM prediction_files WHERE path = ?`, path);
    return row && { offset: row.offset_bytes, lines: row.line_count, head: row.head };
  }

  async setFileMark(path: string, mark: FileMark, nowMs: number): Promise<void> {
    await this.db.run(
      `INSERT INTO prediction_files (path, offset_bytes, line_count, head, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET offset_bytes = excluded.offset_bytes, line_count = excluded.line_count, head = excluded.head, updated_at = excluded.updated_at`,
      path,
      mark.offset,
      mark.lines,
      mark.head,
      nowMs,
    );
  }

  /** The callers' ids of a model's predictions. */
  async externalIds(model: string): Promise<string[]> {
    return (await this.db.all<{ external_id: string }>(`SELECT external_id FROM predictions WHERE model = ? AND external_id IS NOT NULL`, model)).map((r) => r.external_id);
  }

  /** A window of a model's predictions, newest first. */
  async window(w: PredictionWindow): Promise<StoredPrediction[]> {
    const where = ['model = ?'];
    const params: unknown[] = [w.model];
    if (w.version !== undefined) {
      where.push('version = ?');
      params.push(w.version);
    }
    if (w.sinceMs !== undefined) {
      where.push('at >= ?');
      params.push(w.sinceMs);
    }
    const limit = w.limit !== undefined ? ` LIMIT ${Math.floor(w.limit)}` : '';
    const rows = await this.db.all<PredictionRow>(
      `SELECT id, version, external_id, inputs, output, label, at FROM predictions WHERE ${where.join(' AND ')} ORDER BY at DESC, id DESC${limit}`,
      ...params,
    );
    return rows.map((r) => ({
      id: r.id,
      version: r.version,
      externalId: r.external_id,
      inputs: JSON.parse(r.inputs) as Record<string, PredictionValue>,
      output: JSON.parse(r.output) as PredictionValue,
      label: r.label == null ? undefined : (JSON.parse(r.label) as PredictionValue),
      at: new Date(r.at).toISOString(),
    }));
  }
}
