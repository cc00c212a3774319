import type { Db } from './db.js';

export type ReleaseStatus = 'pending' | 'deployed' | 'superseded' | 'failed' | 'rolled_back';

/** What the risk gate concluded: a score, or why there was none. */
export interface RiskVerdict {
  status: 'scored' | 'not scored';
  probability?: number;
  level?: string;
  reason?: string;
  accepted?: string;
  /** The stored risk score and the model version that computed it. */
  scoreId?: number;
  model?: string;
}

export interface NewRelease {
  runId: number | null;
  service: string;
  env: string;
  target: string;
  image: string;
  digest: string | null;
  configHash: string;
  gitSha: string | null;
  actor: string;
  description: string;
  rollbackTo: number | null;
  risk: RiskVerdict;
  riskScoreId: number | null;
}

export interface Release extends Omit<NewRelease, 'riskScoreId'> {
  id: number;
  revision: number;
  status: ReleaseStatus;
  error: string | null;
  details: Record<string, unknown> | null;
  createdAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

interface ReleaseRow {
  id: number;
  run_id: number | null;
  service: string;
  env: string;
  revision: number;
  target: string | null;
  image: string;
  digest: string | null;
  config_hash: string | null;
  git_sha: string | null;
  actor: string;
  status: ReleaseStatus;
  description: string | null;
  rollback_to: number | null;
  risk: string | null;
  error: string | null;
  details: string | null;
  created_at: number;
  finished_at: number | null;
  duration_ms: number | null;
}

/**
 * Releases that went live: deployed (now or until replaced). A release the target undid during its
 * own rollout is rolled_back with an error; one undone later by a rollback release has none.
 */
const WENT_LIVE = `(status IN ('deployed', 'superseded') OR (status = 'rolled_back' AND error IS NULL))`;

function toRelease(row: ReleaseRow): Release {
  return {
    id: row.id,
    runId: row.run_id,
    service: row.service,
    env: row.env,
    revision: row.revision,
    target: row.target ?? 'docker',
    image: row.image,
    digest: row.digest,
    configHash: row.config_hash ?? '',
    gitSha: row.git_sha,
    actor: row.actor,
    status: row.status,
    description: row.description ?? '',
    rollbackTo: row.rollback_to,
    risk: row.risk ? (JSON.parse(row.risk) as RiskVerdict) : { status: 'not scored' },
    error: row.error,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
    createdAt: new Date(row.created_at).toISOString(),
    finishedAt: row.finished_at == null ? null : new Date(row.finished_at).toISOString(),
    durationMs: row.duration_ms,
  };
}

export class ReleaseStore {
  constructor(private readonly db: Db) {}

  /** Record a pending release with the next revision number (read and write in one transaction locked on the service/env). */
  async create(release: NewRelease, nowMs: number): Promise<Release> {
    const id = await this.db.transaction(
      async () => {
        const { next } = (await this.db.get<{ next: number }>(
          `SELECT coalesce(max(revision), 0) + 1 AS next FROM releases WHERE service = ? AND env = ?`,
          release.service,
          release.env,
        ))!;
        const row = await this.db.get<{ id: number }>(
          `INSERT INTO releases (run_id, service, env, revision, target, image, digest, config_hash, git_sha, actor, status,
                                 description, rollback_to, risk, risk_score_id, accepted_risk, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?) RETURNING id`,
          release.runId,
          release.service,
          release.env,
          next,
          release.target,
          release.image,
          release.digest,
          release.configHash,
          release.gitSha,
          release.actor,
          release.description,
          release.rollbackTo,
          JSON.stringify(release.risk),
          release.riskScoreId,
          release.risk.accepted ?? null,
          nowMs,
        );
        return row!.id;
      },
      { lock: `release:${release.service}/${release.env}` },
    );
    return (await this.byId(id))!;
  }

