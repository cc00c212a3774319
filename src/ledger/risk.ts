import type { Db } from './db.js';

export interface StoredCommit {
  sha: string;
  seq: number;
  at: number;
  author: string;
  subject: string;
  features: number[];
}

export interface CommitLabel {
  sha: string;
  source: string;
  evidence: string;
}

export interface NewRiskScore {
  service: string | null;
  env: string | null;
  commitRange: string;
  probability: number;
  level: string;
  reasons: string[];
  modelVersionId: number | null;
  details: Record<string, unknown>;
}

/** Mined commit features, mining progress, commit labels and risk scores. */
export class RiskStore {
  constructor(private readonly db: Db) {}

  miningState(repo: string): { head: string | null; state: string } | undefined {
    return this.db.prepare(`SELECT head, state FROM mining_state WHERE repo = ?`).get(repo) as { head: string | null; state: string } | undefined;
  }

  /** New commits and the state after them, in one transaction: a crash never leaves them apart. */
  saveMined(repo: string, commits: StoredCommit[], head: string, state: string, reset: boolean, nowMs: number): void {
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO commit_features (repo, sha, seq, at, author, subject, features) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db
      .transaction(() => {
        if (reset) this.db.prepare(`DELETE FROM commit_features WHERE repo = ?`).run(repo);
        for (const c of commits) insert.run(repo, c.sha, c.seq, c.at, c.author, c.subject, JSON.stringify(c.features));
        this.db
          .prepare(
            `INSERT INTO mining_state (repo, head, state, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (repo) DO UPDATE SET head = excluded.head, state = excluded.state, updated_at = excluded.updated_at`,
          )
          .run(repo, head, state, nowMs);
      })
      .immediate();
  }

  /** Every mined commit of the repository, oldest first. */
  commits(repo: string): StoredCommit[] {
    return (
      this.db.prepare(`SELECT sha, seq, at, author, subject, features FROM commit_features WHERE repo = ? ORDER BY at, seq`).all(repo) as Array<
        Omit<StoredCommit, 'features'> & { features: string }
      >
    ).map((r) => ({ ...r, features: JSON.parse(r.features) as number[] }));
  }

  commitsBySha(repo: string, shas: string[]): StoredCommit[] {
    const get = this.db.prepare(`SELECT sha, seq, at, author, subject, features FROM commit_features WHERE repo = ? AND sha = ?`);
    const found: StoredCommit[] = [];
    for (const sha of shas) {
      const row = get.get(repo, sha) as (Omit<StoredCommit, 'features'> & { features: string }) | undefined;
      if (row) found.push({ ...row, features: JSON.parse(row.features) as number[] });
    }
    return found;
  }

  processedFixes(repo: string): Set<string> {
    return new Set((this.db.prepare(`SELECT sha FROM szz_fixes WHERE repo = ?`).all(repo) as Array<{ sha: string }>).map((r) => r.sha));
  }

  /** Labels found for a batch of fixes, with the fixes marked done, in one transaction. */
  saveSzz(repo: string, fixes: string[], labels: CommitLabel[], nowMs: number): void {
    this.db
      .transaction(() => {
        const fix = this.db.prepare(`INSERT OR IGNORE INTO szz_fixes (repo, sha) VALUES (?, ?)`);
        for (const sha of fixes) fix.run(repo, sha);
        this.addLabels(repo, labels, nowMs);
      })
      .immediate();
  }

  addLabels(repo: string, labels: CommitLabel[], nowMs: number): void {
    const insert = this.db.prepare(`INSERT OR IGNORE INTO commit_labels (repo, sha, source, evidence, at) VALUES (?, ?, ?, ?, ?)`);
    for (const label of labels) insert.run(repo, label.sha, label.source, label.evidence, nowMs);
  }

  labels(repo: string): CommitLabel[] {
    return this.db.prepare(`SELECT sha, source, evidence FROM commit_labels WHERE repo = ? ORDER BY sha, source`).all(repo) as CommitLabel[];
  }

  recordScore(score: NewRiskScore, runId: number | null, nowMs: number): number {
    const result = this.db
      .prepare(
        `INSERT INTO risk_scores (run_id, service, env, commit_range, probability, level, reasons, model_version_id, created_at, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(runId, score.service, score.env, score.commitRange, score.probability, score.level, JSON.stringify(score.reasons), score.modelVersionId, nowMs, JSON.stringify(score.details));
    return Number(result.lastInsertRowid);
  }

  score(id: number): { id: number; probability: number; level: string; reasons: string[]; commitRange: string } | undefined {
    const row = this.db.prepare(`SELECT id, probability, level, reasons, commit_range AS commitRange FROM risk_scores WHERE id = ?`).get(id) as
      | { id: number; probability: number; level: string; reasons: string; commitRange: string }
      | undefined;
    return row && { ...row, reasons: JSON.parse(row.reasons) as string[] };
  }

  /**
   * Releases with a known commit that failed, were rolled back, or were named the cause of an incident
   * (`ops incident resolve --cause release:<id>`), each with the commit of the release it replaced.
   */
  failedReleases(): Array<{ id: number; service: string; env: string; revision: number; sha: string; status: string; previousSha: string | null }> {
    return this.db
      .prepare(
        `SELECT r.id, r.service, r.env, r.revision, r.git_sha AS sha,
                coalesce((SELECT 'named the cause of incident #' || min(i.id) FROM incidents i WHERE i.cause_release = r.id), r.status) AS status,
                (SELECT p.git_sha FROM releases p WHERE p.service = r.service AND p.env = r.env AND p.revision < r.revision
                   AND p.status IN ('deployed', 'superseded') AND p.git_sha IS NOT NULL ORDER BY p.revision DESC LIMIT 1) AS previousSha
         FROM releases r
         WHERE (r.status IN ('failed', 'rolled_back') OR EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id)) AND r.git_sha IS NOT NULL
         ORDER BY r.id`,
      )
      .all() as Array<{ id: number; service: string; env: string; revision: number; sha: string; status: string; previousSha: string | null }>;
  }

  /**
   * Finished releases that were risk-scored with deploy features, oldest first: the ledger's own
   * outcomes (failed, rolled back or named an incident's cause, or not) for the deploy-level model.
   */
  scoredReleases(): Array<{ failed: boolean; createdAt: number; features: number[] }> {
    const rows = this.db
      .prepare(
        `SELECT CASE WHEN EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id) THEN 'failed' ELSE r.status END AS status,
                r.created_at AS createdAt, s.details FROM releases r JOIN risk_scores s ON s.id = r.risk_score_id
         WHERE r.status IN ('deployed', 'superseded', 'failed', 'rolled_back') ORDER BY r.created_at, r.id`,
      )
      .all() as Array<{ status: string; createdAt: number; details: string | null }>;
    return rows.flatMap((row) => {
      const features = (JSON.parse(row.details ?? '{}') as { deployFeatures?: number[] }).deployFeatures;
      return features ? [{ failed: row.status === 'failed' || row.status === 'rolled_back', createdAt: row.createdAt, features }] : [];
    });
  }
}
