import { createHash } from 'node:crypto';
import type { DockerEndpoint } from '../../adapters/docker.js';
import type { Release, RiskVerdict } from '../../ledger/index.js';
import { IMAGE_REPOSITORY_PATTERN, type EnvironmentConfig, type OpsConfig, type ServiceConfig } from '../config/schema.js';
import type { Context } from '../context.js';
import { recordChanges } from './changes.js';
import { ExitCode, NotFoundError, OpsError, quote, UsageError } from '../../errors.js';
import { withRun } from '../runs.js';
import { checkImage, deployToDocker, dockerStatus, type DockerServiceStatus } from './docker.js';
import { applyRiskGate, riskVerdict, type RiskConfirm } from './gate.js';
import { deployToKubernetes, kubernetesStatus, renderManifests, kubectlDiff, type KubeServiceStatus, type RenderedManifests } from './kubernetes.js';
import { acquireLock } from './lock.js';
import type { TargetOutcome } from './types.js';

/** repository[:tag][@sha256:digest], Docker's grammar: nothing a shell would read specially fits. */
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const IMAGE_REFERENCE = new RegExp(`^(${IMAGE_REPOSITORY_PATTERN.source.slice(1, -1)})(?::(${TAG}))?(?:@(sha256:[a-f0-9]{64}))?$`);

export function validateImageReference(ref: string): string {
  if (!IMAGE_REFERENCE.test(ref) || (!ref.includes(':', ref.lastIndexOf('/')) && !ref.includes('@'))) {
    throw new UsageError(`${quote(ref)} is not a valid image reference`, 'use repository:tag or repository@sha256:<digest>, e.g. registry.local:5000/web:1a2b3c4');
  }
  return ref;
}

export interface DeployRequest {
  service: string;
  env: string;
  image?: string;
  build?: boolean;
  lockTimeoutMs: number;
  acceptRisk?: string;
  confirmRisk?: RiskConfirm;
}

export interface DeployResult {
  service: string;
  env: string;
  target: string;
  revision: number;
  image: string;
  digest: string | null;
  status: Release['status'];
  description: string;
  durationMs: number;
  risk: RiskVerdict;
  message?: string;
  error?: string;
  logTail?: string[];
  details: Record<string, unknown>;
}

interface Resolved {
  config: OpsConfig;
  service: ServiceConfig;
  envConfig: EnvironmentConfig;
}

function resolveNames(ctx: Context, serviceName: string, envName: string): Resolved {
  const config = ctx.requireConfig();
  const service = config.services[serviceName];
  if (!service) {
    const known = Object.keys(config.services);
    throw new UsageError(`unknown service ${quote(serviceName)}`, known.length ? `use one of: ${known.join(', ')}` : 'add it under services: in the config');
  }
  const envConfig = config.environments[envName];
  if (!envConfig) {
    const known = Object.keys(config.environments);
    throw new UsageError(`unknown environment ${quote(envName)}`, known.length ? `use one of: ${known.join(', ')}` : 'add it under environments: in the config');
  }
  return { config, service, envConfig };
}

function configHash(service: ServiceConfig, env: EnvironmentConfig): string {
  return `sha256:${createHash('sha256').update(JSON.stringify({ service, env })).digest('hex').slice(0, 16)}`;
}

const dockerEndpoint = (env: EnvironmentConfig): DockerEndpoint => (env.target === 'docker' ? { host: env.host } : {});

/**
 * The commit an image was built from, which is what a release of it runs: the build ops recorded
 * for that tag (its git sha), else the image's own org.opencontainers.image.revision label (in the
 * engine, else in its registry); null when nothing says (never the work tree's commit).
 */
async function imageRevision(ctx: Context, r: Resolved, image: string, local: { labels: Record<string, string> } | null): Promise<string | null> {
  const built = (await ctx.ledger().builds.withTag(image))?.git.sha;
  if (built) return built;
  const { parseImageReference, REVISION_LABEL } = await import('../build/images.js');
  const labels = local?.labels ?? (await ctx.adapters.docker.inspectImage(dockerEndpoint(r.envConfig), ctx.env, image).catch(() => null))?.labels;
  if (labels?.[REVISION_LABEL]) return labels[REVISION_LABEL];
  const ref = parseImageReference(image, r.config.registry);
  if (!ref) return null;
  const auth = await ctx.adapters.docker.registryAuth(ref.registry.host, ctx.env).catch(() => undefined);
  return (await ctx.adapters.registry.remoteImage(ref.registry, ref.tag, auth).catch(() => null))?.labels[REVISION_LABEL] || null;
}

