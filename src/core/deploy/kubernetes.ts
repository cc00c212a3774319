import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dump, loadAll } from 'js-yaml';
import { kubeTarget, type KubeTarget } from '../../adapters/kubectl.js';
import type { EnvironmentConfig, ServiceConfig } from '../config/schema.js';
import type { Context } from '../context.js';
import { OpsError, UsageError } from '../../errors.js';
import type { TargetOutcome } from './types.js';

type KubeEnvironment = Extract<EnvironmentConfig, { target: 'kubernetes' }>;
type Obj = Record<string, any>;

const POLL_INTERVAL_MS = 500;
const LOG_TAIL_LINES = 20;
const ROLLBACK_DEADLINE_MS = 120_000;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** Waiting reasons that do not fix themselves: Skaffold's status check fails on these at once. */
const FATAL_WAITING = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

export interface ManifestDeployment {
  name: string;
  namespace: string;
  /** matchLabels as a kubectl label selector. */
  selector: string;
}

export interface RenderedManifests {
  source: string;
  documents: Obj[];
  deployments: ManifestDeployment[];
}

const target = (ctx: Context, env: KubeEnvironment): KubeTarget => kubeTarget(env, ctx.env);

/** A Deployment's `matchLabels` as a kubectl label selector (`app=web,tier=front`). */
const labelSelector = (deployment: Obj) =>
  Object.entries((deployment.spec?.selector?.matchLabels ?? {}) as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

const repositoryOf = (ref: string) => ref.replace(/@sha256:[a-f0-9]+$/, '').replace(/:[^:/]+$/, '');

/** Set every container image of the service's repository to `image` (what Skaffold does), counting them. */
function substituteImages(node: unknown, repository: string, image: string): number {
  if (Array.isArray(node)) return node.reduce((n: number, item) => n + substituteImages(item, repository, image), 0);
  if (!node || typeof node !== 'object') return 0;
  let count = 0;
  const obj = node as Obj;
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'image' && typeof value === 'string' && repositoryOf(value) === repository) {
      obj[key] = image;
      count++;
    } else {
      count += substituteImages(value, repository, image);
    }
  }
  return count;
}

async function readManifestText(ctx: Context, dir: string): Promise<Array<{ file: string; text: string }>> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new UsageError(`cannot read manifests folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'fix environments.<env>.manifests, or the folder\'s permissions');
  }
  if (names.some((n) => KUSTOMIZATION_FILES.includes(n))) {
    const result = await ctx.adapters.kubectl.kubectl({ namespace: 'default', env: ctx.env }, ['kustomize', dir]);
    if (result.exitCode !== 0) throw new UsageError(`kubectl kustomize ${dir} failed: ${ctx.adapters.kubectl.kubectlError(result)}`, 'fix the kustomization, then try again');
    return [{ file: join(dir, 'kustomization.yaml'), text: result.stdout }];
  }
  return names
    .filter((n) => /\.(ya?ml|json)$/.test(n))
    .sort()
    .map((n) => {
      const file = join(dir, n);
      try {
        return { file, text: readFileSync(file, 'utf8') };
      } catch (err) {
        throw new UsageError(`cannot read manifest ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'fix its permissions');
      }
    });
}

