import { kubeTarget } from '../../../adapters/kubectl.js';
import type { Context } from '../../context.js';
import type { WatchSourceConfig } from '../../config/schema.js';
import { UsageError } from '../../../errors.js';
import type { CheckResult, Signal } from '../types.js';

type KubernetesSource = Extract<WatchSourceConfig, { type: 'kubernetes' }>;
type Obj = Record<string, any>;

interface KubeMemory {
  /** Restart count last seen per pod uid and container. */
  restarts: Record<string, number>;
}

const IMAGE_PULL = new Set(['ImagePullBackOff', 'ErrImagePull']);
const WAITING_FAILURES = new Set(['InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

const eventTime = (event: Obj) => Date.parse(event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp ?? '');

function terminationText(term: Obj | undefined): string {
  if (!term) return '';
  return `${term.reason ?? 'terminated'} with exit code ${term.exitCode}${term.message ? `: ${String(term.message).trim().slice(0, 200)}` : ''}`;
}

/** What is wrong with one pod's containers. */
function podSignals(pod: Obj, before: Record<string, number>, restarts: Record<string, number>): Signal[] {
  const signals: Signal[] = [];
  const name = pod.metadata.name as string;
  const status = pod.status ?? {};
  if (status.phase === 'Failed' && status.reason === 'Evicted') {
    signals.push({ condition: 'Evicted', resource: name, severity: 'warning', message: `pod ${name} was evicted: ${status.message ?? ''}`.trim(), details: {} });
    return signals;
  }
  const unschedulable = (status.conditions ?? []).find((c: Obj) => c.type === 'PodScheduled' && c.status === 'False');
  if (status.phase === 'Pending' && unschedulable) {
    signals.push({ condition: 'Unschedulable', resource: name, severity: 'critical', message: `pod ${name} cannot be scheduled: ${unschedulable.message ?? unschedulable.reason ?? 'no node fits'}`, details: { reason: unschedulable.reason ?? null } });
  }
  for (const cs of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])] as Obj[]) {
    const resource = `${name}/${cs.name}`;
    const waiting = cs.state?.waiting as Obj | undefined;
    const term = cs.state?.terminated as Obj | undefined;
    const last = cs.lastState?.terminated as Obj | undefined;
    const found: Signal[] = [];
    if (waiting?.reason === 'CrashLoopBackOff') {
      found.push({ condition: 'CrashLoopBackOff', resource, severity: 'critical', message: `${resource} is in CrashLoopBackOff (${cs.restartCount} restarts)${last ? `, last ${terminationText(last)}` : ''}`, details: { restarts: cs.restartCount, lastReason: last?.reason ?? null, lastExitCode: last?.exitCode ?? null } });
    } else if (waiting && IMAGE_PULL.has(waiting.reason)) {
      found.push({ condition: 'ImagePullBackOff', resource, severity: 'critical', message: `${resource} cannot pull ${cs.image}: ${waiting.message ?? waiting.reason}`, details: { image: cs.image, reason: waiting.reason } });
    } else if (waiting && WAITING_FAILURES.has(waiting.reason)) {
      found.push({ condition: waiting.reason, resource, severity: 'critical', message: `${resource}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`, details: { reason: waiting.reason } });
    }
    const ended = term ?? last;
    if (ended?.reason === 'OOMKilled') {
      found.push({ condition: 'OOMKilled', resource, severity: 'critical', message: `${resource} was OOMKilled (exit code ${ended.exitCode}, ${cs.restartCount} restarts)`, details: { exitCode: ended.exitCode, restarts: cs.restartCount } });
    } else if (term && term.exitCode !== 0) {
      found.push({ condition: 'Terminated', resource, severity: 'critical', message: `${resource} ${terminationText(term)}`, details: { exitCode: term.exitCode, reason: term.reason ?? null } });
    }
    const restartKey = `${pod.metadata.uid}/${cs.name}`;
    restarts[restartKey] = cs.restartCount ?? 0;
    const previous = before[restartKey];
    if (found.length === 0 && previous !== undefined && (cs.restartCount ?? 0) > previous) {
      found.push({ condition: 'RestartsRising', resource, severity: 'warning', message: `${resource} restarted ${cs.restartCount - previous} time(s) since the last check (${cs.restartCount} in all)${last ? `, last ${terminationText(last)}` : ''}`, details: { restarts: cs.restartCount } });
    }
    signals.push(...found);
  }
  return signals;
}

