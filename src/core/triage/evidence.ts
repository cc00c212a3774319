import type { DockerEndpoint } from '../../adapters/docker.js';
import { kubeTarget } from '../../adapters/kubectl.js';
import type { TagPresence } from '../../adapters/registry.js';
import type { AliasEvent, Incident, Release, StoredSignal } from '../../ledger/index.js';
import type { EnvironmentConfig } from '../config/schema.js';
import type { Context } from '../context.js';
import { redact } from '../../redact.js';
import { dockerEndpoint } from '../watch/sources/docker.js';
import { parseImageReference } from '../build/images.js';

export interface ContainerEvidence {
  name: string;
  id: string;
  revision: number | null;
  image: string;
  status: string;
  exitCode: number;
  oomKilled: boolean;
  restartCount: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  health: string | null;
  healthLog: Array<{ exitCode: number; output: string }>;
  /** Bytes; 0 when unlimited. */
  memoryLimit: number;
  /** Bytes in use when triage asked; null when the container was not running. */
  memoryUsage: number | null;
  logs: string[];
}

export interface PodContainerEvidence {
  name: string;
  image: string;
  ready: boolean;
  restarts: number;
  waiting: { reason: string; message: string } | null;
  terminated: { reason: string; exitCode: number; message: string } | null;
  lastTerminated: { reason: string; exitCode: number; message: string } | null;
  memoryLimit: string | null;
  logs: string[];
  previousLogs: string[];
}

export interface PodEvidence {
  name: string;
  phase: string;
  conditions: Array<{ type: string; status: string; reason: string; message: string }>;
  containers: PodContainerEvidence[];
  describe: string;
}

export interface KubeEvidence {
  namespace: string;
  pods: PodEvidence[];
  deployment: { name: string; describe: string } | null;
  events: Array<{ object: string; type: string; reason: string; message: string; count: number; lastSeen: string }>;
}

export interface ImageEvidence {
  image: string;
  /** In the engine (docker target), or null when not asked. */
  local: boolean | null;
  registry: TagPresence | 'not a registry image';
  detail: string;
}

export interface ReleaseEvidence {
  releaseId: number;
  service: string;
  revision: number;
  image: string;
  gitSha: string | null;
  status: string;
  description: string;
  createdAt: string;
  finishedAt: string | null;
  /** The watch's suspect rank and score (closeness in time and risk). */
  rank: number;
  suspectScore: number;
  beforeMs: number;
  previous: { releaseId: number; revision: number; image: string; gitSha: string | null; configHash: string } | null;
  /** Where a rollback of this release goes: the last healthy release before it (null: none, or it no longer runs). */
  rollbackTarget: { releaseId: number; revision: number; image: string } | null;
  diff: { files: Array<{ path: string; added: number | null; deleted: number | null }>; stat: string } | null;
  diffError?: string;
  risk: { probability: number; level: string; reasons: string[]; model: string | null } | null;
  gate: { overridden: boolean; reason: string | null };
  configHash: string;
  configChanged: boolean;
}

export interface EvidenceCall {
  call: string;
  ms: number;
  error?: string;
}

export interface Evidence {
  incident: Pick<Incident, 'id' | 'service' | 'env' | 'condition' | 'title' | 'state' | 'severity' | 'beganAt' | 'cause' | 'causeRelease' | 'resolvedBy'>;
  target: 'docker' | 'kubernetes' | 'unknown';
  signals: Array<Pick<StoredSignal, 'condition' | 'resource' | 'message' | 'count' | 'details'> & { cleared: boolean }>;
  containers: ContainerEvidence[];
  kubernetes: KubeEvidence | null;
  images: ImageEvidence[];
  releases: ReleaseEvidence[];
  modelMoves: AliasEvent[];
  configChanges: Array<{ releaseId: number; fromRevision: number; toRevision: number; fromHash: string; toHash: string }>;
  correlationWindowMs: number;
  /** Every call to the outside made to gather this, with its time: evidence calls run concurrently. */
  calls: EvidenceCall[];
}