  /**
   * Settle a pending release. A deployed one replaces the release that was live before it, which
   * becomes `replacedAs`: superseded, or rolled_back when this release undoes it.
   */
  async finish(
    id: number,
    outcome: { status: 'deployed' | 'failed' | 'rolled_back'; error?: string; details?: Record<string, unknown>; replacedAs?: 'superseded' | 'rolled_back' },
    nowMs: number,
  ): Promise<Release> {
    const release = (await this.byId(id))!;
    await this.db.transaction(
      async () => {
        if (outcome.status === 'deployed') {
          await this.db.run(
            `UPDATE releases SET status = ? WHERE service = ? AND env = ? AND status = 'deployed' AND id != ?`,
            outcome.replacedAs ?? 'superseded',
            release.service,
            release.env,
            id,
          );
        }
        await this.db.run(
          `UPDATE releases SET status = ?, error = ?, details = coalesce(?, details), finished_at = ?, duration_ms = ? - created_at
           WHERE id = ?`,
          outcome.status,
          outcome.error ?? null,
          outcome.details ? JSON.stringify(outcome.details) : null,
          nowMs,
          nowMs,
          id,
        );
      },
      { lock: `release:${release.service}/${release.env}` },
    );
    return (await this.byId(id))!;
  }

  /** Pending releases left by a deploy that died: call while holding the deploy lock. */
  failAbandoned(service: string, env: string, nowMs: number): Promise<number> {
    return this.db.run(
      `UPDATE releases SET status = 'failed', error = 'abandoned: the deploy that made it stopped before it finished', finished_at = ?
       WHERE service = ? AND env = ? AND status = 'pending'`,
      nowMs,
      service,
      env,
    );
  }

  async byId(id: number): Promise<Release | undefined> {
    const row = await this.db.get<ReleaseRow>(`SELECT * FROM releases WHERE id = ?`, id);
    return row && toRelease(row);
  }

  async get(service: string, env: string, revision: number): Promise<Release | undefined> {
    const row = await this.db.get<ReleaseRow>(`SELECT * FROM releases WHERE service = ? AND env = ? AND revision = ?`, service, env, revision);
    return row && toRelease(row);
  }

  /** The release live now: the newest deployed one. */
  async current(service: string, env: string): Promise<Release | undefined> {
    const row = await this.db.get<ReleaseRow>(
      `SELECT * FROM releases WHERE service = ? AND env = ? AND status = 'deployed' ORDER BY revision DESC LIMIT 1`,
      service,
      env,
    );
    return row && toRelease(row);
  }

  /** The newest release before `revision` that was live once: the one it replaced (for "changes since"). */
  async previousLive(service: string, env: string, revision: number): Promise<Release | undefined> {
    const row = await this.db.get<ReleaseRow>(
      `SELECT * FROM releases WHERE service = ? AND env = ? AND revision < ? AND ${WENT_LIVE} ORDER BY revision DESC LIMIT 1`,
      service,
      env,
      revision,
    );
    return row && toRelease(row);
  }

  /**
   * The target of a rollback from `revision`: the newest earlier release that was healthy (live, then
   * replaced in the ordinary way), never one rolled back, failed or named an incident's cause, and
   * not `image` itself (rolling back to the image that runs changes nothing).
   */
  async lastHealthyBefore(service: string, env: string, revision: number, image: string): Promise<Release | undefined> {
    const row = await this.db.get<ReleaseRow>(
      `SELECT * FROM releases r WHERE service = ? AND env = ? AND revision < ? AND status = 'superseded' AND image != ?
         AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id)
       ORDER BY revision DESC LIMIT 1`,
      service,
      env,
      revision,
      image,
    );
    return row && toRelease(row);
  }

  /**
   * What ran at a moment, per service: the release live then (the newest to go live before it), and
   * any whose rollout was under way then. A release replaced before the moment is not among them.
   */
  async runningAt(services: string[], env: string, atMs: number): Promise<Release[]> {
    const rows: ReleaseRow[] = [];
    for (const service of services) {
      rows.push(
        ...(await this.db.all<ReleaseRow>(
          `SELECT * FROM releases WHERE service = ? AND env = ? AND ${WENT_LIVE} AND finished_at <= ? ORDER BY finished_at DESC, revision DESC LIMIT 1`,
          service,
          env,
          atMs,
        )),
        ...(await this.db.all<ReleaseRow>(
          `SELECT * FROM releases WHERE service = ? AND env = ? AND created_at <= ? AND (finished_at IS NULL OR finished_at > ?) ORDER BY revision`,
          service,
          env,
          atMs,
          atMs,
        )),
      );
    }
    return rows.map(toRelease);
  }

  async history(service: string, env: string, limit: number): Promise<Release[]> {
    return (await this.db.all<ReleaseRow>(`SELECT * FROM releases WHERE service = ? AND env = ? ORDER BY revision DESC LIMIT ?`, service, env, limit)).map(
      toRelease,
    );
  }
}
