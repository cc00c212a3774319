import type { Context } from '../context.js';
import { status as deployStatus, type ServiceStatus } from '../deploy/index.js';
import type { Incident } from '../../ledger/index.js';

/** What runs for one service in one environment, and whether it is well. */
export interface LiveRelease {
  service: string;
  env: string;
  revision: number;
  image: string;
  /** The commit the release recorded. */
  commit: string | null;
  status: string;
  deployedAt: string;
  /** healthy, unhealthy, or unknown when the target could not be asked. */
  health: 'healthy' | 'unhealthy' | 'unknown';
  /** What the target said: "running (healthy)", "2/2 available", or why it could not be asked. */
  live: string;
}

export interface ProjectStatus {
  project: string;
  at: string;
  releases: LiveRelease[];
  incidents: Incident[];
  /** Every alias of every model, with the version it points at. */
  models: Array<{ model: string; alias: string; version: number }>;
  /** Each service's last successful build (what `ops deploy` ships by default). */
  builds: Array<{ service: string; tags: string[]; status: string; commit: string | null; dirty: boolean | null; createdAt: string }>;
}

function health(found: ServiceStatus): Pick<LiveRelease, 'health' | 'live'> {
  const live = found.live;
  if ('deployments' in live) {
    const healthy = live.deployments.length > 0 && live.deployments.every((d) => d.available >= d.desired);
    return { health: healthy ? 'healthy' : 'unhealthy', live: live.deployments.map((d) => `${d.name} ${d.available}/${d.desired} available`).join(', ') || 'no deployments' };
  }
  const healthy = live.state === 'running' && (live.health === null || live.health === 'healthy');
  return { health: healthy ? 'healthy' : 'unhealthy', live: `${live.state}${live.health ? ` (${live.health})` : ''}` };
}

/** One look at a project: what runs where and how it is, open incidents, promoted models, last builds. */
export async function projectStatus(ctx: Context): Promise<ProjectStatus> {
  const config = ctx.requireConfig();
  const ledger = ctx.ledger();
  const releases: LiveRelease[] = [];
  for (const env of Object.keys(config.environments)) {
    let found: ServiceStatus[] | Error;
    try {
      found = await deployStatus(ctx, env);
    } catch (err) {
      found = err as Error;
    }
    for (const service of Object.keys(config.services)) {
      const release = await ledger.releases.current(service, env);
      if (!release) continue;
      const row = found instanceof Error ? undefined : found.find((s) => s.service === service);
      releases.push({
        service,
        env,
        revision: release.revision,
        image: release.image,
        commit: release.gitSha,
        status: release.status,
        deployedAt: release.finishedAt ?? release.createdAt,
        ...(row ? health(row) : { health: 'unknown', live: `not asked: ${found instanceof Error ? found.message : 'no answer'}` }),
      });
    }
  }
  const models = (await ledger.models.list()).flatMap((m) => Object.entries(m.aliases).map(([alias, version]) => ({ model: m.name, alias, version })));
  const builds: ProjectStatus['builds'] = [];
  for (const service of Object.keys(config.services)) {
    const build = await ledger.builds.latestForService(service);
    if (build) builds.push({ service, tags: build.tags, status: build.status, commit: build.git.sha, dirty: build.git.dirty, createdAt: build.createdAt });
  }
  return {
    project: config.project,
    at: new Date(ctx.clock.now()).toISOString(),
    releases,
    incidents: await ledger.incidents.list({ state: 'unresolved', limit: 50 }),
    models,
    builds,
  };
}
