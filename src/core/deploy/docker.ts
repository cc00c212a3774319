import { randomBytes } from 'node:crypto';
import type { ContainerSpec, ContainerState, DockerEndpoint } from '../../adapters/docker.js';
import type { ServiceConfig } from '../config/schema.js';
import type { Context } from '../context.js';
import { NotFoundError } from '../../errors.js';
import type { TargetOutcome } from './types.js';

/** Without a HEALTHCHECK or an HTTP probe, a container that keeps running this long counts as up. */
const SETTLE_WITHOUT_PROBE_MS = 2000;
const LOG_TAIL_LINES = 20;

export interface DockerDeploy {
  project: string;
  service: string;
  serviceConfig: ServiceConfig;
  env: string;
  endpoint: DockerEndpoint;
  image: string;
  revision: number;
  releaseId: number;
}

export const serviceLabels = (project: string, service: string, env: string) => ({ 'ops.project': project, 'ops.service': service, 'ops.env': env });

function memoryBytes(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const [, amount, unit] = /^(\d+)([kmg]?)$/i.exec(value)!;
  return Number(amount) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit!.toLowerCase() as '' | 'k' | 'm' | 'g'];
}

function parsePorts(ports: string[]): Array<{ host: number; container: number }> {
  return ports.map((pair) => {
    const [host, container] = pair.split(':').map(Number);
    return { host: host!, container: container! };
  });
}

/** The image must be in the engine already: nothing is pulled behind the user's back. */
export async function checkImage(ctx: Context, endpoint: DockerEndpoint, image: string): Promise<{ digest: string | null; hasHealthcheck: boolean; labels: Record<string, string> }> {
  const found = await ctx.adapters.docker.inspectImage(endpoint, ctx.env, image);
  if (!found) throw new NotFoundError(`image ${image} is not in the Docker engine`, 'build it with `ops build`, or `docker pull` it first');
  return { digest: found.repoDigests[0] ?? null, hasHealthcheck: found.hasHealthcheck, labels: found.labels };
}

interface HealthVerdict {
  healthy: boolean;
  reason: string;
}