export interface EvidenceOptions {
  logLines: number;
}

const MAX_CONTAINERS = 5;
const MAX_PODS = 5;

type Obj = Record<string, any>;

/** Times every outside call, and keeps a failed one as a note instead of failing the triage. */
class CallLog {
  readonly calls: EvidenceCall[] = [];
  constructor(private readonly secrets: string[]) {}

  async run<T>(call: string, work: () => Promise<T>, fallback: T): Promise<T> {
    const t0 = performance.now();
    try {
      const value = await work();
      this.calls.push({ call, ms: Math.round(performance.now() - t0) });
      return value;
    } catch (err) {
      this.calls.push({ call, ms: Math.round(performance.now() - t0), error: redact((err as Error).message, this.secrets) });
      return fallback;
    }
  }
}

async function dockerEvidence(ctx: Context, calls: CallLog, project: string, incident: Incident, endpoint: DockerEndpoint, logLines: number): Promise<ContainerEvidence[]> {
  const docker = ctx.adapters.docker;
  const labels = { 'ops.project': project, 'ops.service': incident.service, 'ops.env': incident.env };
  const listed = await calls.run('docker ps', () => docker.listContainers(endpoint, ctx.env, labels), []);
  const chosen = listed.slice(-MAX_CONTAINERS);
  const found = await Promise.all(
    chosen.map(async (c) => {
      const [state, logs] = await Promise.all([
        calls.run(`docker inspect ${c.name}`, () => docker.inspectContainer(endpoint, ctx.env, c.id), null),
        calls.run(`docker logs --tail ${logLines} ${c.name}`, () => docker.containerLogs(endpoint, ctx.env, c.id, logLines), [] as string[]),
      ]);
      if (!state) return null;
      const memoryUsage = state.running ? await calls.run(`docker stats ${c.name}`, () => docker.containerMemoryUsage(endpoint, ctx.env, c.id), null) : null;
      const evidence: ContainerEvidence = {
        name: state.name,
        id: state.id.slice(0, 12),
        revision: Number(state.labels['ops.revision']) || null,
        image: state.image,
        status: state.status,
        exitCode: state.exitCode,
        oomKilled: state.oomKilled,
        restartCount: state.restartCount,
        error: state.error,
        startedAt: state.startedAt,
        finishedAt: state.finishedAt,
        health: state.health ?? null,
        healthLog: state.healthLogs.map((h) => ({ exitCode: h.exitCode, output: redact(h.output, ctx.secrets) })),
        memoryLimit: state.memoryLimit,
        memoryUsage,
        logs: logs.map((line) => redact(line, ctx.secrets)),
      };
      return evidence;
    }),
  );
  return found.filter((c): c is ContainerEvidence => c !== null);
}

const terminatedOf = (state: Obj | undefined) =>
  state?.terminated ? { reason: String(state.terminated.reason ?? ''), exitCode: Number(state.terminated.exitCode ?? 0), message: String(state.terminated.message ?? '') } : null;

