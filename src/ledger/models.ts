import type { Db } from './db.js';

export interface StoredDataset {
  digest: string;
  path: string;
  kind: 'file' | 'dir';
  sizeBytes: number;
}

export interface StoredArtifact {
  digest: string;
  sizeBytes: number;
  mediaType: string | null;
}

export interface ModelVersion {
  id: number;
  model: string;
  version: number;
  runId: number | null;
  artifactDigest: string | null;
  params: Record<string, unknown> | null;
  metrics: Record<string, number> | null;
  actor: string | null;
  source: string | null;
  createdAt: string;
  aliases: string[];
}

export interface ModelSummary {
  name: string;
  createdAt: string;
  versions: number;
  latestVersion: number | null;
  latestAt: string | null;
  aliases: Record<string, number>;
}

export interface AliasEvent {
  id: number;
  model: string;
  alias: string;
  fromVersion: number | null;
  toVersion: number | null;
  actor: string;
  reason: string | null;
  forced: boolean;
  at: string;
}

export interface NewVersion {
  model: string;
  runId: number | null;
  artifactDigest: string;
  params: Record<string, unknown> | null;
  metrics: Record<string, number> | null;
  actor: string;
  source: string;
}

export interface AliasMove {
  model: string;
  alias: string;
  actor: string;
  reason: string | null;
}

export interface VersionUse {
  riskScores: Array<{ id: number; service: string | null; env: string | null; probability: number; level: string; createdAt: string }>;
  releases: Array<{ id: number; service: string; env: string; revision: number; status: string; createdAt: string }>;
}

interface VersionRow {
  id: number;
  model: string;
  version: number;
  run_id: number | null;
  artifact_digest: string | null;
  params: string | null;
  metrics: string | null;
  actor: string | null;
  source: string | null;
  created_at: number;
  aliases: string | null;
}

interface EventRow {
  id: number;
  model: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  reason: string | null;
  forced: number;
  at: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const parse = <T>(text: string | null): T | null => (text == null ? null : (JSON.parse(text) as T));

const toVersion = (row: VersionRow): ModelVersion => ({
  id: row.id,
  model: row.model,
  version: row.version,
  runId: row.run_id,
  artifactDigest: row.artifact_digest,
  params: parse(row.params),
  metrics: parse(row.metrics),
  actor: row.actor,
  source: row.source,
  createdAt: iso(row.created_at),
  aliases: row.aliases ? row.aliases.split(',').sort() : [],
});

const toEvent = (row: EventRow): AliasEvent => ({
  id: row.id,
  model: row.model,
  alias: row.alias,
  fromVersion: row.from_version,
  toVersion: row.to_version,
  actor: row.actor,
  reason: row.reason,
  forced: row.forced === 1,
  at: iso(row.at),
});

const VERSION_COLUMNS = `v.*, (SELECT group_concat(a.alias) FROM model_aliases a WHERE a.model = v.model AND a.version = v.version) AS aliases`;

/** Models, versions, aliases with their append-only history, datasets, artifacts and lineage edges. */
export class ModelStore {
  constructor(private readonly db: Db) {}

  recordArtifact(artifact: StoredArtifact, nowMs: number): void {
    this.db
      .prepare(`INSERT OR IGNORE INTO artifacts (digest, size_bytes, media_type, created_at) VALUES (?, ?, ?, ?)`)
      .run(artifact.digest, artifact.sizeBytes, artifact.mediaType, nowMs);
  }

  /** A stored file tree and each file in it. */
  recordTree(tree: StoredArtifact, files: Array<{ digest: string; sizeBytes: number }>, nowMs: number): void {
    for (const file of files) this.recordArtifact({ digest: file.digest, sizeBytes: file.sizeBytes, mediaType: null }, nowMs);
    this.recordArtifact(tree, nowMs);
  }

  attachToRun(runId: number, name: string, digest: string): void {
    this.db.prepare(`INSERT OR REPLACE INTO run_artifacts (run_id, name, digest) VALUES (?, ?, ?)`).run(runId, name, digest);
  }

  runArtifacts(runId: number): Array<{ name: string; digest: string; sizeBytes: number }> {
    return this.db
      .prepare(`SELECT r.name, r.digest, a.size_bytes AS sizeBytes FROM run_artifacts r JOIN artifacts a USING (digest) WHERE r.run_id = ? ORDER BY r.name`)
      .all(runId) as Array<{ name: string; digest: string; sizeBytes: number }>;
  }

