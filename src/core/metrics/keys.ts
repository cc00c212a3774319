/**
 * DORA's four keys as pure functions over plain records, after dora-team/fourkeys (METRICS.md):
 * deployment frequency counts successful production deployments, lead time runs from a change's
 * commit to the deployment that first carries it to production, change failure rate is failed
 * deployments over deployments, time to restore runs from a failure to its remediation.
 */
import type { ChangeFact, IncidentFact, ReleaseFact } from '../../ledger/metrics.js';

export type { ChangeFact, IncidentFact, ReleaseFact };

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;
/** fourkeys' month: 730 hours. */
export const MONTH_MS = 730 * HOUR_MS;

export type Band = 'elite' | 'high' | 'medium' | 'low';

export interface Window {
  since: number;
  until: number;
}

export interface KeyFigures {
  deploymentFrequency: { deployments: number; perDay: number; perWeek: number; band: Band };
  leadTime: { changes: number; medianMs: number | null; p90Ms: number | null; band: Band | null };
  changeFailureRate: { releases: number; failed: number; rate: number | null; band: Band | null };
  timeToRestore: { restored: number; unrestored: number; medianMs: number | null; p90Ms: number | null; band: Band | null };
}

/** The release ran in production: it became healthy (later releases may have replaced it). */
export function wentLive(r: ReleaseFact): boolean {
  return r.status === 'deployed' || r.status === 'superseded' || (r.status === 'rolled_back' && r.error == null);
}

/** A finished release that delivers a change (rollbacks only restore one). */
export function isChange(r: ReleaseFact): boolean {
  return r.rollbackTo == null && r.status !== 'pending' && r.finishedAt != null;
}

/** Failed, rolled back, or named an incident's cause: one failure however many of these it is. */
export function isFailure(r: ReleaseFact): boolean {
  return r.status === 'failed' || r.status === 'rolled_back' || r.causedIncident;
}

/** PERCENTILE_CONT, as fourkeys' BigQuery: linear between the closest ranks. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * Performance bands of the State of DevOps reports (the thresholds and their sources are in the
 * README): deployments per day, then median lead time, change failure rate and median time to restore.
 */
export const BANDS = {
  deploymentFrequency: (perDay: number): Band => (perDay >= 1 ? 'elite' : perDay >= 1 / 7 ? 'high' : perDay >= DAY_MS / MONTH_MS ? 'medium' : 'low'),
  leadTime: (ms: number): Band => (ms < DAY_MS ? 'elite' : ms < WEEK_MS ? 'high' : ms < MONTH_MS ? 'medium' : 'low'),
  changeFailureRate: (rate: number): Band => (rate <= 0.15 ? 'elite' : rate <= 0.3 ? 'high' : rate <= 0.45 ? 'medium' : 'low'),
  timeToRestore: (ms: number): Band => (ms < HOUR_MS ? 'elite' : ms < DAY_MS ? 'high' : ms < WEEK_MS ? 'medium' : 'low'),
};

const within = (at: number | null, w: Window) => at != null && at >= w.since && at < w.until;
const ascending = (a: number, b: number) => a - b;

export interface Facts {
  releases: ReleaseFact[];
  changes: ChangeFact[];
  incidents: IncidentFact[];
}

/** Lead times of the changes whose first live release finished in the window, one per commit and service/env. */
function leadTimes(facts: Facts, byId: Map<number, ReleaseFact>, w: Window): number[] {
  const first = new Map<string, { release: ReleaseFact; authoredAt: number }>();
  for (const change of facts.changes) {
    const release = byId.get(change.releaseId);
    if (!release || !wentLive(release) || !isChange(release)) continue;
    const key = `${release.service}\0${release.env}\0${change.sha}`;
    const known = first.get(key);
    if (!known || release.finishedAt! < known.release.finishedAt!) first.set(key, { release, authoredAt: change.authoredAt });
  }
  const leads: number[] = [];
  for (const { release, authoredAt } of first.values()) {
    const ms = release.finishedAt! - authoredAt;
    // A commit dated after its release is clock skew, not a change.
    if (within(release.finishedAt, w) && ms >= 0) leads.push(ms);
  }
  return leads.sort(ascending);
}

