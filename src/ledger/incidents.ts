import type { Db } from './db.js';

export type IncidentState = 'open' | 'acknowledged' | 'resolved';
export const INCIDENT_STATES: readonly IncidentState[] = ['open', 'acknowledged', 'resolved'];

export interface StoredSignal {
  id: number;
  incidentId: number | null;
  fingerprint: string;
  source: string;
  service: string;
  env: string;
  condition: string;
  resource: string;
  severity: string;
  message: string;
  details: Record<string, unknown> | null;
  count: number;
  firstSeenAt: number;
  lastSeenAt: number;
  clearedAt: number | null;
}

export type NewSignal = Omit<StoredSignal, 'id' | 'incidentId' | 'count' | 'firstSeenAt' | 'lastSeenAt' | 'clearedAt'>;

export interface Incident {
  id: number;
  fingerprint: string;
  service: string;
  env: string;
  condition: string;
  resource: string | null;
  state: IncidentState;
  title: string;
  severity: string;
  signalCount: number;
  beganAt: number;
  openedAt: number;
  lastSeenAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  cause: string | null;
  causeRelease: number | null;
  note: string | null;
  recurrenceOf: number | null;
}

export interface IncidentEvent {
  at: number;
  kind: string;
  data: Record<string, unknown> | null;
}

export interface Suspect {
  releaseId: number;
  rank: number;
  score: number;
  beforeMs: number;
  risk: number | null;
}

export interface SourceStatus {
  key: string;
  type: string;
  service: string;
  env: string;
  checkedAt: number;
  okAt: number | null;
  error: string | null;
  errors: number;
}

export interface NotificationRecord {
  incidentId: number;
  event: string;
  target: string;
  status: 'sent' | 'failed';
  attempts: number;
  error: string | null;
  at: number;
}

interface IncidentRow {
  id: number;
  fingerprint: string;
  service: string;
  env: string;
  condition: string;
  resource: string | null;
  state: IncidentState;
  title: string;
  severity: string | null;
  signal_count: number;
  began_at: number | null;
  opened_at: number;
  last_seen_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  cause: string | null;
  cause_release: number | null;
  note: string | null;
  recurrence_of: number | null;
}

function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    service: row.service,
    env: row.env,
    condition: row.condition,
    resource: row.resource,
    state: row.state,
    title: row.title,
    severity: row.severity ?? 'warning',
    signalCount: row.signal_count,
    beganAt: row.began_at ?? row.opened_at,
    openedAt: row.opened_at,
    lastSeenAt: row.last_seen_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: row.resolved_at,
    resolvedBy: row.resolved_by,
    cause: row.cause,
    causeRelease: row.cause_release,
    note: row.note,
    recurrenceOf: row.recurrence_of,
  };
}

interface SignalRow {
  id: number;
  incident_id: number | null;
  fingerprint: string;
  source: string;
  service: string;
  env: string;
  condition: string;
  resource: string;
  severity: string;
  message: string;
  details: string | null;
  count: number;
  first_seen_at: number;
  last_seen_at: number;
  cleared_at: number | null;
}

function toSignal(row: SignalRow): StoredSignal {
  return {
    id: row.id,
    incidentId: row.incident_id,
    fingerprint: row.fingerprint,
    source: row.source,
    service: row.service,
    env: row.env,
    condition: row.condition,
    resource: row.resource,
    severity: row.severity,
    message: row.message,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
    count: row.count,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    clearedAt: row.cleared_at,
  };
}

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

/** Incidents, the signals behind them, their suspects and notifications, and what each watch source last said. */
export class IncidentStore {
  constructor(private readonly db: Db) {}

  /** Run `work` in one transaction locked on the incidents: parallel watchers never open one incident twice. */
  atomically<T>(work: () => Promise<T>): Promise<T> {
    return this.db.transaction(work, { lock: 'incidents' });
  }

  /** The live signal of a fingerprint: waiting for minCount/for, or part of an unresolved incident. */
  async liveSignal(fingerprint: string): Promise<StoredSignal | undefined> {
    const row = await this.db.get<SignalRow>(`SELECT * FROM incident_signals WHERE live_fingerprint = ?`, fingerprint);
    return row && toSignal(row);
  }

