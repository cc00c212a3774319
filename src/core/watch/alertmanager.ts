import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import type { Context } from '../context.js';
import type { Incident } from '../../ledger/index.js';
import { applyReport, clearAlert, type Changes } from './incidents.js';
import { announce, policyOf } from './index.js';
import { fingerprint, type Signal } from './types.js';

/** Bodies over this are refused with 413: Alertmanager groups are small, a huge body is a mistake or an attack. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;
export const ALERTMANAGER_SOURCE = 'alertmanager';
/** The one incident that counts what the limits held back (service alertmanager, condition alert-flood). */
export const FLOOD_SOURCE = `${ALERTMANAGER_SOURCE}:flood`;
export const FLOOD_CONDITION = 'alert-flood';

const alert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()).refine((labels) => typeof labels.alertname === 'string' && labels.alertname !== '', 'an alert needs an alertname label'),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

/** Alertmanager's webhook payload, version 4. */
export const alertmanagerPayload = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: z.record(z.string(), z.string()).default({}),
  commonLabels: z.record(z.string(), z.string()).default({}),
  commonAnnotations: z.record(z.string(), z.string()).default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alert).min(1),
});

/** The payload's envelope and its alerts as given: alerts past the cap are counted, never validated or stored. */
const envelope = alertmanagerPayload.extend({ alerts: z.array(z.unknown()).min(1) });

type Alert = z.infer<typeof alert>;

/** Whose alert it is: the service, app or job label; the env or environment label (else "default"). */
export function alertTarget(a: Alert): { service: string; env: string; condition: string; resource: string } {
  const labels = a.labels;
  const resource =
    a.fingerprint ??
    Object.entries(labels)
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  return { service: labels.service ?? labels.app ?? labels.job ?? 'unknown', env: labels.env ?? labels.environment ?? 'default', condition: labels.alertname!, resource };
}

export interface WebhookOutcome {
  status: number;
  body: { error?: string; firing?: number; resolved?: number; opened?: number[]; resolvedIncidents?: number[]; heldBack?: number; floodIncident?: number };
}

/**
 * What one sender may do: at most `maxAlerts` alerts a request, `incidentsPerMinute` new incidents
 * a minute. Kept in memory by the receiver, per sending address.
 */
export class IntakeLimits {
  private readonly opened = new Map<string, number[]>();

  constructor(
    readonly maxAlerts: number,
    readonly incidentsPerMinute: number,
  ) {}

  /** Take one new incident from the sender's budget of the last minute; false when it is spent. */
  takeIncident(sender: string, nowMs: number): boolean {
    const recent = (this.opened.get(sender) ?? []).filter((at) => at > nowMs - 60_000);
    const allowed = recent.length < this.incidentsPerMinute;
    if (allowed) recent.push(nowMs);
    if (recent.length) this.opened.set(sender, recent);
    else this.opened.delete(sender);
    return allowed;
  }
}

/** Work on the event loop in slices of this much, so one large body never holds other requests up. */
const SLICE_MS = 10;

function parseError(issue: z.ZodIssue): WebhookOutcome {
  return { status: 400, body: { error: `not an Alertmanager v4 payload: ${issue.path.join('.') || 'body'}: ${issue.message}` } };
}

/**
 * One POST from Alertmanager: validated whole before anything is stored (400 names the first
 * problem). Alerts past `limits.maxAlerts`, and groups that would open an incident past the
 * sender's `incidentsPerMinute`, are held back: counted into one alert-flood incident that says how
 * many, with the services they named.
 */
