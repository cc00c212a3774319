import type { Context } from '../context.js';
import type { Incident } from '../../ledger/index.js';
import { sleep } from '../process.js';

export type NotifyEvent = 'opened' | 'acknowledged' | 'resolved';

const BACKOFF_MS = 500;

/** Slack's incoming-webhook JSON: `text` for every client, blocks for Slack itself, and the incident for other receivers. */
export function slackPayload(incident: Incident, event: NotifyEvent): Record<string, unknown> {
  const icon = event === 'resolved' ? ':white_check_mark:' : event === 'acknowledged' ? ':eyes:' : ':rotating_light:';
  const text = `${icon} Incident #${incident.id} ${event}: ${incident.title}`;
  const fields = [`*State:* ${incident.state}`, `*Severity:* ${incident.severity}`, `*Signals:* ${incident.signalCount}`];
  if (incident.cause) fields.push(`*Cause:* ${incident.cause}`);
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      { type: 'context', elements: fields.map((field) => ({ type: 'mrkdwn', text: field })) },
    ],
    incident: { id: incident.id, event, state: incident.state, service: incident.service, env: incident.env, condition: incident.condition, resource: incident.resource, title: incident.title, severity: incident.severity },
  };
}


/**
 * Tell the configured webhook, with `retries` more attempts (backoff 0.5 s, 1 s, 2 s...) and a timeout
 * each; the outcome is recorded and a failure only warns: detection never waits on it.
 */
export async function notify(ctx: Context, incident: Incident, event: NotifyEvent): Promise<void> {
  const target = ctx.config?.watch.notify;
  if (!target) return;
  const payload = slackPayload(incident, event);
  let attempts = 0;
  let error: string | undefined;
  for (; attempts <= target.retries && !ctx.cancel.aborted; ) {
    if (attempts > 0) await sleep(BACKOFF_MS * 2 ** (attempts - 1), ctx.cancel);
    attempts++;
    const answer = await ctx.adapters.http.postJson(target.webhook, payload, target.timeout);
    if (answer.ok) {
      error = undefined;
      break;
    }
    error = answer.error ?? 'failed';
  }
  const shownTarget = target.webhook.replace(/(\/\/[^/]+\/).*/, '$1…');
  await ctx.ledger().incidents.recordNotification({ incidentId: incident.id, event, target: shownTarget, status: error ? 'failed' : 'sent', attempts, error: error ?? null, at: ctx.clock.now() });
  if (error) ctx.output.warn(`notification of incident #${incident.id} ${event} failed after ${attempts} attempt(s): ${error}`);
}
