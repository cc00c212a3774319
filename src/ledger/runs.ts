import type { Db } from './db.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'succeeded', 'failed', 'interrupted'];

export interface NewRun {
  kind: string;
  service?: string | null;
  env?: string | null;
  gitSha?: string | null;
  gitBranch?: string | null;
  gitDirty?: boolean | null;
  actor: string;
  host: string;
  pid: number;
  ci: boolean;
  argv: readonly string[];
  params?: Record<string, unknown> | null;
}

export interface Run {
  id: number;
  kind: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  service: string | null;
  env: string | null;
  git: { sha: string | null; branch: string | null; dirty: boolean | null };
  actor: string;
  host: string;
  pid: number;
  ci: boolean;
  argv: string[];
  exitCode: number | null;
  error: string | null;
  params: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  /** What a kind of run records beyond the common fields (a training run: datasets, tools, model). */
  details: Record<string, unknown> | null;
}

export interface RunLogLine {
  at: string;
  stream: string;
  text: string;
}

export interface RunFilter {
  kind?: string;
  status?: RunStatus;
  sinceMs?: number;
  limit: number;
}

interface RunRow {
  id: number;
  kind: string;
  status: RunStatus;
  started_at: number;
  finished_at: number | null;
  service: string | null;
  env: string | null;
  git_sha: string | null;
  git_branch: string | null;
  git_dirty: number | null;
  actor: string;
  host: string;
  pid: number;
  ci: number;
  argv: string;
  exit_code: number | null;
  error: string | null;
  params: string | null;
  metrics: string | null;
  details: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const json = (value: unknown) => (value == null ? null : JSON.stringify(value));

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    startedAt: iso(row.started_at),
    finishedAt: row.finished_at == null ? null : iso(row.finished_at),
    durationMs: row.finished_at == null ? null : row.finished_at - row.started_at,
    service: row.service,
    env: row.env,
    git: { sha: row.git_sha, branch: row.git_branch, dirty: row.git_dirty == null ? null : row.git_dirty === 1 },
    actor: row.actor,
    host: row.host,
    pid: row.pid,
    ci: row.ci === 1,
    argv: JSON.parse(row.argv) as string[],
    exitCode: row.exit_code,
    error: row.error,
    params: row.params == null ? null : JSON.parse(row.params),
    metrics: row.metrics == null ? null : JSON.parse(row.metrics),
    details: row.details == null ? null : JSON.parse(row.details),
  };
}

export class RunStore {
  constructor(private readonly db: Db) {}

  async insert(run: NewRun, nowMs: number): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO runs (kind, status, started_at, heartbeat_at, service, env, git_sha, git_branch, git_dirty,
                         actor, host, pid, ci, argv, params)
       VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      run.kind,
      nowMs,
      nowMs,
      run.service ?? null,
      run.env ?? null,
      run.gitSha ?? null,
      run.gitBranch ?? null,
      run.gitDirty == null ? null : Number(run.gitDirty),
      run.actor,
      run.host,
      run.pid,
      Number(run.ci),
      JSON.stringify(run.argv),
      json(run.params),
    );
    return row!.id;
  }

  async heartbeat(id: number, nowMs: number): Promise<void> {
    await this.db.run(`UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`, nowMs, id);
  }

  /** Finish a run that is still running; a run already finished (e.g. interrupted) keeps its status. */
  async finish(
    id: number,
    outcome: {
      status: Exclude<RunStatus, 'running'>;
      exitCode: number;
      error?: string | null;
      metrics?: Record<string, unknown> | null;
      params?: Record<string, unknown> | null;
    },
    nowMs: number,
  ): Promise<void> {
    await this.db.run(
      `UPDATE runs SET status = ?, exit_code = ?, error = ?, metrics = coalesce(?, metrics), params = coalesce(?, params), finished_at = ?
       WHERE id = ? AND status = 'running'`,
      outcome.status,
      outcome.exitCode,
      outcome.error ?? null,
      json(outcome.metrics),
      json(outcome.params),
      nowMs,
      id,
    );
  }

  async setDetails(id: number, details: Record<string, unknown>): Promise<void> {
    await this.db.run(`UPDATE runs SET details = ? WHERE id = ?`, JSON.stringify(details), id);
  }

  async appendLog(id: number, stream: string, text: string, nowMs: number): Promise<void> {
    await this.db.run(`INSERT INTO run_logs (run_id, at, stream, text) VALUES (?, ?, ?, ?)`, id, nowMs, stream, text);
  }

  async get(id: number): Promise<Run | undefined> {
    const row = await this.db.get<RunRow>(`SELECT * FROM runs WHERE id = ?`, id);
    return row && toRun(row);
  }

  async logs(id: number): Promise<RunLogLine[]> {
    const rows = await this.db.all<{ at: number; stream: string; text: string }>(`SELECT at, stream, text FROM run_logs WHERE run_id = ? ORDER BY id`, id);
    return rows.map((r) => ({ at: iso(r.at), stream: r.stream, text: r.text }));
  }

  async list(filter: RunFilter): Promise<Run[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.kind) (where.push('kind = ?'), args.push(filter.kind));
    if (filter.status) (where.push('status = ?'), args.push(filter.status));
    if (filter.sinceMs != null) (where.push('started_at >= ?'), args.push(filter.sinceMs));
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (await this.db.all<RunRow>(sql, ...args, filter.limit)).map(toRun);
  }

  /**
   * Mark runs whose process is gone as interrupted: on this host when the pid no longer exists,
   * anywhere when the heartbeat is older than `staleAfterMs`. Returns the ids marked.
   */
  async sweepAbandoned(host: string, isAlive: (pid: number) => boolean, nowMs: number, staleAfterMs: number): Promise<number[]> {
    // A plain read first: the common case (nothing abandoned) takes no write lock.
    const running = await this.db.all<{ id: number; host: string; pid: number; heartbeat_at: number }>(
      `SELECT id, host, pid, heartbeat_at FROM runs WHERE status = 'running'`,
    );
    const dead = running.filter(
      (r) => nowMs - r.heartbeat_at > staleAfterMs || (r.host === host && r.pid !== process.pid && !isAlive(r.pid)),
    );
    if (dead.length === 0) return [];
    // It ended when it last showed life (its heartbeat or its last log line), not when this noticed.
    const lastSign = this.db.dialect.greatest('heartbeat_at', 'coalesce((SELECT max(at) FROM run_logs WHERE run_id = runs.id), heartbeat_at)');
    return this.db.transaction(
      async () => {
        const marked: number[] = [];
        for (const r of dead) {
          const changed = await this.db.run(
            `UPDATE runs SET status = 'interrupted', error = ?, finished_at = ${lastSign} WHERE id = ? AND status = 'running'`,
            'the process running it died (found by a later ops invocation)',
            r.id,
          );
          if (changed === 1) marked.push(r.id);
        }
        return marked;
      },
      { lock: 'runs:sweep' },
    );
  }
}
