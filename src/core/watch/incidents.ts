import type { Context } from '../context.js';
import type { Incident, StoredSignal, Suspect } from '../../ledger/index.js';
import type { IncidentStore } from '../../ledger/incidents.js';
import { redact } from '../../redact.js';
import { fingerprint, type Signal } from './types.js';

/** When a source's signals become an incident, and when a quiet one resolves. */
export interface Policy {
  minCount: number;
  forMs: number;
  groupWindowMs: number;
  resolveAfterMs: number;
  correlationWindowMs: number;
}

/** What a batch of signals changed: incidents to notify about. */
export interface Changes {
  opened: Incident[];
  resolved: Incident[];
}

export interface SourceReport {
  source: string;
  service: string;
  env: string;
  type: string;
  error: string | null;
  signals: Signal[];
  /** Only some of the source's signals (a webhook's alerts): the others are not cleared. */
  partial?: boolean;
}

const TITLES: Record<string, string> = {
  'oom-killed': 'killed for memory',
  restarting: 'restarting',
  exited: 'container exited',
  unhealthy: 'failing its health check',
  missing: 'no container running',
  'http-down': 'HTTP check failing',
  threshold: 'metric past its threshold',
  anomaly: 'metric anomaly',
  'alert-flood': 'alerts held back by the intake limits',
};

function title(signal: StoredSignal): string {
  const what = TITLES[signal.condition] ?? signal.condition;
  return `${signal.service} in ${signal.env}: ${what} (${signal.resource})`;
}

/**
 * Releases that may have caused an incident: what ran when it began, of the service and of the
 * services it depends on, in its environment: each one's live release and any rollout under way,
 * if it finished (or started) within `windowMs` before. A release already replaced when the incident
 * began ran no part of it and is no suspect. Ranked by closeness in time (60%) and by risk score
 * (40%; an unscored release adds nothing, so it never outranks a scored one on risk), a dependency's
 * release at 0.8 of the service's own.
 */
export function suspectsFor(ctx: Context, service: string, env: string, beganAt: number, windowMs: number): Suspect[] {
  const services = [service, ...(ctx.config?.services[service]?.dependsOn ?? [])];
  return ctx
    .ledger()
    .releases.runningAt(services, env, beganAt)
    .map((release) => {
      const at = Math.min(beganAt, Date.parse(release.finishedAt ?? release.createdAt));
      return { release, beforeMs: beganAt - at };
    })
    .filter(({ beforeMs }) => beforeMs <= windowMs)
    .map(({ release, beforeMs }) => {
      const closeness = windowMs > 0 ? 1 - beforeMs / windowMs : 1;
      const risk = release.risk.status === 'scored' && release.risk.probability !== undefined ? release.risk.probability : null;
      const ownService = release.service === service ? 1 : 0.8;
      return { releaseId: release.id, beforeMs, risk, score: ownService * (0.6 * closeness + 0.4 * (risk ?? 0)) };
    })
    .sort((a, b) => b.score - a.score || a.beforeMs - b.beforeMs)
    .map((s, i) => ({ ...s, rank: i + 1 }));
}

function cleanSignal(ctx: Context, signal: Signal): Signal {
  return {
    ...signal,
    message: redact(signal.message, ctx.secrets),
    details: signal.details ? (JSON.parse(redact(JSON.stringify(signal.details), ctx.secrets)) as Record<string, unknown>) : undefined,
  };
}