/** The first segment of each signal's resource: pod signals name "<pod>[/<container>]". */
const podsNamed = (signals: StoredSignal[]): string[] => [...new Set(signals.map((s) => s.resource.replace(/^pod\//, '').split('/')[0]!))];

async function kubeEvidence(ctx: Context, calls: CallLog, incident: Incident, signals: StoredSignal[], env: Extract<EnvironmentConfig, { target: 'kubernetes' }>, logLines: number): Promise<KubeEvidence> {
  const kube = kubeTarget(env, ctx.env);
  const { kubectl } = ctx.adapters;
  // The pods the watch source reads: its selector, or the default it uses.
  const source = ctx.config?.watch.sources.find((s) => s.type === 'kubernetes' && s.service === incident.service && s.env === incident.env);
  const labelSelector = (source?.type === 'kubernetes' && source.selector) || `app=${incident.service}`;
  const text = async (label: string, args: string[]) =>
    calls.run(label, async () => {
      const result = await kubectl.kubectl(kube, args);
      if (result.exitCode !== 0) throw new Error(kubectl.kubectlError(result));
      return redact(result.stdout, ctx.secrets);
    }, '');
  const deploymentName = signals.map((s) => /^deployment\/(.+)$/.exec(s.resource)?.[1]).find(Boolean) ?? incident.service;
  const [podList, eventList, deploymentDescribe] = await Promise.all([
    calls.run(`kubectl get pods -l ${labelSelector}`, () => kubectl.kubectlJson<{ items: Obj[] }>(kube, ['get', 'pods', '-l', labelSelector]), { items: [] as Obj[] }),
    calls.run('kubectl get events', () => kubectl.kubectlJson<{ items: Obj[] }>(kube, ['get', 'events']), { items: [] as Obj[] }),
    text(`kubectl describe deployment ${deploymentName}`, ['describe', 'deployment', deploymentName]),
  ]);
  const named = podsNamed(signals);
  // The pods the signals name; all of the service's when none is named (a Service or Deployment signal).
  const failing = podList.items.filter((p) => named.includes(String(p.metadata.name)));
  const pods = (failing.length ? failing : podList.items).slice(0, MAX_PODS);
  const podEvidence = await Promise.all(
    pods.map(async (pod): Promise<PodEvidence> => {
      const name = String(pod.metadata.name);
      const specs = (pod.spec?.containers ?? []) as Obj[];
      const statuses = (pod.status?.containerStatuses ?? []) as Obj[];
      const [describe, ...logs] = await Promise.all([
        text(`kubectl describe pod ${name}`, ['describe', 'pod', name]),
        ...specs.flatMap((c) => [
          text(`kubectl logs ${name} -c ${c.name}`, ['logs', name, '-c', String(c.name), '--tail', String(logLines)]),
          statuses.find((s) => s.name === c.name)?.restartCount
            ? text(`kubectl logs ${name} -c ${c.name} --previous`, ['logs', name, '-c', String(c.name), '--previous', '--tail', String(logLines)])
            : Promise.resolve(''),
        ]),
      ]);
      const lines = (output: string | undefined) => (output ?? '').split('\n').filter((l) => l.trim() !== '');
      return {
        name,
        phase: String(pod.status?.phase ?? 'Unknown'),
        conditions: ((pod.status?.conditions ?? []) as Obj[]).map((c) => ({ type: String(c.type), status: String(c.status), reason: String(c.reason ?? ''), message: String(c.message ?? '') })),
        containers: specs.map((spec, i) => {
          const status = statuses.find((s) => s.name === spec.name) ?? {};
          return {
            name: String(spec.name),
            image: String(spec.image),
            ready: Boolean(status.ready),
            restarts: Number(status.restartCount ?? 0),
            waiting: status.state?.waiting ? { reason: String(status.state.waiting.reason ?? ''), message: String(status.state.waiting.message ?? '') } : null,
            terminated: terminatedOf(status.state),
            lastTerminated: terminatedOf(status.lastState),
            memoryLimit: spec.resources?.limits?.memory ?? null,
            logs: lines(logs[2 * i]),
            previousLogs: lines(logs[2 * i + 1]),
          };
        }),
        describe,
      };
    }),
  );
  const objects = new Set([...podEvidence.map((p) => p.name), deploymentName]);
  const since = incident.beganAt - 3600_000;
  const events = eventList.items
    .filter((e) => objects.has(String(e.involvedObject?.name)) || String(e.involvedObject?.name ?? '').startsWith(`${deploymentName}-`))
    .map((e) => ({
      object: `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name}`,
      type: String(e.type ?? ''),
      reason: String(e.reason ?? ''),
      message: redact(String(e.message ?? ''), ctx.secrets),
      count: Number(e.count ?? 1),
      lastSeen: String(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? ''),
    }))
    .filter((e) => !e.lastSeen || Date.parse(e.lastSeen) >= since)
    .sort((a, b) => a.lastSeen.localeCompare(b.lastSeen));
  return { namespace: env.namespace, pods: podEvidence, deployment: deploymentDescribe ? { name: deploymentName, describe: deploymentDescribe } : null, events };
}

/** `git diff --numstat` between a release and the one before it: one git call per release. */
async function releaseDiff(ctx: Context, calls: CallLog, from: string, to: string): Promise<ReleaseEvidence['diff']> {
  const output = await calls.run(`git diff --numstat ${from.slice(0, 12)} ${to.slice(0, 12)}`, () => ctx.adapters.git.gitOutput(ctx.root, ['diff', '--numstat', '-M', from, to]), null);
  if (output === null) return null;
  const files = output
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [added, deleted, ...path] = line.split('\t');
      return { path: path.join('\t'), added: added === '-' ? null : Number(added), deleted: deleted === '-' ? null : Number(deleted) };
    });
  const added = files.reduce((n, f) => n + (f.added ?? 0), 0);
  const deleted = files.reduce((n, f) => n + (f.deleted ?? 0), 0);
  return { files, stat: `${files.length} file${files.length === 1 ? '' : 's'} changed, ${added} insertion(s)(+), ${deleted} deletion(s)(-)` };
}

async function releaseEvidence(ctx: Context, calls: CallLog, incident: Incident): Promise<ReleaseEvidence[]> {
  const ledger = ctx.ledger();
  const suspects = await ledger.incidents.suspects(incident.id);
  const found: Array<{ suspect: (typeof suspects)[number]; release: Release }> = [];
  for (const suspect of suspects) {
    const release = await ledger.releases.byId(suspect.releaseId);
    if (release) found.push({ suspect, release });
  }
  return Promise.all(
    found.map(async ({ suspect, release }): Promise<ReleaseEvidence> => {
      const previous = await ledger.releases.previousLive(release.service, release.env, release.revision);
      // Only what runs now can be rolled back.
      const target = release.status === 'deployed' ? await ledger.releases.lastHealthyBefore(release.service, release.env, release.revision, release.image) : undefined;
      const score = release.risk.scoreId != null ? await ledger.risk.score(release.risk.scoreId) : undefined;
      const canDiff = previous?.gitSha && release.gitSha && previous.gitSha !== release.gitSha;
      const diff = canDiff ? await releaseDiff(ctx, calls, previous.gitSha!, release.gitSha!) : null;
      return {
        releaseId: release.id,
        service: release.service,
        revision: release.revision,
        image: release.image,
        gitSha: release.gitSha,
        status: release.status,
        description: release.description,
        createdAt: release.createdAt,
        finishedAt: release.finishedAt,
        rank: suspect.rank,
        suspectScore: suspect.score,
        beforeMs: suspect.beforeMs,
        previous: previous ? { releaseId: previous.id, revision: previous.revision, image: previous.image, gitSha: previous.gitSha, configHash: previous.configHash } : null,
        rollbackTarget: target ? { releaseId: target.id, revision: target.revision, image: target.image } : null,
        diff,
        ...(canDiff && !diff ? { diffError: `git could not compare ${previous.gitSha!.slice(0, 12)} and ${release.gitSha!.slice(0, 12)} in ${ctx.root}` } : {}),
        risk:
          score ?? release.risk.probability != null
            ? { probability: score?.probability ?? release.risk.probability!, level: score?.level ?? release.risk.level ?? '', reasons: score?.reasons ?? (release.risk.reason ? release.risk.reason.split('; ') : []), model: release.risk.model ?? null }
            : null,
        gate: { overridden: Boolean(release.risk.accepted), reason: release.risk.accepted ?? null },
        configHash: release.configHash,
        configChanged: Boolean(previous && previous.configHash && release.configHash && previous.configHash !== release.configHash),
      };
    }),
  );
}

/** The images the failing workload runs or wants: in the engine (docker) and in their registry. */
async function imageEvidence(ctx: Context, calls: CallLog, images: string[], endpoint: DockerEndpoint | null): Promise<ImageEvidence[]> {
  return Promise.all(
    [...new Set(images)].map(async (image): Promise<ImageEvidence> => {
      const local = endpoint ? await calls.run(`docker image inspect ${image}`, async () => Boolean(await ctx.adapters.docker.inspectImage(endpoint, ctx.env, image)), null) : null;
      const ref = parseImageReference(image, ctx.config?.registry);
      if (!ref) return { image, local, registry: 'not a registry image', detail: `${image} names no registry host` };
      const auth = await ctx.adapters.docker.registryAuth(ref.registry.host, ctx.env).catch(() => undefined);
      const answer = await calls.run(`registry HEAD ${image}`, () => ctx.adapters.registry.tagPresence(ref.registry, ref.tag, auth), { presence: 'unreachable' as const, detail: `${ref.registry.host} did not answer` });
      return { image, local, registry: answer.presence, detail: answer.detail };
    }),
  );
}

/** Everything triage looks at for one incident; outside calls run concurrently and never fail it. */
export async function gatherEvidence(ctx: Context, incident: Incident, options: EvidenceOptions): Promise<Evidence> {
  const config = ctx.config;
  const ledger = ctx.ledger();
  const calls = new CallLog(ctx.secrets);
  const signals = await ledger.incidents.signalsOf(incident.id);
  const envConfig = config?.environments[incident.env];
  const target = envConfig?.target ?? 'unknown';
  const endpoint = envConfig?.target === 'docker' ? dockerEndpoint(ctx, incident.env) : null;
  const windowMs = config?.watch.correlationWindow ?? 3600_000;

  const [containers, kubernetes, releases] = await Promise.all([
    endpoint && config ? dockerEvidence(ctx, calls, config.project, incident, endpoint, options.logLines) : Promise.resolve([]),
    envConfig?.target === 'kubernetes' ? kubeEvidence(ctx, calls, incident, signals, envConfig, options.logLines) : Promise.resolve(null),
    releaseEvidence(ctx, calls, incident),
  ]);
  const current = await ledger.releases.current(incident.service, incident.env);
  const wanted = [
    ...containers.map((c) => c.image),
    ...(kubernetes?.pods.flatMap((p) => p.containers.filter((c) => !c.ready).map((c) => c.image)) ?? []),
    ...(current ? [current.image] : []),
  ];
  const images = await imageEvidence(ctx, calls, wanted, endpoint);
  const configChanges = releases
    .filter((r) => r.configChanged && r.previous)
    .map((r) => ({ releaseId: r.releaseId, fromRevision: r.previous!.revision, toRevision: r.revision, fromHash: r.previous!.configHash, toHash: r.configHash }));
  return {
    incident: {
      id: incident.id,
      service: incident.service,
      env: incident.env,
      condition: incident.condition,
      title: incident.title,
      state: incident.state,
      severity: incident.severity,
      beganAt: incident.beganAt,
      cause: incident.cause,
      causeRelease: incident.causeRelease,
      resolvedBy: incident.resolvedBy,
    },
    target,
    signals: signals.map((s) => ({ condition: s.condition, resource: s.resource, message: s.message, count: s.count, details: s.details, cleared: s.clearedAt !== null })),
    containers,
    kubernetes,
    images,
    releases,
    modelMoves: await ledger.models.aliasEventsBetween(incident.beganAt - windowMs, incident.beganAt),
    configChanges,
    correlationWindowMs: windowMs,
    calls: calls.calls,
  };
}