  /** A dataset read by a run: kept once per digest, linked to each run that used it. */
  recordDataset(dataset: StoredDataset, runId: number, nowMs: number): void {
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT OR IGNORE INTO datasets (digest, path, kind, size_bytes, created_at) VALUES (?, ?, ?, ?, ?)`)
        .run(dataset.digest, dataset.path, dataset.kind, dataset.sizeBytes, nowMs);
      this.addEdge('dataset', dataset.digest, 'run', String(runId), 'input', nowMs);
    })();
  }

  addEdge(srcType: string, srcId: string, dstType: string, dstId: string, relation: string, nowMs: number): void {
    this.db
      .prepare(`INSERT OR IGNORE INTO lineage_edges (src_type, src_id, dst_type, dst_id, relation, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(srcType, srcId, dstType, dstId, relation, nowMs);
  }

  runDatasets(runId: number): Array<StoredDataset & { path: string }> {
    return (
      this.db
        .prepare(
          // Without INDEXED BY the planner walks every dataset edge by the primary key's src_type prefix.
          `SELECT d.digest, d.path, d.kind, d.size_bytes FROM lineage_edges e INDEXED BY lineage_dst JOIN datasets d ON d.digest = e.src_id
           WHERE e.dst_type = 'run' AND e.dst_id = ? AND e.src_type = 'dataset' ORDER BY d.path`,
        )
        .all(String(runId)) as Array<{ digest: string; path: string; kind: 'file' | 'dir'; size_bytes: number }>
    ).map((r) => ({ digest: r.digest, path: r.path, kind: r.kind, sizeBytes: r.size_bytes }));
  }

  /** Datasets whose digest starts with `prefix` (a full digest, or its first characters like a short git sha). */
  datasetsByPrefix(prefix: string): StoredDataset[] {
    const pattern = prefix.replace(/[%_\\]/g, (c) => `\\${c}`);
    return (
      this.db
        .prepare(`SELECT digest, path, kind, size_bytes FROM datasets WHERE digest LIKE ? ESCAPE '\\' OR digest LIKE ? ESCAPE '\\' LIMIT 20`)
        .all(`${pattern}%`, `sha256:${pattern}%`) as Array<{ digest: string; path: string; kind: 'file' | 'dir'; size_bytes: number }>
    ).map((r) => ({ digest: r.digest, path: r.path, kind: r.kind, sizeBytes: r.size_bytes }));
  }

  /** Versions trained on a dataset: dataset -> run -> version. */
  versionsTrainedOn(digest: string): ModelVersion[] {
    return (
      this.db
        .prepare(
          `SELECT ${VERSION_COLUMNS} FROM lineage_edges e JOIN model_versions v ON v.run_id = CAST(e.dst_id AS INTEGER)
           WHERE e.src_type = 'dataset' AND e.src_id = ? AND e.dst_type = 'run' ORDER BY v.model, v.version`,
        )
        .all(digest) as VersionRow[]
    ).map(toVersion);
  }

  /** Version N+1 of the model, in one immediate transaction: parallel registrations never share a number. */
  register(entry: NewVersion, nowMs: number): ModelVersion {
    return this.db
      .transaction(() => {
        this.db.prepare(`INSERT OR IGNORE INTO models (name, created_at) VALUES (?, ?)`).run(entry.model, nowMs);
        const { next } = this.db
          .prepare(`SELECT coalesce(max(version), 0) + 1 AS next FROM model_versions WHERE model = ?`)
          .get(entry.model) as { next: number };
        this.db
          .prepare(
            `INSERT INTO model_versions (model, version, run_id, artifact_digest, params, metrics, actor, source, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            entry.model,
            next,
            entry.runId,
            entry.artifactDigest,
            entry.params && JSON.stringify(entry.params),
            entry.metrics && JSON.stringify(entry.metrics),
            entry.actor,
            entry.source,
            nowMs,
          );
        return this.version(entry.model, next)!;
      })
      .immediate();
  }

  modelExists(name: string): boolean {
    return this.db.prepare(`SELECT 1 FROM models WHERE name = ?`).get(name) !== undefined;
  }

  modelNames(): string[] {
    return (this.db.prepare(`SELECT name FROM models ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
  }

  list(): ModelSummary[] {
    const rows = this.db
      .prepare(
        `SELECT m.name, m.created_at,
                (SELECT count(*) FROM model_versions v WHERE v.model = m.name) AS versions,
                (SELECT max(version) FROM model_versions v WHERE v.model = m.name) AS latest,
                (SELECT max(created_at) FROM model_versions v WHERE v.model = m.name) AS latest_at,
                (SELECT json_group_object(alias, version) FROM model_aliases a WHERE a.model = m.name) AS aliases
         FROM models m ORDER BY m.name`,
      )
      .all() as Array<{ name: string; created_at: number; versions: number; latest: number | null; latest_at: number | null; aliases: string }>;
    return rows.map((r) => ({
      name: r.name,
      createdAt: iso(r.created_at),
      versions: r.versions,
      latestVersion: r.latest,
      latestAt: r.latest_at == null ? null : iso(r.latest_at),
      aliases: JSON.parse(r.aliases) as Record<string, number>,
    }));
  }

  version(model: string, version: number): ModelVersion | undefined {
    const row = this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM model_versions v WHERE model = ? AND version = ?`).get(model, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  latestVersion(model: string): number | null {
    return (this.db.prepare(`SELECT max(version) AS v FROM model_versions WHERE model = ?`).get(model) as { v: number | null }).v;
  }

  versions(model: string, limit: number): ModelVersion[] {
    return (
      this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM model_versions v WHERE model = ? ORDER BY version DESC LIMIT ?`).all(model, limit) as VersionRow[]
    ).map(toVersion);
  }

  versionsOfRun(runId: number): ModelVersion[] {
    return (this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM model_versions v WHERE run_id = ? ORDER BY model, version`).all(runId) as VersionRow[]).map(toVersion);
  }

  aliasHolder(model: string, alias: string): number | null {
    const row = this.db.prepare(`SELECT version FROM model_aliases WHERE model = ? AND alias = ?`).get(model, alias) as { version: number } | undefined;
    return row?.version ?? null;
  }

  /**
   * Move an alias, deciding from its holder read inside the same immediate transaction, so that a
   * gate always compares against the version the alias really leaves. `decide` returns the version
   * to move to (and whether a gate was overridden), or null to leave the alias where it is.
   */
  moveAlias<T extends { toVersion: number | null; forced?: boolean }>(move: AliasMove, decide: (current: number | null) => T, nowMs: number): T & { event: AliasEvent | null } {
    return this.db
      .transaction(() => {
        const current = this.aliasHolder(move.model, move.alias);
        const decision = decide(current);
        if (decision.toVersion == null || decision.toVersion === current) return { ...decision, event: null };
        this.db
          .prepare(
            `INSERT INTO model_aliases (model, alias, version, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
          )
          .run(move.model, move.alias, decision.toVersion, nowMs);
        const result = this.db
          .prepare(`INSERT INTO alias_events (model, alias, from_version, to_version, actor, reason, forced, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(move.model, move.alias, current, decision.toVersion, move.actor, move.reason, Number(decision.forced ?? false), nowMs);
        const event = this.db.prepare(`SELECT * FROM alias_events WHERE id = ?`).get(result.lastInsertRowid) as EventRow;
        return { ...decision, event: toEvent(event) };
      })
      .immediate();
  }

  /** Newest first. */
  aliasEvents(model: string, alias: string | undefined, limit: number): AliasEvent[] {
    const rows = alias
      ? this.db.prepare(`SELECT * FROM alias_events WHERE model = ? AND alias = ? ORDER BY id DESC LIMIT ?`).all(model, alias, limit)
      : this.db.prepare(`SELECT * FROM alias_events WHERE model = ? ORDER BY id DESC LIMIT ?`).all(model, limit);
    return (rows as EventRow[]).map(toEvent);
  }

  /** Every alias move of any model between two moments, oldest first. */
  aliasEventsBetween(fromMs: number, toMs: number): AliasEvent[] {
    return (this.db.prepare(`SELECT * FROM alias_events WHERE at >= ? AND at <= ? ORDER BY id`).all(fromMs, toMs) as EventRow[]).map(toEvent);
  }

  /** Risk scores computed with this version, and the releases those scores gated. */
  uses(versionId: number, limit: number): VersionUse {
    const riskScores = this.db
      .prepare(
        `SELECT id, service, env, probability, level, created_at FROM risk_scores WHERE model_version_id = ? ORDER BY id DESC LIMIT ?`,
      )
      .all(versionId, limit) as Array<{ id: number; service: string | null; env: string | null; probability: number; level: string; created_at: number }>;
    const releases = this.db
      .prepare(
        `SELECT r.id, r.service, r.env, r.revision, r.status, r.created_at FROM releases r
         JOIN risk_scores s ON s.id = r.risk_score_id WHERE s.model_version_id = ? ORDER BY r.id DESC LIMIT ?`,
      )
      .all(versionId, limit) as Array<{ id: number; service: string; env: string; revision: number; status: string; created_at: number }>;
    return {
      riskScores: riskScores.map((s) => ({ id: s.id, service: s.service, env: s.env, probability: s.probability, level: s.level, createdAt: iso(s.created_at) })),
      releases: releases.map((r) => ({ id: r.id, service: r.service, env: r.env, revision: r.revision, status: r.status, createdAt: iso(r.created_at) })),
    };
  }
}
