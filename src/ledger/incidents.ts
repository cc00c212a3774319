import type Database from 'better-sqlite3';
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
  /** Prepared once: a watch cycle runs the same few statements for every source. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Db) {}

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /** Run `work` in one immediate transaction: parallel watchers never open one incident twice. */
  atomically<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  /** The live signal of a fingerprint: waiting for minCount/for, or part of an unresolved incident. */
  liveSignal(fingerprint: string): StoredSignal | undefined {
    const row = this.sql(
      `SELECT s.* FROM incident_signals s LEFT JOIN incidents i ON i.id = s.incident_id
       WHERE s.fingerprint = ? AND (s.incident_id IS NULL OR i.state != 'resolved')
       ORDER BY s.id DESC LIMIT 1`,
    ).get(fingerprint) as SignalRow | undefined;
    return row && toSignal(row);
  }

  addSignal(signal: NewSignal, nowMs: number): StoredSignal {
    const id = this.sql(
      `INSERT INTO incident_signals (fingerprint, source, service, env, condition, resource, severity, message, details, count, first_seen_at, last_seen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
    ).run(signal.fingerprint, signal.source, signal.service, signal.env, signal.condition, signal.resource, signal.severity, signal.message, json(signal.details), nowMs, nowMs).lastInsertRowid;
    return this.signal(Number(id))!;
  }

  signal(id: number): StoredSignal | undefined {
    const row = this.sql(`SELECT * FROM incident_signals WHERE id = ?`).get(id) as SignalRow | undefined;
    return row && toSignal(row);
  }

  /** Seen again: one more count, the newest message, no longer cleared. */
  seeSignal(id: number, message: string, details: Record<string, unknown> | null, nowMs: number): StoredSignal {
    this.sql(`UPDATE incident_signals SET count = count + 1, last_seen_at = ?, message = ?, details = ?, cleared_at = NULL WHERE id = ?`)
      .run(nowMs, message, json(details), id);
    return this.signal(id)!;
  }

  attachSignal(id: number, incidentId: number): void {
    this.sql(`UPDATE incident_signals SET incident_id = ? WHERE id = ?`).run(incidentId, id);
  }

  /** Live signals of a source that it did not report this time. */
  liveSignalsOfSource(source: string): StoredSignal[] {
    return (
      this.sql(
        `SELECT s.* FROM incident_signals s LEFT JOIN incidents i ON i.id = s.incident_id
         WHERE s.source = ? AND s.cleared_at IS NULL AND (s.incident_id IS NULL OR i.state != 'resolved')`,
      ).all(source) as SignalRow[]
    ).map(toSignal);
  }

  /** Pending signals that went away are forgotten; an incident's are marked cleared. */
  clearSignal(signal: StoredSignal, nowMs: number): void {
    if (signal.incidentId === null) this.sql(`DELETE FROM incident_signals WHERE id = ?`).run(signal.id);
    else this.sql(`UPDATE incident_signals SET cleared_at = ? WHERE id = ?`).run(nowMs, signal.id);
  }

  signalsOf(incidentId: number): StoredSignal[] {
    return (this.sql(`SELECT * FROM incident_signals WHERE incident_id = ? ORDER BY id`).all(incidentId) as SignalRow[]).map(toSignal);
  }

  /** The newest unresolved incident of a service seen since `sinceMs`, the one new signals group into. */
  groupFor(service: string, env: string, sinceMs: number): Incident | undefined {
    const row = this.sql(`SELECT * FROM incidents WHERE service = ? AND env = ? AND state != 'resolved' AND last_seen_at >= ? ORDER BY id DESC LIMIT 1`)
      .get(service, env, sinceMs) as IncidentRow | undefined;
    return row && toIncident(row);
  }

  /** The newest resolved incident that had this fingerprint: a new one is its recurrence. */
  lastResolvedWith(fingerprint: string): number | null {
    const row = this.sql(
      `SELECT i.id FROM incidents i JOIN incident_signals s ON s.incident_id = i.id
       WHERE s.fingerprint = ? AND i.state = 'resolved' ORDER BY i.id DESC LIMIT 1`,
    ).get(fingerprint) as { id: number } | undefined;
    return row?.id ?? null;
  }

  create(incident: { signal: StoredSignal; title: string; recurrenceOf: number | null }, nowMs: number): Incident {
    const { signal } = incident;
    const id = this.sql(
      `INSERT INTO incidents (fingerprint, service, env, condition, resource, state, title, severity, signal_count, began_at, opened_at, last_seen_at, recurrence_of)
       VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
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
      ).lastInsertRowid;
    return this.get(Number(id))!;
  }

  /** More signals seen: count, last seen, and the highest severity so far. */
  touch(id: number, signals: number, severity: string, nowMs: number): void {
    this.sql(
      `UPDATE incidents SET signal_count = signal_count + ?, last_seen_at = max(last_seen_at, ?),
         severity = CASE WHEN ? = 'critical' THEN 'critical' ELSE severity END
       WHERE id = ?`,
    ).run(signals, nowMs, severity, id);
  }

  get(id: number): Incident | undefined {
    const row = this.sql(`SELECT * FROM incidents WHERE id = ?`).get(id) as IncidentRow | undefined;
    return row && toIncident(row);
  }

  list(filter: { state?: IncidentState | 'unresolved'; service?: string; env?: string; limit: number }): Incident[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state === 'unresolved') where.push(`state != 'resolved'`);
    else if (filter.state) (where.push('state = ?'), params.push(filter.state));
    if (filter.service) (where.push('service = ?'), params.push(filter.service));
    if (filter.env) (where.push('env = ?'), params.push(filter.env));
    const sql = `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.sql(sql).all(...params, filter.limit) as IncidentRow[]).map(toIncident);
  }

  unresolvedCount(): number {
    return (this.sql(`SELECT count(*) AS n FROM incidents WHERE state != 'resolved'`).get() as { n: number }).n;
  }

  /** Unresolved incidents whose every signal has been cleared since at least `clearedBefore`. */
  quietSince(clearedBefore: number): Incident[] {
    return (
      this.sql(
        `SELECT i.* FROM incidents i WHERE i.state != 'resolved'
           AND EXISTS (SELECT 1 FROM incident_signals s WHERE s.incident_id = i.id)
           AND NOT EXISTS (SELECT 1 FROM incident_signals s WHERE s.incident_id = i.id AND (s.cleared_at IS NULL OR s.cleared_at > ?))`,
      ).all(clearedBefore) as IncidentRow[]
    ).map(toIncident);
  }

  acknowledge(id: number, by: string, nowMs: number): void {
    this.sql(`UPDATE incidents SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE id = ?`).run(nowMs, by, id);
  }

  resolve(id: number, resolution: { by: string; cause?: string | null; causeRelease?: number | null; note?: string | null }, nowMs: number): void {
    this.sql(
      `UPDATE incidents SET state = 'resolved', resolved_at = ?, resolved_by = ?, cause = coalesce(?, cause),
         cause_release = coalesce(?, cause_release), note = coalesce(?, note) WHERE id = ?`,
    ).run(nowMs, resolution.by, resolution.cause ?? null, resolution.causeRelease ?? null, resolution.note ?? null, id);
  }

  addEvent(incidentId: number, kind: string, data: Record<string, unknown> | null, nowMs: number): void {
    this.sql(`INSERT INTO incident_events (incident_id, at, kind, data) VALUES (?, ?, ?, ?)`).run(incidentId, nowMs, kind, json(data));
  }

  events(incidentId: number): IncidentEvent[] {
    return (this.sql(`SELECT at, kind, data FROM incident_events WHERE incident_id = ? ORDER BY id`).all(incidentId) as Array<{ at: number; kind: string; data: string | null }>).map(
      (r) => ({ at: r.at, kind: r.kind, data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null }),
    );
  }

  setSuspects(incidentId: number, suspects: Suspect[]): void {
    const insert = this.sql(`INSERT OR REPLACE INTO incident_suspects (incident_id, release_id, rank, score, before_ms, risk) VALUES (?, ?, ?, ?, ?, ?)`);
    for (const s of suspects) insert.run(incidentId, s.releaseId, s.rank, s.score, s.beforeMs, s.risk);
  }

  suspects(incidentId: number): Suspect[] {
    return this.sql(`SELECT release_id AS releaseId, rank, score, before_ms AS beforeMs, risk FROM incident_suspects WHERE incident_id = ? ORDER BY rank`)
      .all(incidentId) as Suspect[];
  }

  /** Incidents that named a release as their cause, or suspected it: the risk scorer's operational labels. */
  incidentsOfRelease(releaseId: number): Incident[] {
    return (
      this.sql(
        `SELECT DISTINCT i.* FROM incidents i LEFT JOIN incident_suspects s ON s.incident_id = i.id
         WHERE i.cause_release = ? OR (s.release_id = ? AND s.rank = 1) ORDER BY i.id`,
      ).all(releaseId, releaseId) as IncidentRow[]
    ).map(toIncident);
  }

  /** Unresolved incidents of a service in an environment at a moment (a deploy feature). */
  openAt(service: string, env: string, atMs: number): number {
    return (
      this.sql(`SELECT count(*) AS n FROM incidents WHERE service = ? AND env = ? AND opened_at <= ? AND (resolved_at IS NULL OR resolved_at > ?)`)
        .get(service, env, atMs, atMs) as { n: number }
    ).n;
  }

  sourceMemory<T>(key: string): T | undefined {
    const row = this.sql(`SELECT memory FROM watch_sources WHERE key = ?`).get(key) as { memory: string | null } | undefined;
    return row?.memory ? (JSON.parse(row.memory) as T) : undefined;
  }

  /** What a source said this cycle: healthy (maybe with signals) or an error, and what it remembers. */
  recordCheck(check: { key: string; type: string; service: string; env: string; error: string | null; memory?: unknown }, nowMs: number): void {
    this.sql(
      `INSERT INTO watch_sources (key, type, service, env, checked_at, ok_at, error, errors, memory)
       VALUES (@key, @type, @service, @env, @now, CASE WHEN @error IS NULL THEN @now END, @error, CASE WHEN @error IS NULL THEN 0 ELSE 1 END, @memory)
       ON CONFLICT (key) DO UPDATE SET checked_at = @now, ok_at = CASE WHEN @error IS NULL THEN @now ELSE ok_at END, error = @error,
         errors = CASE WHEN @error IS NULL THEN 0 ELSE errors + 1 END, memory = coalesce(@memory, memory)`,
    ).run({ key: check.key, type: check.type, service: check.service, env: check.env, now: nowMs, error: check.error, memory: json(check.memory) });
  }

  sources(): SourceStatus[] {
    return this.sql(`SELECT key, type, service, env, checked_at AS checkedAt, ok_at AS okAt, error, errors FROM watch_sources ORDER BY key`)
      .all() as SourceStatus[];
  }

  recordNotification(record: NotificationRecord): void {
    this.sql(`INSERT INTO notifications (incident_id, event, target, status, attempts, error, at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(record.incidentId, record.event, record.target, record.status, record.attempts, record.error, record.at);
  }

  notifications(incidentId: number): NotificationRecord[] {
    return this.sql(`SELECT incident_id AS incidentId, event, target, status, attempts, error, at FROM notifications WHERE incident_id = ? ORDER BY id`)
      .all(incidentId) as NotificationRecord[];
  }
}
