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
 * The containers ops deployed for a service in a Docker environment (by label), and what is wrong
 * with them: restarting (or its restart count rising), unhealthy, OOM-killed, exited, or none running.
 */
export async function checkDocker(ctx: Context, service: string, env: string, memory: DockerMemory | undefined, nowMs: number): Promise<CheckResult<DockerMemory>> {
  const config = ctx.requireConfig();
  const environment = config.environments[env];
  const endpoint = { host: environment?.target === 'docker' ? environment.host : undefined };
  const docker = ctx.adapters.docker;
  const listed = await docker.listContainers(endpoint, ctx.env, serviceLabels(config.project, service, env));
  const states = (await pool(listed, INSPECT_CONCURRENCY, (c) => docker.inspectContainer(endpoint, ctx.env, c.id))).filter((s) => s !== null);
  const restarts: DockerMemory['restarts'] = {};
  const signals: Signal[] = [];
  for (const state of states) {
    const before = memory?.restarts[state.id];
    const rose = state.restartCount > (before?.count ?? 0);
    const roseAt = rose ? nowMs : (before?.roseAt ?? null);
    restarts[state.id] = { count: state.restartCount, roseAt };
    const resource = state.name;
    const exit = `exit code ${state.exitCode}${state.error ? `, ${state.error}` : ''}`;
    if (state.oomKilled) {
      signals.push({ condition: 'oom-killed', resource, severity: 'critical', message: `${resource} was killed for using too much memory (${exit})`, details: { exitCode: state.exitCode, restarts: state.restartCount } });
    }
    if (state.status === 'restarting' || (roseAt !== null && nowMs - roseAt < RESTART_QUIET_MS)) {
      signals.push({ condition: 'restarting', resource, severity: 'critical', message: `${resource} keeps restarting: ${state.restartCount} restarts, last ${exit}`, details: { exitCode: state.exitCode, restarts: state.restartCount } });
    } else if (!state.running && !state.oomKilled && ['exited', 'dead'].includes(state.status)) {
      signals.push({ condition: 'exited', resource, severity: 'critical', message: `${resource} is not running (${state.status}, ${exit})`, details: { exitCode: state.exitCode } });
    }
    if (state.health === 'unhealthy') {
      signals.push({ condition: 'unhealthy', resource, severity: 'warning', message: `${resource} fails its HEALTHCHECK${state.healthLog ? `: ${state.healthLog.slice(0, 200)}` : ''}`, details: { healthLog: state.healthLog ?? null } });
    }
  }
  if (states.length === 0) {
    signals.push({ condition: 'missing', resource: service, severity: 'critical', message: `no container of ${service} in ${env}`, details: {} });
  }
  return { signals, memory: { restarts } };
}