/** The image to ship: the flag's, a fresh build's, or the service's last successful build. */
async function chooseImage(ctx: Context, r: Resolved, request: DeployRequest): Promise<string> {
  if (request.image) return validateImageReference(request.image);
  if (request.build) {
    const { planBuilds, runBuilds } = await import('../build/index.js');
    const { plans, git } = await planBuilds(ctx, r.config, { services: [request.service], extraTags: [] });
    const { results } = await runBuilds(ctx, r.config, plans, git, { push: r.envConfig.target === 'kubernetes', noCache: false, parallel: 1 });
    const built = results[0]!;
    if (built.status === 'failed') throw new OpsError(`build of ${request.service} failed${built.failedStep ? ` at ${built.failedStep}` : ''}: ${built.error}`, 'fix the build, then deploy again');
    return built.tags[0]!;
  }
  const last = await ctx.ledger().builds.latestForService(request.service);
  if (!last) throw new NotFoundError(`no build of ${request.service} in the ledger`, `run \`ops build ${request.service}\`, or pass --image <ref> or --build`);
  return last.tags[0]!;
}

export interface DeployPlan {
  service: string;
  env: string;
  target: string;
  image: string;
  configHash: string;
  manifests?: RenderedManifests;
  resolved: Resolved;
}

export async function planDeploy(ctx: Context, request: DeployRequest): Promise<DeployPlan> {
  const r = resolveNames(ctx, request.service, request.env);
  const image = await chooseImage(ctx, r, request);
  const plan: DeployPlan = { service: request.service, env: request.env, target: r.envConfig.target, image, configHash: configHash(r.service, r.envConfig), resolved: r };
  if (r.envConfig.target === 'kubernetes') plan.manifests = await renderManifests(ctx, request.service, r.service, r.envConfig, image);
  return plan;
}

/** `--dry-run`: what would be applied, and `kubectl diff` against the cluster; changes nothing. */
export async function dryRun(ctx: Context, request: DeployRequest): Promise<Omit<DeployPlan, 'resolved'> & { diff?: string; current: Release | null }> {
  const { resolved, ...plan } = await planDeploy(ctx, request);
  const current = (await ctx.ledger().releases.current(request.service, request.env)) ?? null;
  if (resolved.envConfig.target === 'kubernetes') return { ...plan, current, diff: await kubectlDiff(ctx, resolved.envConfig, plan.manifests!) };
  return { ...plan, current };
}

interface ReleaseIntent {
  description?: string;
  rollbackTo?: number;
  risk?: RiskVerdict;
}

/** Lock, record, roll out through the target, settle the release. */
async function ship(ctx: Context, request: DeployRequest, plan: DeployPlan, intent: ReleaseIntent): Promise<DeployResult> {
  const r = plan.resolved;
  const project = r.config.project;
  const endpoint = dockerEndpoint(r.envConfig);
  const imageFacts = r.envConfig.target === 'docker' ? await checkImage(ctx, endpoint, plan.image) : null;
  const revision = await imageRevision(ctx, r, plan.image, imageFacts);
  const risk =
    intent.risk ??
    (await applyRiskGate(ctx, await riskVerdict(ctx, request.service, request.env, { image: plan.image, revision }), r.config.risk, request.acceptRisk, request.confirmRisk));
  const lockName = `deploy:${request.service}:${request.env}`;

  const gitState = await ctx.adapters.git.gitState(ctx.root).catch(() => null);
  let result: DeployResult | undefined;
  const runSpec = { kind: 'deploy', service: request.service, env: request.env, git: gitState, params: { image: plan.image, target: plan.target } };
  const outcome = await withRun(ctx, runSpec, async (run) => {
    const lock = await acquireLock(ctx, lockName, run.id, request.lockTimeoutMs);
    try {
      const releases = ctx.ledger().releases;
      const abandoned = await releases.failAbandoned(request.service, request.env, ctx.clock.now());
      if (abandoned) ctx.output.warn(`marked ${abandoned} release(s) of ${request.service} in ${request.env} failed: their deploy stopped before it finished`);
      const previous = await releases.current(request.service, request.env);
      const release = await releases.create(
        {
          runId: run.id,
          service: request.service,
          env: request.env,
          target: plan.target,
          image: plan.image,
          digest: imageFacts?.digest ?? null,
          configHash: plan.configHash,
          gitSha: revision,
          actor: ctx.actor,
          description: intent.description ?? (previous ? 'upgrade' : 'install'),
          rollbackTo: intent.rollbackTo ?? null,
          risk,
          riskScoreId: risk.scoreId ?? null,
        },
        ctx.clock.now(),
      );
      run.log('stdout', `release ${release.revision}: ${plan.image} to ${request.env} (${plan.target})`);
      await recordChanges(ctx, release);

      const target: TargetOutcome = await ctx.output.step(`Deploying ${request.service} r${release.revision} to ${request.env}`, (update) =>
        r.envConfig.target === 'docker'
          ? deployToDocker(
              ctx,
              { project, service: request.service, serviceConfig: r.service, env: request.env, endpoint, image: plan.image, revision: release.revision, releaseId: release.id },
              imageFacts!.hasHealthcheck,
              update,
            )
          : deployToKubernetes(ctx, { service: request.service, env: request.env, envConfig: r.envConfig, manifests: plan.manifests!, revision: release.revision }, update),
      );

      if (target.ok) {
        const replacedAs = intent.rollbackTo != null ? 'rolled_back' : 'superseded';
        const settled = await releases.finish(release.id, { status: 'deployed', details: target.details, replacedAs }, ctx.clock.now());
        run.log('stdout', `deployed: ${target.message}`);
        result = toResult(settled, { message: target.message });
        return { status: 'succeeded', exitCode: ExitCode.ok };
      }

      for (const line of target.logTail) run.log('stderr', line);
      let error = target.error;
      if (target.rolledBack) error += target.rolledBack.ok ? `; rolled back: ${target.rolledBack.message}` : `; rollback failed: ${target.rolledBack.message}`;
      const settled = await releases.finish(release.id, { status: target.rolledBack?.ok ? 'rolled_back' : 'failed', error, details: target.details }, ctx.clock.now());
      if (target.rolledBack?.ok && previous) {
        // The undo is a release of its own, so the history shows what runs now.
        const undo = await releases.create(
          { ...previous, runId: run.id, actor: ctx.actor, description: `auto-rollback to ${previous.revision} after ${release.revision} failed`, rollbackTo: previous.revision, risk: { status: 'not scored', reason: 'rollback' }, riskScoreId: null },
          ctx.clock.now(),
        );
        await releases.finish(undo.id, { status: 'deployed', details: previous.details ?? undefined }, ctx.clock.now());
      }
      run.log('stderr', `failed: ${error}`);
      result = toResult(settled, { error, logTail: target.logTail });
      return { status: 'failed', exitCode: ExitCode.failed, error };
    } finally {
      await lock.release();
    }
  });
  if (!result) throw new OpsError(outcome.error ?? 'deploy failed');
  return result;
}