/**
 * Restores: an incident from began to resolved; a failed release no incident names, from its
 * finish to the finish of the next release that went live. Counted where the failure began.
 */
function restores(facts: Facts, w: Window): { durations: number[]; unrestored: number } {
  const durations: number[] = [];
  let unrestored = 0;
  for (const incident of facts.incidents) {
    if (!within(incident.beganAt, w)) continue;
    if (incident.resolvedAt == null) unrestored++;
    else durations.push(Math.max(0, incident.resolvedAt - incident.beganAt));
  }
  for (const r of facts.releases) {
    if (!isChange(r) || !isFailure(r) || r.causedIncident || !within(r.finishedAt, w)) continue;
    if (r.nextLiveAt == null) unrestored++;
    else durations.push(Math.max(0, r.nextLiveAt - r.finishedAt!));
  }
  return { durations: durations.sort(ascending), unrestored };
}

/** The four keys over one window. `facts` may hold records outside it (they are left out). */
export function fourKeys(facts: Facts, w: Window): KeyFigures {
  const byId = new Map(facts.releases.map((r) => [r.id, r]));
  const changes = facts.releases.filter((r) => isChange(r) && within(r.finishedAt, w));
  const deployments = changes.filter(wentLive).length;
  const failed = changes.filter(isFailure).length;
  const days = Math.max(1, w.until - w.since) / DAY_MS;
  const leads = leadTimes(facts, byId, w);
  const restored = restores(facts, w);
  const perDay = deployments / days;
  const leadMedian = percentile(leads, 0.5);
  const rate = changes.length ? failed / changes.length : null;
  const restoreMedian = percentile(restored.durations, 0.5);
  return {
    deploymentFrequency: { deployments, perDay, perWeek: perDay * 7, band: BANDS.deploymentFrequency(perDay) },
    leadTime: { changes: leads.length, medianMs: leadMedian, p90Ms: percentile(leads, 0.9), band: leadMedian == null ? null : BANDS.leadTime(leadMedian) },
    changeFailureRate: { releases: changes.length, failed, rate, band: rate == null ? null : BANDS.changeFailureRate(rate) },
    timeToRestore: {
      restored: restored.durations.length,
      unrestored: restored.unrestored,
      medianMs: restoreMedian,
      p90Ms: percentile(restored.durations, 0.9),
      band: restoreMedian == null ? null : BANDS.timeToRestore(restoreMedian),
    },
  };
}

export type Direction = 'better' | 'worse' | 'same';

/** Higher deployment frequency is better; lower lead time, failure rate and time to restore. */
export function trend(current: number | null, previous: number | null, higherIsBetter: boolean): { previous: number | null; change: number | null; direction: Direction | null } {
  if (current == null || previous == null) return { previous, change: null, direction: null };
  const change = current - previous;
  const direction: Direction = Math.abs(change) < 1e-9 ? 'same' : change > 0 === higherIsBetter ? 'better' : 'worse';
  return { previous, change, direction };
}

export type Bucket = 'day' | 'week';

/** Bucket boundaries covering the window: UTC days, or ISO weeks (Monday 00:00 UTC); the ends clipped to the window. */
export function buckets(w: Window, by: Bucket): Window[] {
  const out: Window[] = [];
  const start = new Date(w.since);
  start.setUTCHours(0, 0, 0, 0);
  if (by === 'week') start.setUTCDate(start.getUTCDate() - ((start.getUTCDay() + 6) % 7));
  const step = by === 'week' ? WEEK_MS : DAY_MS;
  for (let at = start.getTime(); at < w.until; at += step) out.push({ since: Math.max(at, w.since), until: Math.min(at + step, w.until) });
  return out;
}
