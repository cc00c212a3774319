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

/** A version's columns and its aliases (comma-joined). */
const versionColumns = (db: Db) =>
  `v.*, (SELECT ${db.dialect.groupConcat('a.alias')} FROM model_aliases a WHERE a.model = v.model AND a.version = v.version) AS aliases`;

/** Models, versions, aliases with their append-only history, datasets, artifacts and lineage edges. */
export class ModelStore {
  private readonly versionColumns: string;

  constructor(private readonly db: Db) {
    this.versionColumns = versionColumns(db);
  }

  async recordArtifact(artifact: StoredArtifact, nowMs: number): Promise<void> {
    await this.db.run(
      `INSERT INTO artifacts (digest, size_bytes, media_type, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      artifact.digest,
      artifact.sizeBytes,
      artifact.mediaType,
      nowMs,
    );
  }

  /** A stored file tree and each file in it. */
  async recordTree(tree: StoredArtifact, files: Array<{ digest: string; sizeBytes: number }>, nowMs: number): Promise<void> {
    for (const file of files) await this.recordArtifact({ digest: file.digest, sizeBytes: file.sizeBytes, mediaType: null }, nowMs);
    await this.recordArtifact(tree, nowMs);
  }

  async attachToRun(runId: number, name: string, digest: string): Promise<void> {
    await this.db.run(
      `INSERT INTO run_artifacts (run_id, name, digest) VALUES (?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET digest = excluded.digest`,
      runId,
      name,
      digest,
    );
  }

  runArtifacts(runId: number): Promise<Array<{ name: string; digest: string; sizeBytes: number }>> {
    return this.db.all(
      `SELECT r.name, r.digest, a.size_bytes AS "sizeBytes" FROM run_artifacts r JOIN artifacts a USING (digest) WHERE r.run_id = ? ORDER BY r.name`,
      runId,
    );
  }

  /** A dataset read by a run: kept once per digest, linked to each run that used it. */
  recordDataset(dataset: StoredDataset, runId: number, nowMs: number): Promise<void> {
    return this.db.transaction(async () => {
      await this.db.run(
        `INSERT INTO datasets (digest, path, kind, size_bytes, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        dataset.digest,
        dataset.path,
        dataset.kind,
        dataset.sizeBytes,
        nowMs,
      );
      await this.addEdge('dataset', dataset.digest, 'run', String(runId), 'input', nowMs);
    });
  }