  /**
   * The fingerprint's live signal, seen once more; a new one when there is none. One statement
   * (insert, or on the live fingerprint's unique key update), so two processes seeing the same
   * signal at once count it twice on one row, never make two.
   */
  async recordSignal(signal: NewSignal, nowMs: number): Promise<StoredSignal> {
    const row = await this.db.get<SignalRow>(
      `INSERT INTO incident_signals (fingerprint, live_fingerprint, source, service, env, condition, resource, severity, message, details, count, first_seen_at, last_seen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
       ON CONFLICT (live_fingerprint) DO UPDATE SET count = incident_signals.count + 1, last_seen_at = excluded.last_seen_at,
         message = excluded.message, details = excluded.details, cleared_at = NULL
       RETURNING *`,
      signal.fingerprint,
      signal.fingerprint,
      signal.source,
      signal.service,
      signal.env,
      signal.condition,
      signal.resource,
      signal.severity,
      signal.message,
      json(signal.details),
      nowMs,
      nowMs,
    );
    return toSignal(row!);
  }

  async signal(id: number): Promise<StoredSignal | undefined> {
    const row = await this.db.get<SignalRow>(`SELECT * FROM incident_signals WHERE id = ?`, id);
    return row && toSignal(row);
  }

  async attachSignal(id: number, incidentId: number): Promise<void> {
    await this.db.run(`UPDATE incident_signals SET incident_id = ? WHERE id = ?`, incidentId, id);
  }

  /** Live signals of a source that it did not report this time. */
  async liveSignalsOfSource(source: string): Promise<StoredSignal[]> {
    return (await this.db.all<SignalRow>(`SELECT * FROM incident_signals WHERE source = ? AND cleared_at IS NULL AND live_fingerprint IS NOT NULL`, source)).map(toSignal);
  }

  /** Pending signals that went away are forgotten; an incident's are marked cleared. */
  async clearSignal(signal: StoredSignal, nowMs: number): Promise<void> {
    if (signal.incidentId === null) await this.db.run(`DELETE FROM incident_signals WHERE id = ?`, signal.id);
    else await this.db.run(`UPDATE incident_signals SET cleared_at = ? WHERE id = ?`, nowMs, signal.id);
  }

  async signalsOf(incidentId: number): Promise<StoredSignal[]> {
    return (await this.db.all<SignalRow>(`SELECT * FROM incident_signals WHERE incident_id = ? ORDER BY id`, incidentId)).map(toSignal);
  }

  /** The newest unresolved incident of a service seen since `sinceMs`, the one new signals group into. */
  async groupFor(service: string, env: string, sinceMs: number): Promise<Incident | undefined> {
    const row = await this.db.get<IncidentRow>(
      `SELECT * FROM incidents WHERE service = ? AND env = ? AND state != 'resolved' AND last_seen_at >= ? ORDER BY id DESC LIMIT 1`,
      service,
      env,
      sinceMs,
    );
    return row && toIncident(row);
  }

  /** The newest resolved incident that had this fingerprint: a new one is its recurrence. */
  async lastResolvedWith(fingerprint: string): Promise<number | null> {
    const row = await this.db.get<{ id: number }>(
      `SELECT i.id FROM incidents i JOIN incident_signals s ON s.incident_id = i.id
       WHERE s.fingerprint = ? AND i.state = 'resolved' ORDER BY i.id DESC LIMIT 1`,
      fingerprint,
    );
    return row?.id ?? null;
  }

