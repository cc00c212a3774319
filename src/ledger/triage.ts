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

  async save(report: Omit<StoredTriage, 'id'>): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO triage_reports (incident_id, actor, evidence, hypotheses, duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
      report.incidentId,
      report.actor,
      JSON.stringify(report.evidence),
      JSON.stringify(report.hypotheses),
      report.durationMs,
      report.createdAt,
    );
    return row!.id;
  }

  async latest<E, H>(incidentId: number): Promise<StoredTriage<E, H> | undefined> {
    const row = await this.db.get<TriageRow>(`SELECT * FROM triage_reports WHERE incident_id = ? ORDER BY id DESC LIMIT 1`, incidentId);
    return row && toTriage<E, H>(row);
  }

  async recordAction(action: Omit<IncidentAction, 'id'>): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO incident_actions (incident_id, report_id, action, kind, command, actor, status, result, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      action.incidentId,
      action.reportId,
      action.action,
      action.kind,
      action.command,
      action.actor,
      action.status,
      action.result,
      action.at,
    );
    return row!.id;
  }

  actions(incidentId: number): Promise<IncidentAction[]> {
    return this.db.all<IncidentAction>(
      `SELECT id, incident_id AS "incidentId", report_id AS "reportId", action, kind, command, actor, status, result, at
       FROM incident_actions WHERE incident_id = ? ORDER BY id`,
      incidentId,
    );
  }
}