  async addEdge(srcType: string, srcId: string, dstType: string, dstId: string, relation: string, nowMs: number): Promise<void> {
    await this.db.run(
      `INSERT INTO lineage_edges (src_type, src_id, dst_type, dst_id, relation, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      srcType,
      srcId,
      dstType,
      dstId,
      relation,
      nowMs,
    );
  }

  async runDatasets(runId: number): Promise<Array<StoredDataset & { path: string }>> {
    return (
      await this.db.all<{ digest: string; path: string; kind: 'file' | 'dir'; size_bytes: number }>(
        // Without INDEXED BY SQLite's planner walks every dataset edge by the primary key's src_type prefix.
        `SELECT d.digest, d.path, d.kind, d.size_bytes FROM lineage_edges e ${this.db.dialect.indexedBy('lineage_dst')} JOIN datasets d ON d.digest = e.src_id
         WHERE e.dst_type = 'run' AND e.dst_id = ? AND e.src_type = 'dataset' ORDER BY d.path`,
        String(runId),
      )
    ).map((r) => ({ digest: r.digest, path: r.path, kind: r.kind, sizeBytes: r.size_bytes }));
  }

  /** Datasets whose digest starts with `prefix` (a full digest, or its first characters like a short git sha). */
  async datasetsByPrefix(prefix: string): Promise<StoredDataset[]> {
    const pattern = prefix.replace(/[%_\\]/g, (c) => `\\${c}`);
    return (
      await this.db.all<{ digest: string; path: string; kind: 'file' | 'dir'; size_bytes: number }>(
        `SELECT digest, path, kind, size_bytes FROM datasets WHERE digest LIKE ? ESCAPE '\\' OR digest LIKE ? ESCAPE '\\' LIMIT 20`,
        `${pattern}%`,
        `sha256:${pattern}%`,
      )
    ).map((r) => ({ digest: r.digest, path: r.path, kind: r.kind, sizeBytes: r.size_bytes }));
  }

  /** Versions trained on a dataset: dataset -> run -> version. */
  async versionsTrainedOn(digest: string): Promise<ModelVersion[]> {
    return (
      await this.db.all<VersionRow>(
        `SELECT ${this.versionColumns} FROM lineage_edges e JOIN model_versions v ON v.run_id = CAST(e.dst_id AS INTEGER)
         WHERE e.src_type = 'dataset' AND e.src_id = ? AND e.dst_type = 'run' ORDER BY v.model, v.version`,
        digest,
      )
    ).map(toVersion);
  }

  /** Version N+1 of the model, in one transaction locked on the model: parallel registrations never share a number. */
  register(entry: NewVersion, nowMs: number): Promise<ModelVersion> {
    return this.db.transaction(
      async () => {
        await this.db.run(`INSERT INTO models (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, entry.model, nowMs);
        const { next } = (await this.db.get<{ next: number }>(`SELECT coalesce(max(version), 0) + 1 AS next FROM model_versions WHERE model = ?`, entry.model))!;
        await this.db.run(
          `INSERT INTO model_versions (model, version, run_id, artifact_digest, params, metrics, actor, source, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
        return (await this.version(entry.model, next))!;
      },
      { lock: `model:${entry.model}` },
    );
  }

  async modelExists(name: string): Promise<boolean> {
    return (await this.db.get(`SELECT 1 AS found FROM models WHERE name = ?`, name)) !== undefined;
  }

  async modelNames(): Promise<string[]> {
    return (await this.db.all<{ name: string }>(`SELECT name FROM models ORDER BY name`)).map((r) => r.name);
  }

  async list(): Promise<ModelSummary[]> {
    const rows = await this.db.all<{ name: string; created_at: number; versions: number; latest: number | null; latest_at: number | null; aliases: string }>(
      `SELECT m.name, m.created_at,
              (SELECT count(*) FROM model_versions v WHERE v.model = m.name) AS versions,
              (SELECT max(version) FROM model_versions v WHERE v.model = m.name) AS latest,
              (SELECT max(created_at) FROM model_versions v WHERE v.model = m.name) AS latest_at,
              (SELECT ${this.db.dialect.jsonObjectAgg('alias', 'version')} FROM model_aliases a WHERE a.model = m.name) AS aliases
       FROM models m ORDER BY m.name`,
    );
    return rows.map((r) => ({
      name: r.name,
      createdAt: iso(r.created_at),
      versions: r.versions,
      latestVersion: r.latest,
      latestAt: r.latest_at == null ? null : iso(r.latest_at),
      aliases: JSON.parse(r.aliases) as Record<string, number>,
    }));
  }

  async version(model: string, version: number): Promise<ModelVersion | undefined> {
    const row = await this.db.get<VersionRow>(`SELECT ${this.versionColumns} FROM model_versions v WHERE model = ? AND version = ?`, model, version);
    return row && toVersion(row);
  }

  async latestVersion(model: string): Promise<number | null> {
    return (await this.db.get<{ v: number | null }>(`SELECT max(version) AS v FROM model_versions WHERE model = ?`, model))!.v;
  }

  async versions(model: string, limit: number): Promise<ModelVersion[]> {
    return (await this.db.all<VersionRow>(`SELECT ${this.versionColumns} FROM model_versions v WHERE model = ? ORDER BY version DESC LIMIT ?`, model, limit)).map(
      toVersion,
    );
  }

  async versionsOfRun(runId: number): Promise<ModelVersion[]> {
    return (await this.db.all<VersionRow>(`SELECT ${this.versionColumns} FROM model_versions v WHERE run_id = ? ORDER BY model, version`, runId)).map(toVersion);
  }

  async aliasHolder(model: string, alias: string): Promise<number | null> {
    const row = await this.db.get<{ version: number }>(`SELECT version FROM model_aliases WHERE model = ? AND alias = ?`, model, alias);
    return row?.version ?? null;
  }

  /**
   * Move an alias, deciding from its holder read inside the same transaction (locked on the alias),
   * so that a gate always compares against the version the alias really leaves. `decide` returns the
   * version to move to (and whether a gate was overridden), or null to leave the alias where it is.
   */
  moveAlias<T extends { toVersion: number | null; forced?: boolean }>(
    move: AliasMove,
    decide: (current: number | null) => T | Promise<T>,
    nowMs: number,
  ): Promise<T & { event: AliasEvent | null }> {
    return this.db.transaction(
      async () => {
        const current = await this.aliasHolder(move.model, move.alias);
        const decision = await decide(current);
        if (decision.toVersion == null || decision.toVersion === current) return { ...decision, event: null };
        await this.db.run(
          `INSERT INTO model_aliases (model, alias, version, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
          move.model,
          move.alias,
          decision.toVersion,
          nowMs,
        );
        const event = await this.db.get<EventRow>(
          `INSERT INTO alias_events (model, alias, from_version, to_version, actor, reason, forced, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          move.model,
          move.alias,
          current,
          decision.toVersion,
          move.actor,
          move.reason,
          Number(decision.forced ?? false),
          nowMs,
        );
        return { ...decision, event: toEvent(event!) };
      },
      { lock: `alias:${move.model}/${move.alias}` },
    );
  }

  /** Newest first. */
  async aliasEvents(model: string, alias: string | undefined, limit: number): Promise<AliasEvent[]> {
    const rows = alias
      ? await this.db.all<EventRow>(`SELECT * FROM alias_events WHERE model = ? AND alias = ? ORDER BY id DESC LIMIT ?`, model, alias, limit)
      : await this.db.all<EventRow>(`SELECT * FROM alias_events WHERE model = ? ORDER BY id DESC LIMIT ?`, model, limit);
    return rows.map(toEvent);
  }

  /** Every alias move of any model between two moments, oldest first. */
  async aliasEventsBetween(fromMs: number, toMs: number): Promise<AliasEvent[]> {
    return (await this.db.all<EventRow>(`SELECT * FROM alias_events WHERE at >= ? AND at <= ? ORDER BY id`, fromMs, toMs)).map(toEvent);
  }

  /** Risk scores computed with this version, and the releases those scores gated. */
  async uses(versionId: number, limit: number): Promise<VersionUse> {
    const riskScores = await this.db.all<{ id: number; service: string | null; env: string | null; probability: number; level: string; created_at: number }>(
      `SELECT id, service, env, probability, level, created_at FROM risk_scores WHERE model_version_id = ? ORDER BY id DESC LIMIT ?`,
      versionId,
      limit,
    );
    const releases = await this.db.all<{ id: number; service: string; env: string; revision: number; status: string; created_at: number }>(
      `SELECT r.id, r.service, r.env, r.revision, r.status, r.created_at FROM releases r
       JOIN risk_scores s ON s.id = r.risk_score_id WHERE s.model_version_id = ? ORDER BY r.id DESC LIMIT ?`,
      versionId,
      limit,
    );
    return {
      riskScores: riskScores.map((s) => ({ id: s.id, service: s.service, env: s.env, probability: s.probability, level: s.level, createdAt: iso(s.created_at) })),
      releases: releases.map((r) => ({ id: r.id, service: r.service, env: r.env, revision: r.revision, status: r.status, createdAt: iso(r.created_at) })),
    };
  }
}