function toResult(release: Release, extra: Partial<DeployResult>): DeployResult {
  return {
    service: release.service,
    env: release.env,
    target: release.target,
    revision: release.revision,
    image: release.image,
    digest: release.digest,
    status: release.status,
    description: release.description,
    durationMs: release.durationMs ?? 0,
    risk: release.risk,
    details: release.details ?? {},
    ...extra,
  };
}

export async function deploy(ctx: Context, request: DeployRequest): Promise<DeployResult> {
  const plan = await planDeploy(ctx, request);
  return ship(ctx, request, plan, {});
}

/** Deploy an earlier revision's image again, as a new revision "rollback to N". */
export async function rollback(ctx: Context, request: { service: string; env: string; to?: number; lockTimeoutMs: number }): Promise<DeployResult> {
  resolveNames(ctx, request.service, request.env);
  const releases = ctx.ledger().releases;
  const current = await releases.current(request.service, request.env);
  let target: Release | undefined;
  if (request.to != null) {
    target = await releases.get(request.service, request.env, request.to);
    if (!target) throw new NotFoundError(`${request.service} in ${request.env} has no revision ${request.to}`, `list revisions with \`ops deploy history ${request.service} --env ${request.env}\``);
    if (target.status === 'failed' || target.status === 'pending') {
      throw new UsageError(`revision ${request.to} never became healthy (${target.status})`, 'roll back to a revision that was deployed');
    }
  } else {
    if (!current) throw new NotFoundError(`${request.service} has no deployed release in ${request.env}`, 'deploy it first with `ops deploy`');
    target = await releases.lastHealthyBefore(request.service, request.env, current.revision, current.image);
    if (!target) throw new NotFoundError(`${request.service} in ${request.env} has no earlier healthy release to roll back to`, 'pass --to <revision>');
  }
  const deployRequest: DeployRequest = { service: request.service, env: request.env, image: target.image, lockTimeoutMs: request.lockTimeoutMs };
  const plan = await planDeploy(ctx, deployRequest);
  return ship(ctx, deployRequest, plan, { description: `rollback to ${target.revision}`, rollbackTo: target.revision, risk: { status: 'not scored', reason: 'rollback' } });
}

export function history(ctx: Context, service: string, env: string, limit: number): Promise<Release[]> {
  resolveNames(ctx, service, env);
  return ctx.ledger().releases.history(service, env, limit);
}

export interface ServiceStatus {
  service: string;
  env: string;
  release: Release | null;
  live: DockerServiceStatus | KubeServiceStatus;
}

/** What runs now in an environment (or for one service), with its health read from the target. */
export async function status(ctx: Context, env: string, service?: string): Promise<ServiceStatus[]> {
  const config = ctx.requireConfig();
  const services = service ? [service] : Object.keys(config.services);
  const out: ServiceStatus[] = [];
  for (const name of services) {
    const r = resolveNames(ctx, name, env);
    const release = (await ctx.ledger().releases.current(name, env)) ?? null;
    if (!release && !service) continue;
    const live =
      r.envConfig.target === 'docker'
        ? await dockerStatus(ctx, config.project, name, env, dockerEndpoint(r.envConfig))
        : await kubernetesStatus(ctx, r.envConfig, release?.details ?? null);
    out.push({ service: name, env, release, live });
  }
  return out;
}
