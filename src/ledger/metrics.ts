import type { Db } from './db.js';

/** A finished release as the four keys read it. */
export interface ReleaseFact {
  id: number;
  service: string;
  env: string;
  revision: number;
  status: 'pending' | 'deployed' | 'superseded' | 'failed' | 'rolled_back';
  /** Set when the deploy itself failed (a rolled_back release without one was live until a rollback replaced it). */
  error: string | null;
  /** A rollback release: it restores an earlier revision and delivers no change. */
  rollbackTo: number | null;
  createdAt: number;
  finishedAt: number | null;
  /** An incident names it as its cause. */
  causedIncident: boolean;
  /** For a failed release: when the next release of its service and environment that went live finished. */
  nextLiveAt: number | null;
  /** The risk gate's probability, when it was scored. */
  risk: number | null;
}

/** A commit a release carried that no earlier live release of its service and environment had. */
export interface ChangeFact {
  releaseId: number;
  sha: string;
  authoredAt: number;
}

export interface IncidentFact {
  id: number;
  service: string;
  env: string;
  beganAt: number;
  resolvedAt: number | null;
  causeRelease: number | null;
}

export interface FactFilter {
  envs: string[];
  service?: string;
  fromMs: number;
  toMs: number;
}

export interface ReleaseSummary {
  id: number;
  service: string;
  env: string;
  revision: number;
  status: ReleaseFact['status'];
  description: string;
  image: string;
  gitSha: string | null;
  rollbackTo: number | null;
  finishedAt: number | null;
}

export interface IncidentSummary {
  id: number;
  service: string;
  env: string;
  title: string;
  state: string;
  severity: string;
  beganAt: number;
  resolvedAt: number | null;
  cause: string | null;
  causeRelease: number | null;
}

export interface TriageSummary {
  id: number;
  incidentId: number;
  incidentTitle: string;
  actor: string;
  createdAt: number;
  hypotheses: unknown;
}

/** Went live: healthy once, whatever replaced it later (a rolled_back release without an error was replaced by a rollback). */
export const LIVE = `(%.status IN ('deployed', 'superseded') OR (%.status = 'rolled_back' AND %.error IS NULL))`;
const live = (alias: string) => LIVE.replaceAll('%', alias);

/** What delivery metrics read: releases, the commits they carried, incidents, over a window. */
export class MetricsStore {
  constructor(private readonly db: Db) {}

  /** Every environment the ledger has releases or incidents in. */
  async environments(): Promise<string[]> {
    return ((await this.db.all(`SELECT env FROM releases UNION SELECT env FROM incidents WHERE env IS NOT NULL ORDER BY 1`)) as Array<{ env: string }>).map((r) => r.env);
  }

  private where(filter: FactFilter, alias: string, column: string): { sql: string; params: unknown[] } {
    const marks = filter.envs.map(() => '?').join(', ');
    const params: unknown[] = [...filter.envs];
    let sql = `${alias}.env IN (${marks}) AND ${column} >= ? AND ${column} < ?`;
    params.push(filter.fromMs, filter.toMs);
    if (filter.service) {
      sql += ` AND ${alias}.service = ?`;
      params.push(filter.service);
    }
    return { sql, params };
  }

  /** Releases finished in the window, with whether an incident names them and, for failures, when service was restored. */
  async releases(filter: FactFilter): Promise<ReleaseFact[]> {
    if (filter.envs.length === 0) return [];
    const { sql, params } = this.where(filter, 'r', 'r.finished_at');
    const rows = (await this.db.all(`SELECT r.id, r.service, r.env, r.revision, r.status, r.error, r.rollback_to AS "rollbackTo", r.created_at AS "createdAt",
                r.finished_at AS "finishedAt", s.probability AS risk,
                CASE WHEN EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id) THEN 1 ELSE 0 END AS "causedIncident",
                CASE WHEN r.status IN ('failed', 'rolled_back') OR EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id)
                  THEN (SELECT min(n.finished_at) FROM releases n WHERE n.service = r.service AND n.env = r.env AND n.revision > r.revision AND ${live('n')})
                END AS "nextLiveAt"
         FROM releases r LEFT JOIN risk_scores s ON s.id = r.risk_score_id
         WHERE ${sql}`, ...params)) as Array<Omit<ReleaseFact, 'causedIncident'> & { causedIncident: number }>;
    return rows.map((r) => ({ ...r, causedIncident: r.causedIncident === 1 }));
  }