export async function receiveAlerts(ctx: Context, body: Buffer, sender: string, limits: IntakeLimits): Promise<WebhookOutcome> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 400, body: { error: 'the body is not JSON' } };
  }
  const outer = envelope.safeParse(parsed);
  if (!outer.success) return parseError(outer.error.issues[0]!);
  let sliceStart = performance.now();
  const breathe = async () => {
    if (performance.now() - sliceStart < SLICE_MS) return;
    await nextTurn();
    sliceStart = performance.now();
  };
  const given = outer.data.alerts;
  // Validated one by one, in slices: a 4,000-alert body took 0.5 s of zod at once on a loaded machine.
  const taken: Alert[] = [];
  for (const [i, raw] of given.slice(0, limits.maxAlerts).entries()) {
    const checked = alert.safeParse(raw);
    if (!checked.success) return parseError({ ...checked.error.issues[0]!, path: ['alerts', i, ...checked.error.issues[0]!.path] });
    taken.push(checked.data);
    await breathe();
  }
  const held = { alerts: given.length - taken.length, services: new Set<string>() };
  for (const a of given.slice(limits.maxAlerts)) {
    const labels = (a as { labels?: Record<string, unknown> } | null)?.labels;
    const service = labels?.service ?? labels?.app ?? labels?.job;
    if (typeof service === 'string') held.services.add(service);
  }

  const watch = ctx.requireConfig().watch;
  const now = ctx.clock.now();
  const changes: Changes = { opened: [], resolved: [] };
  const firing = new Map<string, { service: string; env: string; signals: Signal[] }>();
  let resolvedCount = 0;
  for (const a of taken) {
    const target = alertTarget(a);
    if (a.status === 'resolved') {
      await clearAlert(ctx, target.service, target.env, target.condition, target.resource, now, changes);
      resolvedCount++;
      await breathe();
      continue;
    }
    const group = firing.get(`${target.service}/${target.env}`) ?? { service: target.service, env: target.env, signals: [] };
    group.signals.push({
      condition: target.condition,
      resource: target.resource,
      severity: a.labels.severity === 'critical' ? 'critical' : 'warning',
      message: a.annotations.summary ?? a.annotations.description ?? `${target.condition} is firing`,
      details: { labels: a.labels, startsAt: a.startsAt, generatorURL: a.generatorURL ?? null },
    });
    firing.set(`${target.service}/${target.env}`, group);
  }
  const store = ctx.ledger().incidents;
  // Alertmanager has already waited for its rule's `for`: an alert opens at once.
  const policy = policyOf(watch, { minCount: 1, for: 0 });
  for (const group of firing.values()) {
    const joins = (await store.groupFor(group.service, group.env, now - policy.groupWindowMs)) !== undefined;
    if (!joins && !limits.takeIncident(sender, now)) {
      held.alerts += group.signals.length;
      held.services.add(group.service);
      continue;
    }
    const source = `${ALERTMANAGER_SOURCE}:${group.service}/${group.env}`;
    await applyReport(ctx, { source, type: 'alertmanager', service: group.service, env: group.env, error: null, signals: group.signals, partial: true }, policy, undefined, now, changes);
    await breathe();
  }
  const floodIncident = held.alerts > 0 ? await recordFlood(ctx, sender, held, limits, now, changes) : undefined;
  const opened: Incident[] = [];
  for (const incident of changes.opened) {
    opened.push((await store.get(incident.id))!);
    await breathe();
  }
  changes.opened = opened;
  await announce(ctx, changes);
  const firingCount = [...firing.values()].reduce((n, g) => n + g.signals.length, 0);
  return {
    status: 200,
    body: {
      firing: firingCount,
      resolved: resolvedCount,
      opened: changes.opened.map((i) => i.id),
      resolvedIncidents: changes.resolved.map((i) => i.id),
      ...(held.alerts > 0 ? { heldBack: held.alerts, floodIncident } : {}),
    },
  };
}

/** Count held-back alerts into the sender's alert-flood incident (one per sender while it is open); returns its id. */
function recordFlood(ctx: Context, sender: string, held: { alerts: number; services: Set<string> }, limits: IntakeLimits, now: number, changes: Changes): Promise<number | undefined> {
  const store = ctx.ledger().incidents;
  const service = ALERTMANAGER_SOURCE;
  const env = 'default';
  const resource = `sender ${sender}`;
  const print = fingerprint(service, env, FLOOD_CONDITION, resource);
  // Read and add in one transaction: two receivers sharing a ledger never lose a count.
  return store.atomically(async () => {
    const before = await store.liveSignal(print);
    const total = held.alerts + Number(before?.details?.heldBack ?? 0);
    const services = [...new Set([...((before?.details?.services as string[] | undefined) ?? []), ...held.services])].sort();
    const shown = services.slice(0, 10).join(', ') + (services.length > 10 ? ` and ${services.length - 10} more` : '');
    const signal: Signal = {
      condition: FLOOD_CONDITION,
      resource,
      severity: 'warning',
      message: `${total} alert(s) from ${sender} held back by the intake's limits (${limits.maxAlerts} alerts a request, ${limits.incidentsPerMinute} new incidents a minute)${shown ? `; services: ${shown}` : ''}`,
      details: { heldBack: total, services: services.slice(0, 100), maxAlerts: limits.maxAlerts, incidentsPerMinute: limits.incidentsPerMinute },
    };
    const report = { source: FLOOD_SOURCE, type: 'alertmanager', service, env, error: null, signals: [signal], partial: true };
    await applyReport(ctx, report, policyOf(ctx.requireConfig().watch, { minCount: 1, for: 0 }), undefined, now, changes);
    return (await store.liveSignal(print))?.incidentId ?? undefined;
  });
}