/** Poll the container until it is healthy, fails, or the timeout passes. */
async function waitHealthy(ctx: Context, job: DockerDeploy, id: string, hasHealthcheck: boolean, update: (detail: string) => void): Promise<HealthVerdict> {
  const docker = ctx.adapters.docker;
  const health = job.serviceConfig.health;
  const timeoutMs = health?.timeout ?? 60_000;
  // Asking the engine is cheap: poll often, so a deploy ends soon after the container turns healthy.
  const intervalMs = Math.min(health?.interval ?? 1000, 100);
  const started = ctx.clock.now();
  let last: ContainerState | null = null;
  let lastProbe = '';
  while (!ctx.cancel.aborted) {
    last = await docker.inspectContainer(job.endpoint, ctx.env, id);
    if (!last) return { healthy: false, reason: 'the container disappeared' };
    if (last.oomKilled) return { healthy: false, reason: `killed for using too much memory (limit ${job.serviceConfig.resources?.memory ?? 'none'})` };
    if (last.status === 'exited' || last.status === 'dead' || last.restartCount > 0 || last.status === 'restarting') {
      return { healthy: false, reason: `the container exited with code ${last.exitCode}${last.error ? ` (${last.error})` : ''}` };
    }
    if (last.health === 'unhealthy') return { healthy: false, reason: `its HEALTHCHECK reports unhealthy${last.healthLog ? `: ${last.healthLog}` : ''}` };
    if (health?.http) {
      const port = last.hostPorts[String(health.http.port)];
      if (!port) return { healthy: false, reason: `health.http.port ${health.http.port} is not published (add it to ports)` };
      const url = `http://${docker.publishedPortsHost(job.endpoint, ctx.env)}:${port}${health.http.path}`;
      const probe = await ctx.adapters.http.httpGet(url, Math.min(health.interval * 3, 5000));
      if (probe.status === health.http.expectStatus && (!hasHealthcheck || last.health === 'healthy')) return { healthy: true, reason: `${url} answered ${probe.status}` };
      lastProbe = probe.ok ? `${url} answered ${probe.status}, expected ${health.http.expectStatus}` : `${url}: ${probe.error}`;
    } else if (hasHealthcheck) {
      if (last.health === 'healthy') return { healthy: true, reason: 'HEALTHCHECK healthy' };
      lastProbe = `HEALTHCHECK ${last.health ?? 'not started'}`;
    } else if (last.running && ctx.clock.now() - Date.parse(last.startedAt) >= SETTLE_WITHOUT_PROBE_MS) {
      return { healthy: true, reason: `running for ${SETTLE_WITHOUT_PROBE_MS / 1000} s (no HEALTHCHECK or health.http to ask)` };
    }
    const elapsed = ctx.clock.now() - started;
    if (elapsed >= timeoutMs) return { healthy: false, reason: `not healthy within ${Math.round(timeoutMs / 1000)} s (${lastProbe || last.status})` };
    update(`waiting for ${last.name} to be healthy${lastProbe ? ` (${lastProbe})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return { healthy: false, reason: 'interrupted' };
}

async function logTail(ctx: Context, job: DockerDeploy, id: string): Promise<string[]> {
  try {
    return await ctx.adapters.docker.containerLogs(job.endpoint, ctx.env, id, LOG_TAIL_LINES);
  } catch {
    return [];
  }
}

/**
 * Start-first: the new container runs beside the old one until it is healthy; only then is the old
 * one removed. Host ports cannot be bound twice, so when the old container holds them the new one is
 * first checked on engine-chosen ports, and takes the configured ports only once it has proved healthy
 * (the old one is restarted if that final container fails).
 */
export async function deployToDocker(ctx: Context, job: DockerDeploy, hasHealthcheck: boolean, update: (detail: string) => void): Promise<TargetOutcome> {
  const docker = ctx.adapters.docker;
  const labels = serviceLabels(job.project, job.service, job.env);
  // Everything of this service and environment found now is replaced, leftovers of interrupted
  // deploys or of an older ledger included.
  const previous = await docker.listContainers(job.endpoint, ctx.env, labels);
  const ports = parsePorts(job.serviceConfig.ports);
  const holdsPorts = ports.length > 0 && previous.some((c) => c.state === 'running');
  // A suffix, so that a name never collides with such a leftover.
  const baseName = `${job.project}-${job.service}-${job.env}-r${job.revision}-${randomBytes(2).toString('hex')}`;
  const spec = (name: string, hostPorts: boolean): ContainerSpec => ({
    name,
    image: job.image,
    labels: { ...labels, 'ops.revision': String(job.revision), 'ops.release': String(job.releaseId) },
    env: job.serviceConfig.env,
    ports: ports.map((p) => ({ container: p.container, host: hostPorts ? String(p.host) : '' })),
    memoryBytes: memoryBytes(job.serviceConfig.resources?.memory),
    nanoCpus: job.serviceConfig.resources?.cpus ? Math.round(job.serviceConfig.resources.cpus * 1e9) : undefined,
    init: job.serviceConfig.init,
    stopTimeoutSeconds: Math.ceil(job.serviceConfig.stopTimeout / 1000),
  });
  const fail = async (id: string, reason: string): Promise<TargetOutcome> => {
    const tail = await logTail(ctx, job, id);
    await docker.removeContainer(job.endpoint, ctx.env, id);
    return { ok: false, error: reason, logTail: tail, details: { container: id.slice(0, 12) } };
  };

  update(`starting ${baseName}${holdsPorts ? ' on free ports beside the running revision' : ''}`);
  const firstName = holdsPorts ? `${baseName}-check` : baseName;
  const first = await docker.runContainer(job.endpoint, ctx.env, spec(firstName, !holdsPorts));
  const verdict = await waitHealthy(ctx, job, first, hasHealthcheck, update);
  if (!verdict.healthy) return fail(first, verdict.reason);

  let live = first;
  if (holdsPorts) {
    update('handing the host ports over to the new revision');
    const running = previous.filter((c) => c.state === 'running');
    for (const old of running) await docker.stopContainer(job.endpoint, ctx.env, old.id, job.serviceConfig.stopTimeout + 30_000);
    await docker.removeContainer(job.endpoint, ctx.env, first);
    let final: string;
    try {
      final = await docker.runContainer(job.endpoint, ctx.env, spec(baseName, true));
    } catch (err) {
      for (const old of running) await docker.startContainer(job.endpoint, ctx.env, old.id);
      return { ok: false, error: `could not take over the host ports: ${(err as Error).message}`, logTail: [], details: {} };
    }
    const again = await waitHealthy(ctx, job, final, hasHealthcheck, update);
    if (!again.healthy) {
      const outcome = await fail(final, `${again.reason} (after taking over the host ports; the previous revision was restarted)`);
      for (const old of running) await docker.startContainer(job.endpoint, ctx.env, old.id);
      return outcome;
    }
    live = final;
  }

  for (const old of previous) {
    update(`removing ${old.name}`);
    await docker.removeContainer(job.endpoint, ctx.env, old.id);
  }
  const state = await docker.inspectContainer(job.endpoint, ctx.env, live);
  return {
    ok: true,
    message: verdict.reason,
    details: { container: live.slice(0, 12), name: baseName, ports: state?.hostPorts ?? {}, removed: previous.map((c) => c.name) },
  };
}

export interface DockerServiceStatus {
  container: string | null;
  revision: number | null;
  state: string;
  health: string | null;
  ports: Record<string, number>;
}

/** What runs now for the service: the container of the newest revision. */
export async function dockerStatus(ctx: Context, project: string, service: string, env: string, endpoint: DockerEndpoint): Promise<DockerServiceStatus> {
  const found = await ctx.adapters.docker.listContainers(endpoint, ctx.env, serviceLabels(project, service, env));
  const newest = found.filter((c) => !c.name.endsWith('-check')).pop();
  if (!newest) return { container: null, revision: null, state: 'absent', health: null, ports: {} };
  const state = await ctx.adapters.docker.inspectContainer(endpoint, ctx.env, newest.id);
  return {
    container: newest.name,
    revision: Number(newest.labels['ops.revision']) || null,
    state: state?.status ?? 'absent',
    health: state?.health ?? null,
    ports: state?.hostPorts ?? {},
  };
}
