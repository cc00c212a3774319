import type { Db } from './db.js';

export interface StoredTriage<E = unknown, H = unknown> {
  id: number;
  incidentId: number;
  actor: string;
  evidence: E;
  hypotheses: H;
  durationMs: number;
  createdAt: number;
}

export interface IncidentAction {
  id: number;
  incidentId: number;
  reportId: number;
  action: number;
  kind: string;
  command: string;
  actor: string;
  status: 'succeeded' | 'failed';
  result: string | null;
  at: number;
}

interface TriageRow {
  id: number;
  incident_id: number;
  actor: string;
  evidence: string;
  hypotheses: string;
  duration_ms: number;
  created_at: number;
}

const toTriage = <E, H>(row: TriageRow): StoredTriage<E, H> => ({
  id: row.id,
  incidentId: row.incident_id,
  actor: row.actor,
  evidence: JSON.parse(row.evidence) as E,
  hypotheses: JSON.parse(row.hypotheses) as H,
  durationMs: row.duration_ms,
  createdAt: row.created_at,
});

/** What `ops triage` found for each incident, and the remediation it applied. */
export class TriageStore {
  constructor(private readonly db: Db) {}

  save(report: Omit<StoredTriage, 'id'>): number {
    return Number(
      this.db
        .prepare(`INSERT INTO triage_reports (incident_id, actor, evidence, hypotheses, duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
        .run(report.incidentId, report.actor, JSON.stringify(report.evidence), JSON.stringify(report.hypotheses), report.durationMs, report.createdAt).lastInsertRowid,
    );
  }

  latest<E, H>(incidentId: number): StoredTriage<E, H> | undefined {
    const row = this.db.prepare(`SELECT * FROM triage_reports WHERE incident_id = ? ORDER BY id DESC LIMIT 1`).get(incidentId) as TriageRow | undefined;
    return row && toTriage<E, H>(row);
  }

  recordAction(action: Omit<IncidentAction, 'id'>): number {
    return Number(
      this.db
        .prepare(`INSERT INTO incident_actions (incident_id, report_id, action, kind, command, actor, status, result, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(action.incidentId, action.reportId, action.action, action.kind, action.command, action.actor, action.status, action.result, action.at).lastInsertRowid,
    );
  }

  actions(incidentId: number): IncidentAction[] {
    return this.db
      .prepare(
        `SELECT id, incident_id AS incidentId, report_id AS reportId, action, kind, command, actor, status, result, at
         FROM incident_actions WHERE incident_id = ? ORDER BY id`,
      )
      .all(incidentId) as IncidentAction[];
  }
}