/** Promote a live signal: into the service's open incident within groupWindow, else a new incident. */
function promote(ctx: Context, store: IncidentStore, signal: StoredSignal, policy: Policy, now: number, changes: Changes): void {
  const group = store.groupFor(signal.service, signal.env, now - policy.groupWindowMs);
  if (group) {
    store.attachSignal(signal.id, group.id);
    store.touch(group.id, signal.count, signal.severity, now);
    store.addEvent(group.id, 'signal', { condition: signal.condition, resource: signal.resource, message: signal.message }, now);
    return;
  }
  const recurrenceOf = store.lastResolvedWith(signal.fingerprint);
  const incident = store.create({ signal, title: title(signal), recurrenceOf }, now);
  store.attachSignal(signal.id, incident.id);
  store.addEvent(incident.id, 'opened', { condition: signal.condition, resource: signal.resource, message: signal.message, recurrenceOf }, now);
  const suspects = suspectsFor(ctx, signal.service, signal.env, signal.firstSeenAt, policy.correlationWindowMs);
  store.setSuspects(incident.id, suspects);
  changes.opened.push(incident);
}

/**
 * Apply what one source said: a known fingerprint updates its signal (and incident), a new one waits
 * until minCount signals or `for` has passed, then joins or opens an incident; signals the source no
 * longer reports are cleared. An unreachable source is recorded and changes no signal.
 */
export function applyReport(ctx: Context, report: SourceReport, policy: Policy, memory: unknown, now: number, changes: Changes): void {
  const store = ctx.ledger().incidents;
  store.atomically(() => {
    store.recordCheck({ key: report.source, type: report.type, service: report.service, env: report.env, error: report.error ?? null, memory }, now);
    if (report.error) return;
    const seen = new Set<string>();
    for (const raw of report.signals) {
      const signal = cleanSignal(ctx, raw);
      const print = fingerprint(report.service, report.env, signal.condition, signal.resource);
      if (seen.has(print)) continue;
      seen.add(print);
      const live = store.liveSignal(print);
      if (live?.incidentId) {
        const updated = store.seeSignal(live.id, signal.message, signal.details ?? null, now);
        store.touch(live.incidentId, 1, signal.severity, now);
        if (live.clearedAt !== null) store.addEvent(live.incidentId, 'signal', { condition: updated.condition, resource: updated.resource, message: updated.message, again: true }, now);
        continue;
      }
      const pending = live
        ? store.seeSignal(live.id, signal.message, signal.details ?? null, now)
        : store.addSignal({ fingerprint: print, source: report.source, service: report.service, env: report.env, condition: signal.condition, resource: signal.resource, severity: signal.severity, message: signal.message, details: signal.details ?? null }, now);
      if (pending.count >= policy.minCount && now - pending.firstSeenAt >= policy.forMs) promote(ctx, store, pending, policy, now, changes);
    }
    if (report.partial) return;
    for (const live of store.liveSignalsOfSource(report.source)) {
      if (!seen.has(live.fingerprint)) store.clearSignal(live, now);
    }
  });
}

/** Resolve incidents whose every signal has been clear for `resolveAfterMs`. */
export function resolveQuiet(ctx: Context, resolveAfterMs: number, now: number, changes: Changes): void {
  const store = ctx.ledger().incidents;
  store.atomically(() => {
    for (const incident of store.quietSince(now - resolveAfterMs)) {
      store.resolve(incident.id, { by: 'ops watch' }, now);
      store.addEvent(incident.id, 'resolved', { by: 'ops watch', reason: `healthy for ${Math.round(resolveAfterMs / 1000)} s` }, now);
      changes.resolved.push(store.get(incident.id)!);
    }
  });
}

/** Alertmanager said an alert resolved: clear its signal, and resolve the incident once all its signals are clear. */
export function clearAlert(ctx: Context, service: string, env: string, condition: string, resource: string, now: number, changes: Changes): void {
  const store = ctx.ledger().incidents;
  store.atomically(() => {
    const live = store.liveSignal(fingerprint(service, env, condition, resource));
    if (!live) return;
    store.clearSignal(live, now);
    if (live.incidentId === null) return;
    if (store.signalsOf(live.incidentId).every((s) => s.clearedAt !== null)) {
      store.resolve(live.incidentId, { by: 'alertmanager' }, now);
      store.addEvent(live.incidentId, 'resolved', { by: 'alertmanager', condition, resource }, now);
      changes.resolved.push(store.get(live.incidentId)!);
    }
  });
}