/**
 * Pods, Deployments, Services and Endpoints of the service (label selector, default `app=<service>`)
 * and the namespace's recent events, through `kubectl get -o json`; k8sgpt's and Skaffold's checks.
 */
export async function checkKubernetes(ctx: Context, source: KubernetesSource, memory: KubeMemory | undefined, nowMs: number, freshMs: number): Promise<CheckResult<KubeMemory>> {
  const environment = ctx.requireConfig().environments[source.env];
  if (environment?.target !== 'kubernetes') throw new UsageError(`watch source for ${source.service}: environment ${source.env} is not a kubernetes environment`, 'point the source at an environment with target: kubernetes');
  const target = kubeTarget(environment, ctx.env);
  const selector = source.selector ?? `app=${source.service}`;
  const kubectl = ctx.adapters.kubectl;
  const [objects, events] = await Promise.all([
    kubectl.kubectlJson<{ items: Obj[] }>(target, ['get', 'pods,deployments,services,endpoints', '-l', selector]),
    kubectl.kubectlJson<{ items: Obj[] }>(target, ['get', 'events']),
  ]);
  const of = (kind: string) => objects.items.filter((o) => o.kind === kind);
  const restarts: Record<string, number> = {};
  const signals: Signal[] = [];
  const pods = of('Pod');
  const podNames = new Set(pods.map((p) => p.metadata.name as string));
  const fresh = events.items.filter((e) => podNames.has(e.involvedObject?.name) && nowMs - eventTime(e) <= freshMs);
  for (const pod of pods) signals.push(...podSignals(pod, memory?.restarts ?? {}, restarts));
  for (const event of fresh.filter((e) => e.reason === 'Unhealthy')) {
    const pod = event.involvedObject.name as string;
    signals.push({ condition: 'ProbeFailed', resource: pod, severity: 'warning', message: `pod ${pod}: ${event.message ?? 'probe failed'}${event.count > 1 ? ` (x${event.count})` : ''}`, details: { count: event.count ?? 1 } });
  }
  for (const event of fresh.filter((e) => e.reason === 'FailedScheduling')) {
    const pod = event.involvedObject.name as string;
    const existing = signals.find((s) => s.condition === 'Unschedulable' && s.resource === pod);
    if (existing) existing.message = `pod ${pod} cannot be scheduled: ${event.message}`;
    else signals.push({ condition: 'Unschedulable', resource: pod, severity: 'critical', message: `pod ${pod} cannot be scheduled: ${event.message}`, details: {} });
  }
  for (const deployment of of('Deployment')) {
    const name = `deployment/${deployment.metadata.name}`;
    const wanted = deployment.spec?.replicas ?? 1;
    const available = deployment.status?.availableReplicas ?? 0;
    const progressing = (deployment.status?.conditions ?? []).find((c: Obj) => c.type === 'Progressing');
    if (progressing?.status === 'False') {
      signals.push({ condition: progressing.reason ?? 'ProgressDeadlineExceeded', resource: name, severity: 'critical', message: `${name}: ${progressing.message ?? progressing.reason}`, details: { reason: progressing.reason ?? null } });
    }
    if (available < wanted) {
      signals.push({ condition: 'ReplicasUnavailable', resource: name, severity: 'warning', message: `${name} has ${available} of ${wanted} replicas available`, details: { wanted, available } });
    }
  }
  const endpoints = new Map(of('Endpoints').map((e) => [e.metadata.name as string, e]));
  for (const service of of('Service')) {
    if (!service.spec?.selector || Object.keys(service.spec.selector).length === 0 || service.spec.type === 'ExternalName') continue;
    const subsets = (endpoints.get(service.metadata.name)?.subsets ?? []) as Obj[];
    const ready = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0);
    if (ready === 0) {
      const notReady = subsets.reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0);
      signals.push({ condition: 'NoReadyEndpoints', resource: `service/${service.metadata.name}`, severity: 'critical', message: `service/${service.metadata.name} has no ready endpoints${notReady ? ` (${notReady} not ready)` : ''}`, details: { notReady } });
    }
  }
  return { signals, memory: { restarts } };
}
