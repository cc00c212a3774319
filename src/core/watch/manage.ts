import type { Context } from '../context.js';
import { NotFoundError, quote, UsageError } from '../../errors.js';
import { INCIDENT_STATES, type Incident, type IncidentEvent, type IncidentState, type NotificationRecord, type Release, type StoredSignal, type Suspect } from '../../ledger/index.js';
import { notify } from './notify.js';

export function parseState(value: string | undefined): IncidentState | 'unresolved' | undefined {
  if (value === undefined) return undefined;
  if (value === 'unresolved' || (INCIDENT_STATES as readonly string[]).includes(value)) return value as IncidentState | 'unresolved';
  throw new UsageError(`unknown incident state ${quote(value)}`, `use one of ${[...INCIDENT_STATES, 'unresolved'].join(', ')}`);
}

export function listIncidents(ctx: Context, filter: { state?: IncidentState | 'unresolved'; service?: string; env?: string; limit: number }): Promise<Incident[]> {
  return ctx.ledger().incidents.list(filter);
}

export interface IncidentDetail {
  incident: Incident;
  signals: StoredSignal[];
  timeline: IncidentEvent[];
  suspects: Array<Suspect & { release: Pick<Release, 'id' | 'service' | 'env' | 'revision' | 'image' | 'gitSha' | 'status' | 'createdAt' | 'finishedAt'> | null }>;
  notifications: NotificationRecord[];
}

export async function incidentOrFail(ctx: Context, id: number): Promise<Incident> {
  const incident = await ctx.ledger().incidents.get(id);
  if (!incident) throw new NotFoundError(`no incident #${id}`, 'list them with `ops incident list`');
  return incident;
}

export async function showIncident(ctx: Context, id: number): Promise<IncidentDetail> {
  const incident = await incidentOrFail(ctx, id);
  const ledger = ctx.ledger();
  const store = ledger.incidents;
  const suspects: IncidentDetail['suspects'] = [];
  for (const s of await store.suspects(id)) {
    const r = await ledger.releases.byId(s.releaseId);
    suspects.push({ ...s, release: r ? { id: r.id, service: r.service, env: r.env, revision: r.revision, image: r.image, gitSha: r.gitSha, status: r.status, createdAt: r.createdAt, finishedAt: r.finishedAt } : null });
  }
  return {
    incident,
    signals: await store.signalsOf(id),
    timeline: await store.events(id),
    suspects,
    notifications: await store.notifications(id),
  };
}

export async function acknowledgeIncident(ctx: Context, id: number): Promise<Incident> {
  const store = ctx.ledger().incidents;
  const now = ctx.clock.now();
  const incident = await store.atomically(async () => {
    const found = await incidentOrFail(ctx, id);
    if (found.state !== 'open') throw new UsageError(`incident #${id} is ${found.state}, not open`, found.state === 'resolved' ? 'a new signal opens a new incident' : 'it is already acknowledged');
    await store.acknowledge(id, ctx.actor, now);
    await store.addEvent(id, 'acknowledged', { by: ctx.actor }, now);
    return (await store.get(id))!;
  });
  await notify(ctx, incident, 'acknowledged');
  return incident;
}

/** `release:<id>` names a release of the ledger as the cause (a label for the risk scorer); any other text is kept as written. */
export async function parseCause(ctx: Context, cause: string | undefined): Promise<{ cause: string | null; causeRelease: number | null }> {
  if (cause === undefined) return { cause: null, causeRelease: null };
  const release = /^release:(\d+)$/.exec(cause.trim());
  if (release) {
    const id = Number(release[1]);
    const found = await ctx.ledger().releases.byId(id);
    if (!found) throw new NotFoundError(`no release ${id} in the ledger`, 'see `ops deploy history <service> --env <env>` for release ids');
    return { cause: `release ${id} (${found.service} r${found.revision} in ${found.env})`, causeRelease: id };
  }
  if (cause.trim() === '') throw new UsageError('--cause is empty', 'pass --cause release:<id> or a short text');
  return { cause: cause.trim(), causeRelease: null };
}

export async function resolveIncident(ctx: Context, id: number, options: { cause?: string; note?: string }): Promise<Incident> {
  const store = ctx.ledger().incidents;
  const now = ctx.clock.now();
  const cause = await parseCause(ctx, options.cause);
  const note = options.note ?? null;
  const incident = await store.atomically(async () => {
    const found = await incidentOrFail(ctx, id);
    if (found.state === 'resolved') throw new UsageError(`incident #${id} is already resolved`, 'a new signal opens a new incident, linked to this one');
    await store.resolve(id, { by: ctx.actor, cause: cause.cause, causeRelease: cause.causeRelease, note }, now);
    await store.addEvent(id, 'resolved', { by: ctx.actor, cause: cause.cause, causeRelease: cause.causeRelease, note }, now);
    return (await store.get(id))!;
  });
  await notify(ctx, incident, 'resolved');
  return incident;
}
