import type { OpsConfig } from '../config/schema.js';
import type { Context } from '../context.js';
import { OpsError, UsageError } from '../../errors.js';
import { deploy, planDeploy, type DeployRequest, type DeployResult } from './index.js';

export interface ManyRequest extends Omit<DeployRequest, 'service' | 'image'> {
  services: string[];
  /** At most this many deploys at once; a service still waits for the ones it depends on. */
  parallel: number;
}

/** A service that was not deployed: a dependency (or an earlier service) failed first. */
export interface SkippedDeploy {
  service: string;
  env: string;
  status: 'skipped';
  reason: string;
}

/** A service whose deploy stopped with an error before its release settled (gate, lock, engine). */
export interface StoppedDeploy {
  service: string;
  env: string;
  status: 'stopped';
  error: string;
}

export interface ManyResult {
  env: string;
  /** The services in the order they were started: each after what it depends on. */
  order: string[];
  status: 'deployed' | 'failed';
  results: Array<DeployResult | StoppedDeploy | SkippedDeploy>;
}

/**
 * The named services in `dependsOn` order (a dependency first, also through services not named);
 * ties keep the order they were given in. Returns, for each, the named services it waits for.
 */
export function deployOrder(config: OpsConfig, services: string[]): Array<{ service: string; after: string[] }> {
  const named = [...new Set(services)];
  for (const [name, service] of Object.entries(config.services)) {
    for (const dependency of service.dependsOn) {
      if (!config.services[dependency]) throw new UsageError(`services.${name}.dependsOn names "${dependency}", which is not a service`, `use one of: ${Object.keys(config.services).join(', ')}`);
    }
  }
  // Everything each service needs first, through the whole graph; a service in its own closure is a cycle.
  const closure = (start: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(config.services[start]?.dependsOn ?? [])];
    while (stack.length) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(config.services[next]?.dependsOn ?? []));
    }
    return seen;
  };
  const needs = new Map(named.map((name) => [name, closure(name)]));
  for (const [name, before] of needs) {
    if (before.has(name)) throw new UsageError(`services.${name}.dependsOn leads back to ${name}`, 'remove one dependsOn entry of the cycle');
  }
  const ordered: Array<{ service: string; after: string[] }> = [];
  const placed = new Set<string>();
  while (ordered.length < named.length) {
    const ready = named.find((name) => !placed.has(name) && named.every((other) => other === name || placed.has(other) || !needs.get(name)!.has(other)));
    placed.add(ready!);
    ordered.push({ service: ready!, after: named.filter((other) => needs.get(ready!)!.has(other)) });
  }
  return ordered;
}

/**
 * Deploy several services to one environment in `dependsOn` order, each as its own release.
 * Every name, image and manifest is checked before the first deploy starts; the first failure
 * stops the rest (deploys already under way finish), which are reported as skipped. An error
 * that stopped a deploy before its release settled (the risk gate, a held lock) is thrown after
 * the others finish, with the whole result attached.
 */
export async function deployMany(ctx: Context, request: ManyRequest): Promise<ManyResult> {
  const config = ctx.requireConfig();
  const order = deployOrder(config, request.services);
  const images = new Map<string, string>();
  if (request.build) {
    const { planBuilds, runBuilds } = await import('../build/index.js');
    const { plans, git } = await planBuilds(ctx, config, { services: order.map((o) => o.service), extraTags: [] });
    const target = config.environments[request.env]?.target;
    const { results } = await runBuilds(ctx, config, plans, git, { push: target === 'kubernetes', noCache: false, parallel: request.parallel });
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length) throw new OpsError(`build of ${failed.map((f) => f.service).join(', ')} failed: ${failed[0]!.error}`, 'fix the build, then deploy again');
    for (const built of results) images.set(built.service, built.tags[0]!);
  }
  for (const { service } of order) await planDeploy(ctx, { ...request, service, build: false, image: images.get(service) });

  const results = new Map<string, DeployResult | StoppedDeploy | SkippedDeploy>();
  const started: string[] = [];
  const running = new Map<string, Promise<void>>();
  let firstError: unknown;
  let failed: string | undefined;
  const run = async (service: string) => {
    try {
      const result = await deploy(ctx, { ...request, service, build: false, image: images.get(service) });
      results.set(service, result);
      if (result.status !== 'deployed') failed ??= service;
    } catch (err) {
      results.set(service, { service, env: request.env, status: 'stopped', error: (err as Error).message });
      failed ??= service;
      firstError ??= err;
    }
  };
  for (const { service, after } of order) {
    // Wait for a free slot and for this service's dependencies; nothing new starts after a failure.
    for (;;) {
      if (failed || ctx.cancel.aborted) break;
      const pending = after.filter((dependency) => running.has(dependency));
      if (pending.length === 0 && running.size < request.parallel) break;
      await Promise.race(pending.length ? pending.map((d) => running.get(d)!) : running.values());
    }
    if (failed || ctx.cancel.aborted) break;
    started.push(service);
    const job = run(service).finally(() => running.delete(service));
    running.set(service, job);
  }
  await Promise.all(running.values());
  for (const { service } of order) {
    if (!results.has(service)) results.set(service, { service, env: request.env, status: 'skipped', reason: failed ? `${failed} failed first` : 'interrupted' });
  }
  const result: ManyResult = {
    env: request.env,
    order: started,
    status: [...results.values()].every((r) => r.status === 'deployed') ? 'deployed' : 'failed',
    results: order.map(({ service }) => results.get(service)!),
  };
  if (firstError instanceof OpsError) throw firstError.withResult(result);
  if (firstError) throw firstError;
  return result;
}