  /** The commits of the releases finished in the window. */
  async changes(filter: FactFilter): Promise<ChangeFact[]> {
    if (filter.envs.length === 0) return [];
    const { sql, params } = this.where(filter, 'r', 'r.finished_at');
    return (await this.db.all(`SELECT c.release_id AS "releaseId", c.sha, c.authored_at AS "authoredAt" FROM release_changes c JOIN releases r ON r.id = c.release_id WHERE ${sql}`, ...params)) as ChangeFact[];
  }

  /** Incidents that began in the window. */
  async incidents(filter: FactFilter): Promise<IncidentFact[]> {
    if (filter.envs.length === 0) return [];
    const { sql, params } = this.where(filter, 'i', 'coalesce(i.began_at, i.opened_at)');
    return (await this.db.all(`SELECT i.id, i.service, i.env, coalesce(i.began_at, i.opened_at) AS "beganAt", i.resolved_at AS "resolvedAt", i.cause_release AS "causeRelease"
         FROM incidents i WHERE ${sql}`, ...params)) as IncidentFact[];
  }

  /** The commits of the releases of a service and environment that went live before `revision`. */
  async liveShas(service: string, env: string, revision: number): Promise<string[]> {
    return (
      (await this.db.all(`SELECT DISTINCT r.git_sha AS sha FROM releases r WHERE r.service = ? AND r.env = ? AND r.revision < ? AND r.git_sha IS NOT NULL AND ${live('r')}`, service, env, revision)) as Array<{ sha: string }>
    ).map((r) => r.sha);
  }

