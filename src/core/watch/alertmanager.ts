import { z } from 'zod';
import type { Context } from '../context.js';
import { applyReport, clearAlert, type Changes } from './incidents.js';
import { announce, policyOf } from './index.js';
import type { Signal } from './types.js';

/** Bodies over this are refused with 413: Alertmanager groups are small, a huge body is a mistake or an attack. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;
export const ALERTMANAGER_SOURCE = 'alertmanager';

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
  body: { error?: string; firing?: number; resolved?: number; opened?: number[]; resolvedIncidents?: number[] };
}

/** One POST from Alertmanager: validated whole before anything is stored (400 names the first problem). */
export async function receiveAlerts(ctx: Context, body: Buffer): Promise<WebhookOutcome> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 400, body: { error: 'the body is not JSON' } };
  }
  const result = alertmanagerPayload.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { status: 400, body: { error: `not an Alertmanager v4 payload: ${issue.path.join('.') || 'body'}: ${issue.message}` } };
  }
  const watch = ctx.requireConfig().watch;
  const now = ctx.clock.now();
  const changes: Changes = { opened: [], resolved: [] };
  const firing = new Map<string, { service: string; env: string; signals: Signal[] }>();
  let resolvedCount = 0;
  for (const a of result.data.alerts) {
    const target = alertTarget(a);
    if (a.status === 'resolved') {
      clearAlert(ctx, target.service, target.env, target.condition, target.resource, now, changes);
      resolvedCount++;
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
  for (const group of firing.values()) {
    const source = `${ALERTMANAGER_SOURCE}:${group.service}/${group.env}`;
    // Alertmanager has already waited for its rule's `for`: an alert opens at once.
    applyReport(ctx, { source, type: 'alertmanager', service: group.service, env: group.env, error: null, signals: group.signals, partial: true }, policyOf(watch, { minCount: 1, for: 0 }), undefined, now, changes);
  }
  changes.opened = changes.opened.map((incident) => ctx.ledger().incidents.get(incident.id)!);
  await announce(ctx, changes);
  const firingCount = [...firing.values()].reduce((n, g) => n + g.signals.length, 0);
  return { status: 200, body: { firing: firingCount, resolved: resolvedCount, opened: changes.opened.map((i) => i.id), resolvedIncidents: changes.resolved.map((i) => i.id) } };
}