  /**
   * Open the incident of a signal, or get the unresolved one its fingerprint already opened (by
   * another watcher a moment ago): `created` says which. Insert-or-get on the live fingerprint's key.
   */
  async create(incident: { signal: StoredSignal; title: string; recurrenceOf: number | null }, nowMs: number): Promise<{ incident: Incident; created: boolean }> {
    const { signal } = incident;
    const row = await this.db.get<IncidentRow>(
      `INSERT INTO incidents (fingerprint, live_fingerprint, service, env, condition, resource, state, title, severity, signal_count, began_at, opened_at, last_seen_at, recurrence_of)
       VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (live_fingerprint) DO NOTHING RETURNING *`,
      signal.fingerprint,
      signal.fingerprint,
      signal.service,
      signal.env,
      signal.condition,
      signal.resource,
      incident.title,
      signal.severity,
      signal.count,
      signal.firstSeenAt,
      nowMs,
      nowMs,
      incident.recurrenceOf,
    );
    if (row) return { incident: toIncident(row), created: true };
    const existing = await this.db.get<IncidentRow>(`SELECT * FROM incidents WHERE live_fingerprint = ?`, signal.fingerprint);
    return { incident: toIncident(existing!), created: false };
  }

  /** More signals seen: count, last seen, and the highest severity so far. */
  async touch(id: number, signals: number, severity: string, nowMs: number): Promise<void> {
    await this.db.run(
      `UPDATE incidents SET signal_count = signal_count + ?, last_seen_at = ${this.db.dialect.greatest('last_seen_at', '?')},
         severity = CASE WHEN ? = 'critical' THEN 'critical' ELSE severity END
       WHERE id = ?`,
      signals,
      nowMs,
      severity,
      id,
    );
  }

  async get(id: number): Promise<Incident | undefined> {
    const row = await this.db.get<IncidentRow>(`SELECT * FROM incidents WHERE id = ?`, id);
    return row && toIncident(row);
  }

