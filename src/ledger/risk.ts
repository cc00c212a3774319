import type { Db } from './db.js';

export interface StoredCommit {
  sha: string;
  seq: number;
  at: number;
  author: string;
  subject: string;
  features: number[];
  /** fix, revert, bot, release, merge or other, and the rule that decided it. */
  kind: string;
  reason: string;
  /** A revert's target, a fix's issue references. */
  details: { reverts?: string; revertsSubject?: string; references?: string[] } | null;
}

export interface CommitLabel {
  sha: string;
  source: string;
  evidence: string;
  /** When it was stored (ms); set on labels read back. */
  at?: number;
}

/** What SZZ made of one fix (or revert), kept with it. */
export interface FixOutcome {
  sha: string;
  outcome: Record<string, unknown>;
}

type CommitRow = Omit<StoredCommit, 'features' | 'details'> & { features: string; details: string | null };
const COMMIT_COLUMNS = `sha, seq, at, author, subject, features, kind, coalesce(reason, '') AS reason, details`;
const toCommit = (r: CommitRow): StoredCommit => ({ ...r, features: JSON.parse(r.features) as number[], details: r.details ? (JSON.parse(r.details) as StoredCommit['details']) : null });

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

  miningState(repo: string): Promise<{ head: string | null; state: string } | undefined> {
    return this.db.get<{ head: string | null; state: string }>(`SELECT head, state FROM mining_state WHERE repo = ?`, repo);
  }

  /** New commits and the state after them, in one transaction: a crash never leaves them apart. */
  saveMined(repo: string, commits: StoredCommit[], head: string, state: string, reset: boolean, nowMs: number): Promise<void> {
    return this.db.transaction(
      async () => {
        if (reset) {
          // Mined again from the start (history rewritten, other fix rules): SZZ starts over too.
          await this.db.run(`DELETE FROM commit_features WHERE repo = ?`, repo);
          await this.db.run(`DELETE FROM szz_fixes WHERE repo = ?`, repo);
          await this.db.run(`DELETE FROM commit_labels WHERE repo = ? AND source IN ('szz', 'revert')`, repo);
        }
        for (const c of commits) {
          await this.db.run(
            `INSERT INTO commit_features (repo, sha, seq, at, author, subject, features, kind, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (repo, sha) DO UPDATE SET seq = excluded.seq, at = excluded.at, author = excluded.author,
               subject = excluded.subject, features = excluded.features, kind = excluded.kind, reason = excluded.reason, details = excluded.details`,
            repo,
            c.sha,
            c.seq,
            c.at,
            c.author,
            c.subject,
            JSON.stringify(c.features),
            c.kind,
            c.reason,
            c.details && JSON.stringify(c.details),
          );
        }
        await this.db.run(
          `INSERT INTO mining_state (repo, head, state, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (repo) DO UPDATE SET head = excluded.head, state = excluded.state, updated_at = excluded.updated_at`,
          repo,
          head,
          state,
          nowMs,
        );
      },
      { lock: `mining:${repo}` },
    );
  }

  /** Every mined commit of the repository, oldest first. */
  async commits(repo: string): Promise<StoredCommit[]> {
    return (await this.db.all<CommitRow>(`SELECT ${COMMIT_COLUMNS} FROM commit_features WHERE repo = ? ORDER BY at, seq`, repo)).map(toCommit);
  }

  async commitsBySha(repo: string, shas: string[]): Promise<StoredCommit[]> {
    const found: StoredCommit[] = [];
    for (const sha of shas) {
      const row = await this.db.get<CommitRow>(`SELECT ${COMMIT_COLUMNS} FROM commit_features WHERE repo = ? AND sha = ?`, repo, sha);
      if (row) found.push(toCommit(row));
    }
    return found;
  }

  async processedFixes(repo: string): Promise<Set<string>> {
    return new Set((await this.db.all<{ sha: string }>(`SELECT sha FROM szz_fixes WHERE repo = ?`, repo)).map((r) => r.sha));
  }

  /** What SZZ made of each processed fix of the repository. */
  async fixOutcomes(repo: string): Promise<FixOutcome[]> {
    return (await this.db.all<{ sha: string; outcome: string | null }>(`SELECT sha, outcome FROM szz_fixes WHERE repo = ? ORDER BY sha`, repo)).map((r) => ({
      sha: r.sha,
      outcome: r.outcome ? (JSON.parse(r.outcome) as Record<string, unknown>) : {},
    }));
  }

  /** Labels found for a batch of fixes, with the fixes marked done and what SZZ made of each, in one transaction. */
  saveSzz(repo: string, fixes: FixOutcome[], labels: CommitLabel[], nowMs: number): Promise<void> {
    return this.db.transaction(
      async () => {
        for (const { sha, outcome } of fixes) {
          await this.db.run(
            `INSERT INTO szz_fixes (repo, sha, outcome) VALUES (?, ?, ?) ON CONFLICT (repo, sha) DO UPDATE SET outcome = excluded.outcome`,
            repo,
            sha,
            JSON.stringify(outcome),
          );
        }
        await this.addLabels(repo, labels, nowMs);
      },
      { lock: `szz:${repo}` },
    );
  }

  async addLabels(repo: string, labels: CommitLabel[], nowMs: number): Promise<void> {
    for (const label of labels) {
      await this.db.run(
        `INSERT INTO commit_labels (repo, sha, source, evidence, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        repo,
        label.sha,
        label.source,
        label.evidence,
        nowMs,
      );
    }
  }

  labels(repo: string): Promise<CommitLabel[]> {
    return this.db.all<CommitLabel>(`SELECT sha, source, evidence, at FROM commit_labels WHERE repo = ? ORDER BY sha, source`, repo);
  }

  async recordScore(score: NewRiskScore, runId: number | null, nowMs: number): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO risk_scores (run_id, service, env, commit_range, probability, level, reasons, model_version_id, created_at, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      runId,
      score.service,
      score.env,
      score.commitRange,
      score.probability,
      score.level,
      JSON.stringify(score.reasons),
      score.modelVersionId,
      nowMs,
      JSON.stringify(score.details),
    );
    return row!.id;
  }

  async score(id: number): Promise<{ id: number; probability: number; level: string; reasons: string[]; commitRange: string } | undefined> {
    const row = await this.db.get<{ id: number; probability: number; level: string; reasons: string; commitRange: string }>(
      `SELECT id, probability, level, reasons, commit_range AS "commitRange" FROM risk_scores WHERE id = ?`,
      id,
    );
    return row && { ...row, reasons: JSON.parse(row.reasons) as string[] };
  }

  /**
   * Releases with a known commit that failed, were rolled back, or were named the cause of an incident
   * (`ops incident resolve --cause release:<id>`), each with the commit of the release it replaced.
   */
  failedReleases(): Promise<Array<{ id: number; service: string; env: string; revision: number; sha: string; status: string; previousSha: string | null }>> {
    return this.db.all(
      `SELECT r.id, r.service, r.env, r.revision, r.git_sha AS sha,
              coalesce((SELECT 'named the cause of incident #' || min(i.id) FROM incidents i WHERE i.cause_release = r.id), r.status) AS status,
              (SELECT p.git_sha FROM releases p WHERE p.service = r.service AND p.env = r.env AND p.revision < r.revision
                 AND p.status IN ('deployed', 'superseded') AND p.git_sha IS NOT NULL ORDER BY p.revision DESC LIMIT 1) AS "previousSha"
       FROM releases r
       WHERE (r.status IN ('failed', 'rolled_back') OR EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id)) AND r.git_sha IS NOT NULL
       ORDER BY r.id`,
    );
  }

  /**
   * Finished releases that were risk-scored with deploy features, oldest first: the ledger's own
   * outcomes (failed, rolled back or named an incident's cause, or not) for the deploy-level model.
   */
  async scoredReleases(): Promise<Array<{ failed: boolean; createdAt: number; features: number[] }>> {
    const rows = await this.db.all<{ status: string; createdAt: number; details: string | null }>(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id) THEN 'failed' ELSE r.status END AS status,
              r.created_at AS "createdAt", s.details FROM releases r JOIN risk_scores s ON s.id = r.risk_score_id
       WHERE r.status IN ('deployed', 'superseded', 'failed', 'rolled_back') ORDER BY r.created_at, r.id`,
    );
    return rows.flatMap((row) => {
      const features = (JSON.parse(row.details ?? '{}') as { deployFeatures?: number[] }).deployFeatures;
      return features ? [{ failed: row.status === 'failed' || row.status === 'rolled_back', createdAt: row.createdAt, features }] : [];
    });
  }
}
