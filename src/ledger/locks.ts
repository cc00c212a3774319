import type { Db } from './db.js';

export interface LockHolder {
  name: string;
  pid: number;
  host: string;
  runId: number | null;
  acquiredAt: number;
  heartbeatAt: number;
}

export interface LockOwner {
  pid: number;
  host: string;
  runId: number | null;
}

/** An attempt, with the database's clock when it was made (`nowMs`): lock times are all on that clock. */
export type LockAttempt =
  | { acquired: true; nowMs: number; tookOverFrom?: LockHolder; staleReason?: string }
  | { acquired: false; nowMs: number; holder: LockHolder };

interface LockRow {
  name: string;
  owner_pid: number;
  owner_host: string;
  run_id: number | null;
  acquired_at: number;
  heartbeat_at: number;
}

const toHolder = (row: LockRow): LockHolder => ({
  name: row.name,
  pid: row.owner_pid,
  host: row.owner_host,
  runId: row.run_id,
  acquiredAt: row.acquired_at,
  heartbeatAt: row.heartbeat_at,
});

export class LockStore {
  constructor(private readonly db: Db) {}

  /**
   * Take `name` if it is free, or held by an owner that is gone: a dead pid on this host, or a
   * heartbeat older than `staleAfterMs` anywhere. Every time is the database's clock, so a caller
   * whose clock is off neither steals a live lock nor keeps a dead one. Check and take happen in one
   * transaction locked on the name, so of two processes racing exactly one wins.
   */
  tryAcquire(name: string, owner: LockOwner, isAlive: (pid: number) => boolean, staleAfterMs: number): Promise<LockAttempt> {
    return this.db.transaction(
      async (): Promise<LockAttempt> => {
        const nowMs = (await this.db.get<{ now: number }>(`SELECT ${this.db.dialect.nowMs} AS now`))!.now;
        const row = await this.db.get<LockRow>(`SELECT * FROM locks WHERE name = ?`, name);
        let staleReason: string | undefined;
        if (row) {
          const holder = toHolder(row);
          if (nowMs - holder.heartbeatAt > staleAfterMs) staleReason = `its heartbeat is ${Math.round((nowMs - holder.heartbeatAt) / 1000)} s old`;
          else if (holder.host === owner.host && !isAlive(holder.pid)) staleReason = `process ${holder.pid} on ${holder.host} is gone`;
          if (!staleReason) return { acquired: false, nowMs, holder };
        }
        await this.db.run(
          `INSERT INTO locks (name, owner_pid, owner_host, run_id, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET owner_pid = excluded.owner_pid, owner_host = excluded.owner_host,
             run_id = excluded.run_id, acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at`,
          name,
          owner.pid,
          owner.host,
          owner.runId,
          nowMs,
          nowMs,
        );
        return row ? { acquired: true, nowMs, tookOverFrom: toHolder(row), staleReason } : { acquired: true, nowMs };
      },
      { lock: `lock:${name}` },
    );
  }

  /** Refresh the heartbeat (on the database's clock); false when the lock is no longer ours (taken over). */
  async heartbeat(name: string, owner: LockOwner): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE locks SET heartbeat_at = ${this.db.dialect.nowMs} WHERE name = ? AND owner_pid = ? AND owner_host = ?`,
      name,
      owner.pid,
      owner.host,
    );
    return changed === 1;
  }

  async release(name: string, owner: LockOwner): Promise<void> {
    await this.db.run(`DELETE FROM locks WHERE name = ? AND owner_pid = ? AND owner_host = ?`, name, owner.pid, owner.host);
  }

  async holder(name: string): Promise<LockHolder | undefined> {
    const row = await this.db.get<LockRow>(`SELECT * FROM locks WHERE name = ?`, name);
    return row && toHolder(row);
  }
}
