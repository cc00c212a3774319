import { killedForMemory, type ListedContainer } from '../../../adapters/docker.js';
import type { Context } from '../../context.js';
import { pool } from '../../pool.js';
import { serviceLabels } from '../../deploy/docker.js';
import type { CheckResult, Signal } from '../types.js';

/** Until a container has run this long without restarting, a rise in its restart count still counts. */
export const RESTART_QUIET_MS = 60_000;
const INSPECT_CONCURRENCY = 8;

interface DockerMemory {
  /** Per container id: the restart count last seen, and when it last rose. */
  restarts: Record<string, { count: number; roseAt: number | null }>;
}

/**
 * Running for minutes or more and not unhealthy, by the list's summary ("Up 5 minutes (healthy)"):
 * nothing to look at closer, and no restart within the quiet period. Anything else is inspected.
 */
export function settled(container: Pick<ListedContainer, 'state' | 'status'>): boolean {
  return container.state === 'running' && /^Up (\d+ (minutes|hours|days|weeks|months|years)|About an hour)( \(healthy\))?$/.test(container.status);
}

/** The engine a Docker environment runs on (its `host`, else DOCKER_HOST or the local socket). */
export function dockerEndpoint(ctx: Context, env: string): { host?: string } {
  const environment = ctx.requireConfig().environments[env];
  return { host: environment?.target === 'docker' ? environment.host : undefined };
}

/**
 * Every container of the project on each engine, listed once per cycle however many services
 * are watched there; each docker source picks its own by label.
 */
export function projectListing(ctx: Context): (env: string) => Promise<ListedContainer[]> {
  const listings = new Map<string, Promise<ListedContainer[]>>();
  const project = ctx.requireConfig().project;
  return (env) => {
    const endpoint = dockerEndpoint(ctx, env);
    const key = endpoint.host ?? '';
    let listing = listings.get(key);
    if (!listing) listings.set(key, (listing = ctx.adapters.docker.listContainers(endpoint, ctx.env, { 'ops.project': project })));
    return listing;
  };
}

/**
 * The containers ops deployed for a service in a Docker environment (by label), and what is wrong
 * with them: restarting (or its restart count rising), unhealthy, OOM-killed, exited, or none running.
 * Only containers that the listing does not show as settled are inspected.
 */
export async function checkDocker(
  ctx: Context,
  service: string,
  env: string,
  listing: (env: string) => Promise<ListedContainer[]>,
  memory: DockerMemory | undefined,
  nowMs: number,
): Promise<CheckResult<DockerMemory>> {
  const endpoint = dockerEndpoint(ctx, env);
  const docker = ctx.adapters.docker;
  const wanted = serviceLabels(ctx.requireConfig().project, service, env);
  const listed = (await listing(env)).filter((c) => c.labels['ops.service'] === wanted['ops.service'] && c.labels['ops.env'] === wanted['ops.env']);
  const restarts: DockerMemory['restarts'] = {};
  for (const c of listed.filter(settled)) {
    const known = memory?.restarts[c.id];
    if (known) restarts[c.id] = known;
  }
  const states = (await pool(listed.filter((c) => !settled(c)), INSPECT_CONCURRENCY, (c) => docker.inspectContainer(endpoint, ctx.env, c.id))).filter((s) => s !== null);
  const signals: Signal[] = [];
  for (const state of states) {
    const before = memory?.restarts[state.id];
    // First sight: restarts count as rising only if the latest one was within the quiet period.
    const rose = before ? state.restartCount > before.count : state.restartCount > 0 && nowMs - Date.parse(state.startedAt) < RESTART_QUIET_MS;
    const roseAt = rose ? nowMs : (before?.roseAt ?? null);
    restarts[state.id] = { count: state.restartCount, roseAt };
    const resource = state.name;
    const exit = `exit code ${state.exitCode}${state.error ? `, ${state.error}` : ''}`;
    const oom = killedForMemory(state);
    if (oom) {
      // A restarted container runs again with exit code 0: its last exit code is gone.
      const how = !state.oomKilled ? `${exit} under a ${Math.round(state.memoryLimit / 2 ** 20)} MiB limit; the engine did not flag OOMKilled` : state.running ? `then restarted, ${state.restartCount} restarts` : exit;
      signals.push({ condition: 'oom-killed', resource, severity: 'critical', message: `${resource} was killed for using too much memory (${how})`, details: { exitCode: state.exitCode, restarts: state.restartCount, flagged: state.oomKilled } });
    }
    if (state.status === 'restarting' || (roseAt !== null && nowMs - roseAt < RESTART_QUIET_MS)) {
      const last = state.running ? '' : `, last ${exit}`;
      signals.push({ condition: 'restarting', resource, severity: 'critical', message: `${resource} keeps restarting: ${state.restartCount} restarts${last}`, details: { restarts: state.restartCount } });
    } else if (!state.running && !oom && ['exited', 'dead'].includes(state.status)) {
      signals.push({ condition: 'exited', resource, severity: 'critical', message: `${resource} is not running (${state.status}, ${exit})`, details: { exitCode: state.exitCode } });
    }
    if (state.health === 'unhealthy') {
      signals.push({ condition: 'unhealthy', resource, severity: 'warning', message: `${resource} fails its HEALTHCHECK${state.healthLog ? `: ${state.healthLog.slice(0, 200)}` : ''}`, details: { healthLog: state.healthLog ?? null } });
    }
  }
  if (listed.length === 0) {
    signals.push({ condition: 'missing', resource: service, severity: 'critical', message: `no container of ${service} in ${env}`, details: {} });
  }
  return { signals, memory: { restarts } };
}