  async list(filter: { state?: IncidentState | 'unresolved'; service?: string; env?: string; limit: number }): Promise<Incident[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state === 'unresolved') where.push(`state != 'resolved'`);
    else if (filter.state) (where.push('state = ?'), params.push(filter.state));
    if (filter.service) (where.push('service = ?'), params.push(filter.service));
    if (filter.env) (where.push('env = ?'), params.push(filter.env));
    const sql = `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (await this.db.all<IncidentRow>(sql, ...params, filter.limit)).map(toIncident);
  }

  async unresolvedCount(): Promise<number> {
    return (await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM incidents WHERE state != 'resolved'`))!.n;
  }

  /** Unresolved incidents whose every signal has been cleared since at least `clearedBefore`. */
  async quietSince(clearedBefore: number): Promise<Incident[]> {
    return (
      await this.db.all<IncidentRow>(
        `SELECT i.* FROM incidents i WHERE i.state != 'resolved'
           AND EXISTS (SELECT 1 FROM incident_signals s WHERE s.incident_id = i.id)
           AND NOT EXISTS (SELECT 1 FROM incident_signals s WHERE s.incident_id = i.id AND (s.cleared_at IS NULL OR s.cleared_at > ?))`,
        clearedBefore,
      )
    ).map(toIncident);
  }

  async acknowledge(id: number, by: string, nowMs: number): Promise<void> {
    await this.db.run(`UPDATE incidents SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE id = ?`, nowMs, by, id);
  }

  async resolve(id: number, resolution: { by: string; cause?: string | null; causeRelease?: number | null; note?: string | null }, nowMs: number): Promise<void> {
    await this.db.transaction(async () => {
      await this.db.run(
        `UPDATE incidents SET state = 'resolved', resolved_at = ?, resolved_by = ?, cause = coalesce(?, cause),
           cause_release = coalesce(?, cause_release), note = coalesce(?, note), live_fingerprint = NULL WHERE id = ?`,
        nowMs,
        resolution.by,
        resolution.cause ?? null,
        resolution.causeRelease ?? null,
        resolution.note ?? null,
        id,
      );
      // Its signals are no longer live: the next one of a fingerprint starts a new incident.
      await this.db.run(`UPDATE incident_signals SET live_fingerprint = NULL WHERE incident_id = ?`, id);
    });
  }

  async addEvent(incidentId: number, kind: string, data: Record<string, unknown> | null, nowMs: number): Promise<void> {
    await this.db.run(`INSERT INTO incident_events (incident_id, at, kind, data) VALUES (?, ?, ?, ?)`, incidentId, nowMs, kind, json(data));
  }

  async events(incidentId: number): Promise<IncidentEvent[]> {
    return (await this.db.all<{ at: number; kind: string; data: string | null }>(`SELECT at, kind, data FROM incident_events WHERE incident_id = ? ORDER BY id`, incidentId)).map(
      (r) => ({ at: r.at, kind: r.kind, data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null }),
    );
  }

  async setSuspects(incidentId: number, suspects: Suspect[]): Promise<void> {
    for (const s of suspects) {
      await this.db.run(
        `INSERT INTO incident_suspects (incident_id, release_id, rank, score, before_ms, risk) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (incident_id, release_id) DO UPDATE SET rank = excluded.rank, score = excluded.score, before_ms = excluded.before_ms, risk = excluded.risk`,
        incidentId,
        s.releaseId,
        s.rank,
        s.score,
        s.beforeMs,
        s.risk,
      );
    }
  }

  suspects(incidentId: number): Promise<Suspect[]> {
    return this.db.all<Suspect>(
      `SELECT release_id AS "releaseId", rank, score, before_ms AS "beforeMs", risk FROM incident_suspects WHERE incident_id = ? ORDER BY rank`,
      incidentId,
    );
  }

  /** Incidents that named a release as their cause, or suspected it: the risk scorer's operational labels. */
  async incidentsOfRelease(releaseId: number): Promise<Incident[]> {
    return (
      await this.db.all<IncidentRow>(
        `SELECT DISTINCT i.* FROM incidents i LEFT JOIN incident_suspects s ON s.incident_id = i.id
         WHERE i.cause_release = ? OR (s.release_id = ? AND s.rank = 1) ORDER BY i.id`,
        releaseId,
        releaseId,
      )
    ).map(toIncident);
  }

  /** Unresolved incidents of a service in an environment at a moment (a deploy feature). */
  async openAt(service: string, env: string, atMs: number): Promise<number> {
    return (
      await this.db.get<{ n: number }>(
        `SELECT count(*) AS n FROM incidents WHERE service = ? AND env = ? AND opened_at <= ? AND (resolved_at IS NULL OR resolved_at > ?)`,
        service,
        env,
        atMs,
        atMs,
      )
    )!.n;
  }

  async sourceMemory<T>(key: string): Promise<T | undefined> {
    const row = await this.db.get<{ memory: string | null }>(`SELECT memory FROM watch_sources WHERE key = ?`, key);
    return row?.memory ? (JSON.parse(row.memory) as T) : undefined;
  }

  /** What a source said this cycle: healthy (maybe with signals) or an error, and what it remembers. */
  async recordCheck(check: { key: string; type: string; service: string; env: string; error: string | null; memory?: unknown }, nowMs: number): Promise<void> {
    await this.db.run(
      `INSERT INTO watch_sources (key, type, service, env, checked_at, ok_at, error, errors, memory)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET checked_at = excluded.checked_at, ok_at = coalesce(excluded.ok_at, watch_sources.ok_at), error = excluded.error,
         errors = CASE WHEN excluded.error IS NULL THEN 0 ELSE watch_sources.errors + 1 END, memory = coalesce(excluded.memory, watch_sources.memory)`,
      check.key,
      check.type,
      check.service,
      check.env,
      nowMs,
      check.error === null ? nowMs : null,
      check.error,
      check.error === null ? 0 : 1,
      json(check.memory),
    );
  }

  sources(): Promise<SourceStatus[]> {
    return this.db.all<SourceStatus>(
      `SELECT key, type, service, env, checked_at AS "checkedAt", ok_at AS "okAt", error, errors FROM watch_sources ORDER BY key`,
    );
  }

  async recordNotification(record: NotificationRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO notifications (incident_id, event, target, status, attempts, error, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      record.incidentId,
      record.event,
      record.target,
      record.status,
      record.attempts,
      record.error,
      record.at,
    );
  }

  notifications(incidentId: number): Promise<NotificationRecord[]> {
    return this.db.all<NotificationRecord>(
      `SELECT incident_id AS "incidentId", event, target, status, attempts, error, at FROM notifications WHERE incident_id = ? ORDER BY id`,
      incidentId,
    );
  }
}