  async recordChanges(releaseId: number, commits: Array<{ sha: string; authoredAt: number }>): Promise<void> {
    await this.db.transaction(async () => {
      for (const c of commits) await this.db.run(`INSERT INTO release_changes (release_id, sha, authored_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, releaseId, c.sha, c.authoredAt);
    });
  }

  /** Newest first. */
  async changesOf(releaseId: number): Promise<Array<{ sha: string; authoredAt: number }>> {
    return (await this.db.all(`SELECT sha, authored_at AS "authoredAt" FROM release_changes WHERE release_id = ? ORDER BY authored_at DESC, sha`, releaseId)) as Array<{
      sha: string;
      authoredAt: number;
    }>;
  }

  /** The newest releases finished in the window. */
  async recentReleases(filter: FactFilter, limit: number): Promise<ReleaseSummary[]> {
    if (filter.envs.length === 0) return [];
    const { sql, params } = this.where(filter, 'r', 'r.finished_at');
    return (await this.db.all(`SELECT r.id, r.service, r.env, r.revision, r.status, coalesce(r.description, '') AS description, r.image, r.git_sha AS "gitSha",
                r.rollback_to AS "rollbackTo", r.finished_at AS "finishedAt"
         FROM releases r WHERE ${sql} ORDER BY r.finished_at DESC, r.id DESC LIMIT ?`, ...params, limit)) as ReleaseSummary[];
  }

  /** The newest incidents that began in the window. */
  async recentIncidents(filter: FactFilter, limit: number): Promise<IncidentSummary[]> {
    if (filter.envs.length === 0) return [];
    const { sql, params } = this.where(filter, 'i', 'coalesce(i.began_at, i.opened_at)');
    return (await this.db.all(`SELECT i.id, i.service, i.env, i.title, i.state, coalesce(i.severity, 'warning') AS severity, coalesce(i.began_at, i.opened_at) AS "beganAt",
                i.resolved_at AS "resolvedAt", i.cause, i.cause_release AS "causeRelease"
         FROM incidents i WHERE ${sql} ORDER BY "beganAt" DESC, i.id DESC LIMIT ?`, ...params, limit)) as IncidentSummary[];
  }

  /** For each release, the incidents that name it their cause or suspect it first. */
  async incidentsOfReleases(releaseIds: number[]): Promise<Map<number, number[]>> {
    const found = new Map<number, number[]>();
    if (releaseIds.length === 0) return found;
    const marks = releaseIds.map(() => '?').join(', ');
    const rows = (await this.db.all(`SELECT cause_release AS "releaseId", id AS "incidentId" FROM incidents WHERE cause_release IN (${marks})
         UNION SELECT release_id, incident_id FROM incident_suspects WHERE rank = 1 AND release_id IN (${marks})
         ORDER BY 1, 2`, ...releaseIds, ...releaseIds)) as Array<{ releaseId: number; incidentId: number }>;
    for (const row of rows) found.set(row.releaseId, [...(found.get(row.releaseId) ?? []), row.incidentId]);
    return found;
  }

  /** Each incident's suspected releases, best first. */
  async suspectsOf(incidentIds: number[]): Promise<Map<number, number[]>> {
    const found = new Map<number, number[]>();
    if (incidentIds.length === 0) return found;
    const rows = (await this.db.all(`SELECT incident_id AS "incidentId", release_id AS "releaseId" FROM incident_suspects WHERE incident_id IN (${incidentIds.map(() => '?').join(', ')}) ORDER BY incident_id, rank`, ...incidentIds)) as Array<{ incidentId: number; releaseId: number }>;
    for (const row of rows) found.set(row.incidentId, [...(found.get(row.incidentId) ?? []), row.releaseId]);
    return found;
  }

  /** The newest triage report of each incident of the environments, newest first. */
  async latestTriage(envs: string[], service: string | undefined, limit: number): Promise<TriageSummary[]> {
    if (envs.length === 0) return [];
    const rows = (await this.db.all(`SELECT t.id, t.incident_id AS "incidentId", i.title AS "incidentTitle", t.actor, t.created_at AS "createdAt", t.hypotheses
         FROM triage_reports t JOIN incidents i ON i.id = t.incident_id
         WHERE i.env IN (${envs.map(() => '?').join(', ')})${service ? ' AND i.service = ?' : ''}
           AND t.id = (SELECT max(l.id) FROM triage_reports l WHERE l.incident_id = t.incident_id)
         ORDER BY t.id DESC LIMIT ?`, ...envs, ...(service ? [service] : []), limit)) as Array<Omit<TriageSummary, 'hypotheses'> & { hypotheses: string }>;
    return rows.map((r) => ({ ...r, hypotheses: JSON.parse(r.hypotheses) as unknown }));
  }

  /** A risk score with the model version that computed it. */
  async riskScore(id: number): Promise<{ id: number; probability: number; level: string; reasons: string[]; commitRange: string | null; model: string | null; version: number | null } | undefined> {
    const row = (await this.db.get(`SELECT s.id, s.probability, s.level, s.reasons, s.commit_range AS "commitRange", v.model, v.version
         FROM risk_scores s LEFT JOIN model_versions v ON v.id = s.model_version_id WHERE s.id = ?`, id)) as { id: number; probability: number; level: string; reasons: string; commitRange: string | null; model: string | null; version: number | null } | undefined;
    return row && { ...row, reasons: JSON.parse(row.reasons) as string[] };
  }

  /** The newest build that tagged this image reference. */
  async buildOfImage(image: string): Promise<{ id: number; runId: number; service: string; status: string; gitSha: string | null; imageId: string | null; createdAt: number } | undefined> {
    const pattern = `%${JSON.stringify(image).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return (await this.db.get(`SELECT id, run_id AS "runId", service, status, git_sha AS "gitSha", image_id AS "imageId", created_at AS "createdAt"
         FROM builds WHERE tags LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT 1`, pattern)) as { id: number; runId: number; service: string; status: string; gitSha: string | null; imageId: string | null; createdAt: number } | undefined;
  }

  /** The releases a (deploy) run made. */
  async releasesOfRun(runId: number): Promise<ReleaseSummary[]> {
    return (await this.db.all(`SELECT r.id, r.service, r.env, r.revision, r.status, coalesce(r.description, '') AS description, r.image, r.git_sha AS "gitSha",
                r.rollback_to AS "rollbackTo", r.finished_at AS "finishedAt"
         FROM releases r WHERE r.run_id = ? ORDER BY r.id`, runId)) as ReleaseSummary[];
  }

  /**
   * Changes whenever another connection commits a write: what an open `ops ui` page polls. SQLite's
   * data_version; on PostgreSQL the server's WAL insert position (any write moves it).
   */
  async dataVersion(): Promise<string> {
    if (this.db.dialect.name === 'postgres') return (await this.db.get<{ v: string }>(`SELECT pg_current_wal_insert_lsn()::text AS v`))!.v;
    return String((await this.db.get<{ data_version: number }>(`PRAGMA data_version`))!.data_version);
  }
}
