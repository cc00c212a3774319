import type { Context } from '../context.js';
import type { MetricsReport } from '../metrics/compute.js';
import { measure, type MetricsRequest } from '../metrics/index.js';
import { isChange, isFailure, wentLive, type ReleaseFact } from '../metrics/keys.js';
import type { Hypothesis } from '../triage/rules.js';

/** The releases table lists this many; the timeline draws at most TIMELINE_POINTS. */
const TABLE_ROWS = 200;
const TIMELINE_POINTS = 5000;
const MODEL_VERSIONS = 50;
const ALIAS_EVENTS = 20;
const TRIAGE_REPORTS = 5;
/** Metrics drawn per model chart (the table shows up to TABLE_METRICS). */
const CHART_METRICS = 6;
const TABLE_METRICS = 8;

export type TimelineKind = 'ok' | 'failed' | 'rolledBack' | 'rollback';

export interface TimelinePoint {
  id: number;
  lane: string;
  at: number;
  kind: TimelineKind;
}

export interface ReleaseItem {
  id: number;
  service: string;
  env: string;
  revision: number;
  status: string;
  description: string;
  image: string;
  gitSha: string | null;
  rollbackTo: number | null;
  finishedAt: number | null;
  risk: number | null;
  causedIncident: boolean;
  incidents: number[];
}

export interface IncidentItem {
  id: number;
  service: string;
  env: string;
  title: string;
  state: string;
  severity: string;
  beganAt: number;
  resolvedAt: number | null;
  restoreMs: number | null;
  cause: string | null;
  causeRelease: number | null;
  suspects: number[];
  triage: { title: string; confidence: number } | null;
}

export interface ModelItem {
  name: string;
  aliases: Record<string, number>;
  versions: Array<{ id: number; version: number; createdAt: string; metrics: Record<string, number> | null; aliases: string[]; runId: number | null }>;
  events: Array<{ alias: string; fromVersion: number | null; toVersion: number | null; actor: string; reason: string | null; forced: boolean; at: string }>;
  chartMetrics: string[];
  tableMetrics: string[];
}

export interface TriageItem {
  id: number;
  incidentId: number;
  incidentTitle: string;
  actor: string;
  createdAt: number;
  hypotheses: Hypothesis[];
}

export interface OverviewView {
  metrics: MetricsReport;
  releases: ReleaseItem[];
  releasesTotal: number;
  timeline: TimelinePoint[];
  incidents: IncidentItem[];
  models: ModelItem[];
  triage: TriageItem[];
}

function timelineKind(r: ReleaseFact): TimelineKind {
  if (r.rollbackTo != null) return 'rollback';
  if (r.status === 'rolled_back') return 'rolledBack';
  return isFailure(r) || !wentLive(r) ? 'failed' : 'ok';
}

/** The numeric metrics the versions share, most common first; `scores` keeps those always within 0..1 (AUC, F1), which share one axis. */
function metricNames(versions: ModelItem['versions'], scores = false): string[] {
  const counts = new Map<string, number>();
  const outside = new Set<string>();
  for (const v of versions) {
    for (const [name, value] of Object.entries(v.metrics ?? {})) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (value < 0 || value > 1) outside.add(name);
    }
  }
  return [...counts.entries()]
    .filter(([name]) => !scores || !outside.has(name))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name]) => name);
}

async function models(ctx: Context): Promise<ModelItem[]> {
  const store = ctx.ledger().models;
  const out: ModelItem[] = [];
  for (const summary of await store.list()) {
    const versions = (await store.versions(summary.name, MODEL_VERSIONS)).map((v) => ({ id: v.id, version: v.version, createdAt: v.createdAt, metrics: v.metrics, aliases: v.aliases, runId: v.runId }));
    const events = (await store.aliasEvents(summary.name, undefined, ALIAS_EVENTS)).map((e) => ({ alias: e.alias, fromVersion: e.fromVersion, toVersion: e.toVersion, actor: e.actor, reason: e.reason, forced: e.forced, at: e.at }));
    out.push({
      name: summary.name,
      aliases: summary.aliases,
      versions,
      events,
      chartMetrics: metricNames(versions, true).slice(0, CHART_METRICS),
      tableMetrics: metricNames(versions).slice(0, TABLE_METRICS),
    });
  }
  return out;
}

/**
 * What the report and the UI's overview show, for one window: the metrics (exactly `ops metrics
 * --json`), the releases and incidents behind them, models, and the latest triage.
 */
export async function overview(ctx: Context, request: MetricsRequest): Promise<OverviewView> {
  const { report: metrics, facts, environments, window } = await measure(ctx, request);
  const store = ctx.ledger().metrics;
  const filter = { envs: environments, service: request.service, fromMs: window.since, toMs: window.until };
  const inWindow = facts.releases.filter((r) => r.finishedAt! >= window.since && r.finishedAt! < window.until).sort((a, b) => b.finishedAt! - a.finishedAt! || b.id - a.id);
  const byId = new Map(inWindow.map((r) => [r.id, r]));
  const rows = await store.recentReleases(filter, TABLE_ROWS);
  const incidentsOf = await store.incidentsOfReleases(rows.map((r) => r.id));
  const releases: ReleaseItem[] = rows.map((r) => ({
    ...r,
    risk: byId.get(r.id)?.risk ?? null,
    causedIncident: byId.get(r.id)?.causedIncident ?? false,
    incidents: incidentsOf.get(r.id) ?? [],
  }));
  const timeline = inWindow
    .filter((r) => isChange(r) || r.rollbackTo != null)
    .slice(0, TIMELINE_POINTS)
    .map((r) => ({ id: r.id, lane: `${r.service}/${r.env}`, at: r.finishedAt!, kind: timelineKind(r) }));

  const recent = await store.recentIncidents(filter, TABLE_ROWS);
  const suspects = await store.suspectsOf(recent.map((i) => i.id));
  const triaged = (await store.latestTriage(environments, request.service, TABLE_ROWS)).map((t) => ({ ...t, hypotheses: t.hypotheses as Hypothesis[] }));
  const topOf = new Map(triaged.map((t) => [t.incidentId, t.hypotheses[0]]));
  const incidents: IncidentItem[] = recent.map((i) => {
    const top = topOf.get(i.id);
    return {
      ...i,
      restoreMs: i.resolvedAt == null ? null : Math.max(0, i.resolvedAt - i.beganAt),
      suspects: suspects.get(i.id) ?? [],
      triage: top ? { title: top.title, confidence: top.confidence } : null,
    };
  });
  return { metrics, releases, releasesTotal: inWindow.length, timeline, incidents, models: await models(ctx), triage: triaged.slice(0, TRIAGE_REPORTS) };
}

/** What the page's script draws from (the metrics, the timeline, incidents, models). */
export function chartData(view: OverviewView): object {
  return {
    metrics: view.metrics,
    timeline: view.timeline,
    incidents: view.incidents.map((i) => ({ id: i.id, beganAt: i.beganAt, restoreMs: i.restoreMs })),
    models: view.models.map((m) => ({ name: m.name, chartMetrics: m.chartMetrics, versions: m.versions.map((v) => ({ version: v.version, metrics: v.metrics })) })),
  };
}
