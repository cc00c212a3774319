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
export async function suspectsFor(ctx: Context, service: string, env: string, beganAt: number, windowMs: number): Promise<Suspect[]> {
  const services = [service, ...(ctx.config?.services[service]?.dependsOn ?? [])];
  return (await ctx.ledger().releases.runningAt(services, env, beganAt))
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
async function promote(ctx: Context, store: IncidentStore, signal: StoredSignal, policy: Policy, now: number, changes: Changes): Promise<void> {
  const group = await store.groupFor(signal.service, signal.env, now - policy.groupWindowMs);
  if (group) {
    await store.attachSignal(signal.id, group.id);
    await store.touch(group.id, signal.count, signal.severity, now);
    await store.addEvent(group.id, 'signal', { condition: signal.condition, resource: signal.resource, message: signal.message }, now);
    return;
  }
  const recurrenceOf = await store.lastResolvedWith(signal.fingerprint);
  const { incident, created } = await store.create({ signal, title: title(signal), recurrenceOf }, now);
  await store.attachSignal(signal.id, incident.id);
  if (!created) {
    // Another watcher opened it a moment ago: this one only counts its signal.
    await store.touch(incident.id, 1, signal.severity, now);
    return;
  }
  await store.addEvent(incident.id, 'opened', { condition: signal.condition, resource: signal.resource, message: signal.message, recurrenceOf }, now);
  const suspects = await suspectsFor(ctx, signal.service, signal.env, signal.firstSeenAt, policy.correlationWindowMs);
  await store.setSuspects(incident.id, suspects);
  changes.opened.push(incident);
}

/**
 * Apply what one source said: a known fingerprint updates its signal (and incident), a new one waits
 * until minCount signals or `for` has passed, then joins or opens an incident; signals the source no
 * longer reports are cleared. An unreachable source is recorded and changes no signal.
 */
export async function applyReport(ctx: Context, report: SourceReport, policy: Policy, memory: unknown, now: number, changes: Changes): Promise<void> {
  const store = ctx.ledger().incidents;
  await store.atomically(async () => {
    await store.recordCheck({ key: report.source, type: report.type, service: report.service, env: report.env, error: report.error ?? null, memory }, now);
    if (report.error) return;
    const seen = new Set<string>();
    for (const raw of report.signals) {
      const signal = cleanSignal(ctx, raw);
      const print = fingerprint(report.service, report.env, signal.condition, signal.resource);
      if (seen.has(print)) continue;
      seen.add(print);
      // Whether it had cleared, only for the event; the write below is insert-or-get on the live fingerprint.
      const before = await store.liveSignal(print);
      const stored = await store.recordSignal({ fingerprint: print, source: report.source, service: report.service, env: report.env, condition: signal.condition, resource: signal.resource, severity: signal.severity, message: signal.message, details: signal.details ?? null }, now);
      if (stored.incidentId) {
        await store.touch(stored.incidentId, 1, signal.severity, now);
        if (before && before.clearedAt !== null) await store.addEvent(stored.incidentId, 'signal', { condition: stored.condition, resource: stored.resource, message: stored.message, again: true }, now);
        continue;
      }
      if (stored.count >= policy.minCount && now - stored.firstSeenAt >= policy.forMs) await promote(ctx, store, stored, policy, now, changes);
    }
    if (report.partial) return;
    for (const live of await store.liveSignalsOfSource(report.source)) {
      if (!seen.has(live.fingerprint)) await store.clearSignal(live, now);
    }
  });
}

/** Resolve incidents whose every signal has been clear for `resolveAfterMs`. */
export async function resolveQuiet(ctx: Context, resolveAfterMs: number, now: number, changes: Changes): Promise<void> {
  const store = ctx.ledger().incidents;
  await store.atomically(async () => {
    for (const incident of await store.quietSince(now - resolveAfterMs)) {
      await store.resolve(incident.id, { by: 'ops watch' }, now);
      await store.addEvent(incident.id, 'resolved', { by: 'ops watch', reason: `healthy for ${Math.round(resolveAfterMs / 1000)} s` }, now);
      changes.resolved.push((await store.get(incident.id))!);
    }
  });
}

/** Alertmanager said an alert resolved: clear its signal, and resolve the incident once all its signals are clear. */
export async function clearAlert(ctx: Context, service: string, env: string, condition: string, resource: string, now: number, changes: Changes): Promise<void> {
  const store = ctx.ledger().incidents;
  await store.atomically(async () => {
    const live = await store.liveSignal(fingerprint(service, env, condition, resource));
    if (!live) return;
    await store.clearSignal(live, now);
    if (live.incidentId === null) return;
    if ((await store.signalsOf(live.incidentId)).every((s) => s.clearedAt !== null)) {
      await store.resolve(live.incidentId, { by: 'alertmanager' }, now);
      await store.addEvent(live.incidentId, 'resolved', { by: 'alertmanager', condition, resource }, now);
      changes.resolved.push((await store.get(live.incidentId))!);
    }
  });
}