/** Read the environment's manifests (a folder, or a kustomization) and put the image in. */
export async function renderManifests(ctx: Context, service: string, serviceConfig: ServiceConfig, env: KubeEnvironment, image: string): Promise<RenderedManifests> {
  if (!env.manifests) throw new UsageError('this kubernetes environment has no manifests folder', 'set environments.<env>.manifests to the folder of the service\'s manifests');
  const dir = resolve(ctx.root, env.manifests);
  if (!existsSync(dir)) throw new UsageError(`manifests folder ${dir} does not exist`, 'create it, or fix environments.<env>.manifests');
  const documents: Obj[] = [];
  for (const { file, text } of await readManifestText(ctx, dir)) {
    let docs: unknown[];
    try {
      docs = loadAll(text);
    } catch (err) {
      throw new UsageError(`manifest ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the file');
    }
    for (const doc of docs) {
      if (doc == null) continue;
      const obj = doc as Obj;
      if (typeof obj !== 'object' || !obj.kind || !obj.apiVersion || !obj.metadata?.name) {
        throw new UsageError(`manifest ${file} has a document without apiVersion, kind or metadata.name`, 'every document must be a Kubernetes object');
      }
      documents.push(obj.kind === 'List' ? obj.items : obj);
    }
  }
  const flat = documents.flat() as Obj[];
  if (flat.length === 0) throw new UsageError(`manifests folder ${dir} holds no Kubernetes objects`, 'add the service\'s Deployment (YAML or JSON files)');
  if (substituteImages(flat, serviceConfig.image, image) === 0) ctx.output.warn(`no container in ${dir} uses ${serviceConfig.image}; the image of ${service} was not substituted anywhere`);
  const deployments = flat
    .filter((d) => d.kind === 'Deployment')
    .map((d) => ({
      name: String(d.metadata.name),
      namespace: String(d.metadata.namespace ?? env.namespace),
      selector: labelSelector(d),
    }));
  return { source: dir, documents: flat, deployments };
}

const toYaml = (documents: Obj[]) => documents.map((d) => dump(d, { noRefs: true, lineWidth: -1 })).join('---\n');

export function manifestsYaml(manifests: RenderedManifests): string {
  return toYaml(manifests.documents);
}

/** `kubectl diff` (server-side dry run): the changes the manifests would make; empty when none. */
export async function kubectlDiff(ctx: Context, env: KubeEnvironment, manifests: RenderedManifests): Promise<string> {
  const result = await ctx.adapters.kubectl.kubectl(target(ctx, env), ['diff', '--server-side', '--force-conflicts', '--field-manager=ops', '-f', '-'], { input: toYaml(manifests.documents) });
  if (result.exitCode > 1) throw new OpsError(`kubectl diff failed: ${ctx.adapters.kubectl.kubectlError(result)}`, 'check the kube context and the manifests');
  return result.stdout;
}

type RolloutState =
  | { state: 'ready'; revision: string }
  | { state: 'progressing'; detail: string }
  | { state: 'failed'; reason: string; pod?: string; container?: string; previous?: boolean };

/** Read one Deployment and its pods, and judge its rollout like Skaffold's status check. */
async function rolloutState(ctx: Context, kube: KubeTarget, deployment: ManifestDeployment): Promise<RolloutState> {
  const scoped = { ...kube, namespace: deployment.namespace };
  const dep = await ctx.adapters.kubectl.kubectlJson<Obj>(scoped, ['get', `deployment/${deployment.name}`]);
  const selector = deployment.selector || labelSelector(dep);
  const owned = await ctx.adapters.kubectl.kubectlJson<{ items: Obj[] }>(scoped, ['get', 'replicasets,pods', '-l', selector]);
  const revision = String(dep.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '');
  const newSet = owned.items.find((o) => o.kind === 'ReplicaSet' && o.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision);
  const hash = newSet?.metadata?.labels?.['pod-template-hash'];
  const pods = owned.items.filter((o) => o.kind === 'Pod' && (!hash || o.metadata?.labels?.['pod-template-hash'] === hash));

  for (const pod of pods) {
    const statuses = [...((pod.status?.initContainerStatuses ?? []) as Obj[]), ...((pod.status?.containerStatuses ?? []) as Obj[])];
    for (const c of statuses) {
      const waiting = c.state?.waiting;
      const lastExit = c.lastState?.terminated;
      if (waiting && FATAL_WAITING.has(waiting.reason)) {
        const exit = lastExit ? ` (last exit code ${lastExit.exitCode}${lastExit.reason ? `, ${lastExit.reason}` : ''})` : '';
        return { state: 'failed', pod: pod.metadata.name, container: c.name, reason: `${waiting.reason}${exit}${waiting.message ? `: ${waiting.message}` : ''}`, previous: Boolean(lastExit) };
      }
      const terminated = c.state?.terminated;
      if (terminated && terminated.exitCode !== 0) {
        return { state: 'failed', pod: pod.metadata.name, container: c.name, reason: `terminated with exit code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}` };
      }
    }
    if (pod.status?.phase === 'Failed') return { state: 'failed', pod: pod.metadata.name, reason: `pod failed${pod.status.reason ? `: ${pod.status.reason}` : ''}` };
  }
  const progressing = ((dep.status?.conditions ?? []) as Obj[]).find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False') return { state: 'failed', reason: `${progressing.reason ?? 'not progressing'}: ${progressing.message ?? ''}`.trim() };

  const desired = dep.spec?.replicas ?? 1;
  const s = dep.status ?? {};
  if ((s.observedGeneration ?? 0) < (dep.metadata?.generation ?? 0)) return { state: 'progressing', detail: 'waiting for the controller to see the change' };
  if ((s.updatedReplicas ?? 0) < desired) return { state: 'progressing', detail: `${s.updatedReplicas ?? 0} of ${desired} replicas updated` };
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return { state: 'progressing', detail: `${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replicas still terminating` };
  if ((s.availableReplicas ?? 0) < desired) {
    const unscheduled = pods.flatMap((p) => ((p.status?.conditions ?? []) as Obj[]).filter((c) => c.type === 'PodScheduled' && c.status === 'False').map((c) => `${p.metadata.name}: ${c.reason} ${c.message ?? ''}`.trim()));
    return { state: 'progressing', detail: `${s.availableReplicas ?? 0} of ${desired} replicas available${unscheduled.length ? `; ${unscheduled[0]}` : ''}` };
  }
  return { state: 'ready', revision };
}

/** Wait for every Deployment to be ready, or the first to fail, or the deadline. */
async function watchRollout(ctx: Context, kube: KubeTarget, deployments: ManifestDeployment[], deadlineMs: number, update: (detail: string) => void): Promise<{ ok: true; revisions: Record<string, string> } | { ok: false; failure: Extract<RolloutState, { state: 'failed' }>; deployment: ManifestDeployment }> {
  const started = ctx.clock.now();
  const revisions: Record<string, string> = {};
  const pending = new Set(deployments);
  while (pending.size > 0) {
    for (const deployment of [...pending]) {
      const state = await rolloutState(ctx, kube, deployment);
      if (state.state === 'failed') return { ok: false, failure: state, deployment };
      if (state.state === 'ready') {
        revisions[deployment.name] = state.revision;
        pending.delete(deployment);
      } else {
        update(`deployment/${deployment.name}: ${state.detail}`);
      }
    }
    if (pending.size === 0) break;
    const elapsed = ctx.clock.now() - started;
    if (elapsed >= deadlineMs || ctx.cancel.aborted) {
      const [first] = pending;
      return { ok: false, deployment: first!, failure: { state: 'failed', reason: ctx.cancel.aborted ? 'interrupted' : `not ready within the ${Math.round(deadlineMs / 1000)} s deadline` } };
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  return { ok: true, revisions };
}

async function podLogs(ctx: Context, kube: KubeTarget, failure: Extract<RolloutState, { state: 'failed' }>, namespace: string): Promise<string[]> {
  if (!failure.pod) return [];
  const args = ['logs', failure.pod, ...(failure.container ? ['-c', failure.container] : []), `--tail=${LOG_TAIL_LINES}`, ...(failure.previous ? ['--previous'] : [])];
  let result = await ctx.adapters.kubectl.kubectl({ ...kube, namespace }, args);
  // No previous instance yet: the current one's log is the next best.
  if (result.exitCode !== 0 && failure.previous) result = await ctx.adapters.kubectl.kubectl({ ...kube, namespace }, args.filter((a) => a !== '--previous'));
  if (result.exitCode !== 0) return [`(no logs: ${ctx.adapters.kubectl.kubectlError(result)})`];
  return result.stdout.split('\n').filter((l) => l.trim() !== '');
}

export interface KubernetesDeploy {
  service: string;
  env: string;
  envConfig: KubeEnvironment;
  manifests: RenderedManifests;
  revision: number;
}

/** kubectl apply, then watch the rollout; on failure, `kubectl rollout undo` when autoRollback is on. */
export async function deployToKubernetes(ctx: Context, job: KubernetesDeploy, update: (detail: string) => void): Promise<TargetOutcome> {
  const kube = target(ctx, job.envConfig);
  for (const doc of job.manifests.documents.filter((d) => d.kind === 'Deployment')) {
    doc.metadata.annotations = { ...doc.metadata.annotations, 'kubernetes.io/change-cause': `ops deploy ${job.service} to ${job.env}, release ${job.revision}`, 'ops/revision': String(job.revision) };
  }
  update(`kubectl apply (${job.manifests.documents.length} objects)`);
  const applied = await ctx.adapters.kubectl.kubectl(kube, ['apply', '--server-side', '--force-conflicts', '--field-manager=ops', '-f', '-'], { input: toYaml(job.manifests.documents) });
  if (applied.exitCode !== 0) {
    return { ok: false, error: `kubectl apply failed: ${ctx.adapters.kubectl.kubectlError(applied)}`, logTail: applied.stderr.split('\n').filter(Boolean).slice(-LOG_TAIL_LINES), details: {} };
  }
  const objects = applied.stdout.split('\n').filter(Boolean);
  const watched = await watchRollout(ctx, kube, job.manifests.deployments, job.envConfig.deadline, update);
  if (watched.ok) {
    return { ok: true, message: `${job.manifests.deployments.length} deployment(s) ready`, details: { applied: objects, deployments: job.manifests.deployments.map((d) => ({ ...d, revision: watched.revisions[d.name] })) } };
  }

  const { failure, deployment } = watched;
  const where = failure.pod ? `pod ${failure.pod}${failure.container ? ` container ${failure.container}` : ''}: ` : `deployment/${deployment.name}: `;
  const logTail = await podLogs(ctx, kube, failure, deployment.namespace);
  const outcome: TargetOutcome = { ok: false, error: `${where}${failure.reason}`, logTail, details: { applied: objects, deployments: job.manifests.deployments } };
  if (!job.envConfig.autoRollback) return outcome;

  update(`rolling back deployment/${deployment.name}`);
  const undone: string[] = [];
  for (const d of job.manifests.deployments) {
    const undo = await ctx.adapters.kubectl.kubectl({ ...kube, namespace: d.namespace }, ['rollout', 'undo', `deployment/${d.name}`]);
    if (undo.exitCode !== 0) {
      outcome.rolledBack = { ok: false, message: `kubectl rollout undo deployment/${d.name}: ${ctx.adapters.kubectl.kubectlError(undo)}` };
      return outcome;
    }
    undone.push(`deployment/${d.name}`);
  }
  const recovered = await watchRollout(ctx, kube, job.manifests.deployments, Math.min(job.envConfig.deadline, ROLLBACK_DEADLINE_MS), update);
  outcome.rolledBack = recovered.ok
    ? { ok: true, message: `kubectl rollout undo ${undone.join(' ')}: ready again` }
    : { ok: false, message: `kubectl rollout undo ${undone.join(' ')} did not become ready: ${recovered.failure.reason}` };
  return outcome;
}

export interface KubeServiceStatus {
  deployments: Array<{ name: string; namespace: string; desired: number; available: number; images: string[]; revision: string | null; condition: string | null }>;
}

/** The live state of the Deployments the current release applied. */
export async function kubernetesStatus(ctx: Context, env: KubeEnvironment, details: Record<string, unknown> | null): Promise<KubeServiceStatus> {
  const kube = target(ctx, env);
  const deployments = (details?.deployments ?? []) as ManifestDeployment[];
  const out: KubeServiceStatus['deployments'] = [];
  for (const d of deployments) {
    const dep = await ctx.adapters.kubectl.kubectlJson<Obj>({ ...kube, namespace: d.namespace }, ['get', `deployment/${d.name}`]);
    const progressing = ((dep.status?.conditions ?? []) as Obj[]).find((c) => c.type === 'Progressing');
    out.push({
      name: d.name,
      namespace: d.namespace,
      desired: dep.spec?.replicas ?? 1,
      available: dep.status?.availableReplicas ?? 0,
      images: ((dep.spec?.template?.spec?.containers ?? []) as Obj[]).map((c) => String(c.image)),
      revision: dep.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? null,
      condition: progressing ? `${progressing.type}=${progressing.status} (${progressing.reason})` : null,
    });
  }
  return { deployments: out };
}
