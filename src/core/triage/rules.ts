import { killedForMemory } from '../../adapters/docker.js';
import type { ContainerEvidence, Evidence, ReleaseEvidence } from './evidence.js';

export type CauseKind = 'oom' | 'crash-on-start' | 'image-not-pullable' | 'health-probe' | 'unschedulable' | 'config-error' | 'bad-deploy' | 'model-promotion' | 'model-drift' | 'recorded';

export type ActionSpec =
  | { kind: 'rollback'; service: string; env: string; to: number }
  | { kind: 'restart'; service: string; env: string; target: 'docker' | 'kubernetes'; deployment?: string }
  | { kind: 'raise-memory'; service: string; env: string; from: string; to: string; image: string }
  | { kind: 'model-rollback'; model: string; alias: string; to: number }
  | { kind: 'model-retrain'; model: string; alias: string }
  | { kind: 'risk-retrain'; alias: string }
  | { kind: 'manual' };

export interface Action {
  /** The number `--apply` takes; the same command keeps one number across hypotheses. */
  n: number;
  title: string;
  /** The exact command a person would run. */
  command: string;
  spec: ActionSpec;
}

export interface Hypothesis {
  rank: number;
  cause: CauseKind;
  title: string;
  /** 0..1: how strongly the evidence supports it; the list is ranked, never a single verdict. */
  confidence: number;
  evidence: string[];
  /** The release this hypothesis blames, for `--cause release:<id>` and the risk labels. */
  releaseId?: number;
  actions: Action[];
}

type Draft = Omit<Hypothesis, 'rank' | 'actions'> & { actions: Array<Omit<Action, 'n'>>; order: number; mechanismOf?: (r: ReleaseEvidence) => boolean; recorded?: boolean };

const MB = 1024 * 1024;
export const formatBytes = (bytes: number) => (bytes >= 1024 * MB ? `${(bytes / 1024 / MB).toFixed(1)} GiB` : `${(bytes / MB).toFixed(1)} MiB`);
const round = (n: number) => Math.round(n * 1000) / 1000;

/** Why a process died on start, read from its logs or the engine's error, in the order people check. */
const CRASH_EXPLANATIONS: Array<{ what: string; pattern: RegExp; name?: (m: RegExpMatchArray) => string }> = [
  { what: 'exec format error (the image was built for another platform)', pattern: /exec format error/i },
  {
    what: 'missing environment variable',
    pattern: /\b(?:env(?:ironment)?(?:\s+var(?:iable)?)?|variable)\s+["'`$]?([A-Z][A-Z0-9_]{1,})["'`]?\s+(?:is\s+)?(?:not set|unset|missing|required|undefined|empty)|missing (?:required )?env(?:ironment)?(?: var(?:iable)?s?)?[:\s]+["'`$]?([A-Z][A-Z0-9_]{1,})|KeyError: '([A-Z][A-Z0-9_]{1,})'/i,
    name: (m) => m[1] ?? m[2] ?? m[3] ?? '',
  },
  { what: 'bad command', pattern: /executable file not found|command not found|: not found\s*$|no such file or directory.*(?:exec|entrypoint|cmd)|permission denied.*exec|exec:/i },
  { what: 'missing file', pattern: /no such file or directory|ENOENT|can't open|cannot open|file not found/i },
];

export function explainCrash(lines: string[], exitCode: number): { what: string; line: string } | null {
  for (const rule of CRASH_EXPLANATIONS) {
    for (let i = lines.length - 1; i >= 0; i--) {
      const match = lines[i]!.match(rule.pattern);
      if (match) return { what: rule.name ? `${rule.what} ${rule.name(match)}`.trim() : rule.what, line: lines[i]!.trim() };
    }
  }
  if (exitCode === 127) return { what: 'bad command', line: 'exit code 127: the command was not found' };
  if (exitCode === 126) return { what: 'bad command', line: 'exit code 126: the command could not be executed' };
  return null;
}

const uptimeSeconds = (c: ContainerEvidence) => {
  const ran = Date.parse(c.finishedAt) - Date.parse(c.startedAt);
  return Number.isFinite(ran) && ran >= 0 ? Math.round(ran / 1000) : null;
};

/** Undo a release that runs now: back to the last healthy release of its service (a dependency's own, for a dependency). */
const rollbackTo = (evidence: Evidence, release: ReleaseEvidence): Omit<Action, 'n'> | null =>
  release.rollbackTarget
    ? {
        title: `roll back ${release.service} to revision ${release.rollbackTarget.revision}`,
        command: `ops deploy rollback ${release.service} --env ${evidence.incident.env} --to ${release.rollbackTarget.revision}`,
        spec: { kind: 'rollback', service: release.service, env: evidence.incident.env, to: release.rollbackTarget.revision },
      }
    : null;

function restart(evidence: Evidence): Omit<Action, 'n'> {
  const { service, env } = evidence.incident;
  if (evidence.target === 'kubernetes') {
    const deployment = evidence.kubernetes?.deployment?.name ?? service;
    return {
      title: `restart deployment/${deployment}`,
      command: `kubectl rollout restart deployment/${deployment} --namespace ${evidence.kubernetes?.namespace ?? 'default'}`,
      spec: { kind: 'restart', service, env, target: 'kubernetes', deployment },
    };
  }
  const names = evidence.containers.map((c) => c.name);
  return { title: `restart ${service}'s containers`, command: `docker restart ${names.join(' ') || `<${service} containers>`}`, spec: { kind: 'restart', service, env, target: 'docker' } };
}

/** A container of the incident's service belongs to that service's release of its revision label. */
const ranBy = (evidence: Evidence, c: ContainerEvidence) => (r: ReleaseEvidence) => r.service === evidence.incident.service && c.revision === r.revision;

/** "r4" for the incident's own service, "api r3" for a dependency's release. */
const releaseName = (evidence: Evidence, r: ReleaseEvidence) => (r.service === evidence.incident.service ? `r${r.revision}` : `${r.service} r${r.revision}`);

const manual = (title: string, command: string): Omit<Action, 'n'> => ({ title, command, spec: { kind: 'manual' } });

/** Containers and pod containers of the failing workload, with their release revision when known. */
function failingContainers(evidence: Evidence): ContainerEvidence[] {
  return evidence.containers.filter((c) => c.status !== 'running' || c.restartCount > 0 || c.oomKilled || c.health === 'unhealthy');
}

const podContainers = (evidence: Evidence) => evidence.kubernetes?.pods.flatMap((p) => p.containers.map((c) => ({ pod: p.name, ...c }))) ?? [];

function oomRule(evidence: Evidence): Draft[] {
  const drafts: Draft[] = [];
  for (const c of evidence.containers.filter(killedForMemory)) {
    const limit = c.memoryLimit ? formatBytes(c.memoryLimit) : 'none';
    const killed = c.oomKilled
      ? c.status === 'running'
        ? `${c.name} was OOMKilled, then restarted (${c.restartCount} restarts)`
        : `${c.name} was OOMKilled (exit code ${c.exitCode}, ${c.restartCount} restarts)`
      : `${c.name} was killed by SIGKILL (exit code 137, ${c.restartCount} restarts) under a memory limit; the engine did not flag OOMKilled`;
    const lines = [killed, `memory limit ${limit}`];
    lines.push(c.memoryUsage != null ? `last usage seen ${formatBytes(c.memoryUsage)}${c.memoryLimit ? ` (${Math.round((100 * c.memoryUsage) / c.memoryLimit)}% of the limit)` : ''}` : 'last usage seen: none (the container was not running when triage asked)');
    const actions: Array<Omit<Action, 'n'>> = [];
    if (c.memoryLimit) {
      const current = `${Math.round(c.memoryLimit / MB)}m`;
      const raised = `${Math.round((2 * c.memoryLimit) / MB)}m`;
      const { service, env } = evidence.incident;
      actions.push({
        title: `raise services.${service}.resources.memory from ${current} to ${raised} and redeploy`,
        command: `set services.${service}.resources.memory: ${raised} in the config, then ops deploy ${service} --env ${env} --image ${c.image}`,
        spec: { kind: 'raise-memory', service, env, from: current, to: raised, image: c.image },
      });
    }
    drafts.push({ cause: 'oom', title: `out of memory: ${c.name} exceeded its ${limit} limit`, confidence: c.oomKilled ? 0.9 : 0.8, evidence: lines, actions, order: 0, mechanismOf: ranBy(evidence, c) });
  }
  for (const c of podContainers(evidence)) {
    const ended = [c.terminated, c.lastTerminated].find((t) => t?.reason === 'OOMKilled');
    if (!ended) continue;
    const lines = [`pod ${c.pod} container ${c.name} was OOMKilled (exit code ${ended.exitCode}, ${c.restarts} restarts)`, `memory limit ${c.memoryLimit ?? 'none'}`, 'last usage seen: not available without metrics-server'];
    drafts.push({
      cause: 'oom',
      title: `out of memory: ${c.pod}/${c.name} exceeded its ${c.memoryLimit ?? 'unset'} limit`,
      confidence: 0.9,
      evidence: lines,
      actions: [manual(`raise the memory limit of ${c.name} in the manifests, then ops deploy`, `ops deploy ${evidence.incident.service} --env ${evidence.incident.env}`)],
      order: 0,
      mechanismOf: (r) => r.image === c.image,
    });
  }
  return drafts;
}

function crashRule(evidence: Evidence): Draft[] {
  const drafts: Draft[] = [];
  for (const c of failingContainers(evidence)) {
    const died = c.restartCount > 0 || c.status === 'restarting' || ((c.status === 'exited' || c.status === 'dead') && (c.exitCode !== 0 || c.error !== ''));
    if (killedForMemory(c) || c.health === 'unhealthy' || !died) continue;
    const explained = explainCrash([...c.logs, ...(c.error ? [c.error] : [])], c.exitCode);
    const ran = uptimeSeconds(c);
    // A restarted container shows exit code 0 while it runs again: its last exit code is gone.
    const lines = [
      c.status === 'running'
        ? `${c.name}: restarted ${c.restartCount} time(s), running again for now`
        : `${c.name}: ${c.status}, exit code ${c.exitCode}${ran != null ? ` after ${ran} s` : ''}${c.restartCount ? `, restarted ${c.restartCount} time(s)` : ''}`,
    ];
    if (c.error) lines.push(`engine: ${c.error}`);
    if (explained) lines.push(`log: ${explained.line}`);
    else if (c.logs.length) lines.push(`last log line: ${c.logs[c.logs.length - 1]}`);
    drafts.push({
      cause: 'crash-on-start',
      title: `crash on start${explained ? `: ${explained.what}` : c.exitCode ? ` (exit code ${c.exitCode})` : ''}`,
      confidence: explained ? 0.85 : 0.6,
      evidence: lines,
      actions: [],
      order: 1,
      mechanismOf: ranBy(evidence, c),
    });
  }
  for (const c of podContainers(evidence)) {
    const ended = c.terminated ?? c.lastTerminated;
    const crashing = c.waiting?.reason === 'CrashLoopBackOff' || c.waiting?.reason === 'RunContainerError' || (ended && ended.reason !== 'OOMKilled' && ended.exitCode !== 0);
    if (!crashing) continue;
    const logs = c.previousLogs.length ? c.previousLogs : c.logs;
    const explained = explainCrash([...logs, ...(c.waiting?.message ? [c.waiting.message] : []), ...(ended?.message ? [ended.message] : [])], ended?.exitCode ?? 0);
    const lines = [`pod ${c.pod} container ${c.name}: ${c.waiting?.reason ?? ended?.reason ?? 'terminated'}${ended ? `, exit code ${ended.exitCode}` : ''}, ${c.restarts} restarts`];
    if (c.waiting?.message) lines.push(`kubelet: ${c.waiting.message}`);
    if (explained) lines.push(`log: ${explained.line}`);
    drafts.push({
      cause: 'crash-on-start',
      title: `crash on start${explained ? `: ${explained.what}` : ended ? ` (exit code ${ended.exitCode})` : ''}`,
      confidence: explained ? 0.85 : 0.6,
      evidence: lines,
      actions: [],
      order: 1,
      mechanismOf: (r) => r.image === c.image,
    });
  }
  return drafts;
}

const PULL_FAILURES = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);

function imageRule(evidence: Evidence): Draft[] {
  const drafts: Draft[] = [];
  const stuck = podContainers(evidence).filter((c) => c.waiting && PULL_FAILURES.has(c.waiting.reason));
  const images = new Map<string, string[]>();
  for (const c of stuck) images.set(c.image, [...(images.get(c.image) ?? []), `pod ${c.pod} container ${c.name}: ${c.waiting!.reason}${c.waiting!.message ? `: ${c.waiting!.message}` : ''}`]);
  if (evidence.target === 'docker' && evidence.signals.some((s) => s.condition === 'missing' && !s.cleared)) {
    for (const image of evidence.images.filter((i) => i.local === false)) images.set(image.image, [`no container of ${evidence.incident.service} runs, and ${image.image} is not in the engine`]);
  }
  for (const [image, lines] of images) {
    const found = evidence.images.find((i) => i.image === image);
    const invalid = lines.some((l) => l.includes('InvalidImageName'));
    const [confidence, why] = invalid
      ? [0.9, 'the image name is invalid']
      : found?.registry === 'absent'
        ? [0.9, 'the tag is absent from the registry']
        : found?.registry === 'unauthorized'
          ? [0.85, 'the registry refused the credentials']
          : found?.registry === 'present'
            ? [0.5, 'the tag exists, so the node cannot reach the registry or lacks its pull secret']
            : [0.65, `the registry could not be asked (${found?.detail ?? 'no registry host'})`];
    drafts.push({
      cause: 'image-not-pullable',
      title: `image not pullable: ${why}`,
      confidence,
      evidence: [...lines, ...(found ? [`registry: ${found.detail}`] : [])],
      actions: [manual(`push ${image}, or deploy an image the registry has`, `ops build ${evidence.incident.service} --push`)],
      order: 2,
      mechanismOf: (r) => r.image === image,
    });
  }
  return drafts;
}

function healthRule(evidence: Evidence): Draft[] {
  const drafts: Draft[] = [];
  for (const c of evidence.containers.filter((c) => c.health === 'unhealthy')) {
    const failing = c.healthLog.filter((h) => h.exitCode !== 0);
    drafts.push({
      cause: 'health-probe',
      title: `failing health probe: ${c.name}'s HEALTHCHECK`,
      confidence: 0.75,
      evidence: [`${c.name} is unhealthy (${failing.length} of the last ${c.healthLog.length} probes failed)`, ...failing.slice(-2).map((h) => `probe (exit ${h.exitCode}): ${h.output || '(no output)'}`)],
      actions: [],
      order: 3,
      mechanismOf: ranBy(evidence, c),
    });
  }
  for (const s of evidence.signals.filter((s) => s.condition === 'http-down' && !s.cleared)) {
    drafts.push({ cause: 'health-probe', title: `failing health probe: ${s.resource}`, confidence: 0.7, evidence: [s.message], actions: [], order: 3 });
  }
  const probes = evidence.kubernetes?.events.filter((e) => e.reason === 'Unhealthy') ?? [];
  if (probes.length) {
    drafts.push({
      cause: 'health-probe',
      title: 'failing health probe: the kubelet reports failed probes',
      confidence: 0.7,
      evidence: probes.slice(-3).map((e) => `${e.object}: ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}`),
      actions: [],
      order: 3,
    });
  }
  return drafts;
}

function unschedulableRule(evidence: Evidence): Draft[] {
  const messages = new Set<string>();
  for (const pod of evidence.kubernetes?.pods ?? []) {
    for (const c of pod.conditions) if (c.type === 'PodScheduled' && c.status === 'False') messages.add(`pod ${pod.name}: ${c.message || c.reason}`);
  }
  for (const e of evidence.kubernetes?.events ?? []) if (e.reason === 'FailedScheduling') messages.add(`${e.object}: ${e.message}`);
  if (messages.size === 0) return [];
  const text = [...messages].join(' ');
  const resources = [...new Set([...text.matchAll(/Insufficient ([a-z0-9./-]+)/gi)].map((m) => m[1]!.replace(/\.+$/, '')))];
  const taints = /taint/i.test(text);
  const why = [resources.length ? `not enough ${resources.join(' and ')} on any node` : '', taints ? 'untolerated taints' : ''].filter(Boolean).join('; ') || 'no node fits';
  return [
    {
      cause: 'unschedulable',
      title: `unschedulable: ${why}`,
      confidence: 0.85,
      evidence: [...messages].slice(0, 4),
      actions: [manual('lower the pod requests in the manifests, or add capacity / a toleration', `kubectl describe nodes`)],
      order: 4,
    },
  ];
}

function configErrorRule(evidence: Evidence): Draft[] {
  const drafts: Draft[] = [];
  for (const c of podContainers(evidence).filter((c) => c.waiting?.reason === 'CreateContainerConfigError')) {
    const missing = /(secret|configmap)s? "([^"]+)" not found/i.exec(c.waiting!.message);
    const kind = missing?.[1]!.toLowerCase() === 'secret' ? 'secret' : 'configmap';
    const ns = evidence.kubernetes!.namespace;
    drafts.push({
      cause: 'config-error',
      title: missing ? `configuration error: ${kind} "${missing[2]}" is missing` : 'configuration error: the container cannot be created',
      confidence: missing ? 0.9 : 0.7,
      evidence: [`pod ${c.pod} container ${c.name}: CreateContainerConfigError: ${c.waiting!.message}`],
      actions: missing
        ? [manual(`create the ${kind} ${missing[2]}`, kind === 'secret' ? `kubectl create secret generic ${missing[2]} --namespace ${ns} --from-literal=<key>=<value>` : `kubectl create configmap ${missing[2]} --namespace ${ns} --from-literal=<key>=<value>`)]
        : [],
      order: 5,
      mechanismOf: (r) => r.image === c.image,
    });
  }
  return drafts;
}

function describeRelease(evidence: Evidence, r: ReleaseEvidence): string[] {
  const minutes = Math.max(0, Math.round(r.beforeMs / 60_000));
  const lines = [`${releaseName(evidence, r)} (${r.image}) finished ${minutes} min before the incident began (suspect #${r.rank}, score ${r.suspectScore.toFixed(2)})`];
  if (r.risk) lines.push(`risk ${r.risk.probability.toFixed(2)} (${r.risk.level})${r.risk.reasons.length ? `: ${r.risk.reasons.slice(0, 3).join('; ')}` : ''}`);
  else lines.push('not risk-scored');
  if (r.gate.overridden) lines.push(`the risk gate was overridden: ${r.gate.reason}`);
  if (r.diff) lines.push(`since r${r.previous!.revision}: ${r.diff.stat}${r.diff.files.length ? ` (${r.diff.files.slice(0, 5).map((f) => f.path).join(', ')}${r.diff.files.length > 5 ? ', ...' : ''})` : ''}`);
  if (r.configChanged) lines.push(`configuration changed: ${r.previous!.configHash} -> ${r.configHash}`);
  if (r.status === 'rolled_back') lines.push('it has been rolled back since');
  else if (r.status === 'deployed' && !r.rollbackTarget) lines.push(`no healthy release of ${r.service} before it to roll back to`);
  return lines;
}

/**
 * A release shortly before the incident. When a mechanism (a crash, OOM, ...) shows on that very
 * release's containers, the two are one hypothesis, "bad deploy: <mechanism>", ranked above either.
 */
function badDeployRule(evidence: Evidence, mechanisms: Draft[]): Draft[] {
  return evidence.releases.map((r) => {
    const mechanism = mechanisms.filter((m) => m.mechanismOf?.(r)).sort((a, b) => b.confidence - a.confidence)[0];
    const risk = r.risk?.probability ?? 0.5;
    const confidence = mechanism ? Math.min(0.97, mechanism.confidence + 0.05 + 0.05 * risk) : 0.3 + 0.4 * r.suspectScore;
    const back = rollbackTo(evidence, r);
    return {
      cause: 'bad-deploy' as const,
      title: `bad deploy of ${releaseName(evidence, r)}${mechanism ? `: ${mechanism.title}` : ''}`,
      confidence,
      evidence: [...describeRelease(evidence, r), ...(mechanism ? mechanism.evidence : [])],
      releaseId: r.releaseId,
      actions: back ? [back] : [],
      order: 6,
    };
  });
}

function modelRule(evidence: Evidence): Draft[] {
  return evidence.modelMoves
    .filter((m) => m.fromVersion != null && m.toVersion != null)
    .map((m) => ({
      cause: 'model-promotion' as const,
      title: `model promotion: ${m.model}@${m.alias} moved v${m.fromVersion} -> v${m.toVersion}`,
      confidence: 0.3,
      evidence: [`${m.model}@${m.alias} moved from v${m.fromVersion} to v${m.toVersion} at ${m.at} by ${m.actor}${m.reason ? ` (${m.reason})` : ''}${m.forced ? ', gate forced' : ''}`],
      actions: [
        {
          title: `move ${m.model}@${m.alias} back to v${m.fromVersion}`,
          command: `ops model rollback ${m.model} --alias ${m.alias} --to ${m.fromVersion}`,
          spec: { kind: 'model-rollback' as const, model: m.model, alias: m.alias, to: m.fromVersion! },
        },
      ],
      order: 7,
    }));
}

const RISK_SCORER = 'risk-scorer';

interface DriftTestDetail {
  test: string;
  statistic: number;
  pValue: number | null;
  threshold: number;
}

const testText = (t: DriftTestDetail) =>
  t.test === 'chi-squared' ? `chi-squared ${t.statistic} (p ${t.pValue} < ${t.threshold})` : `${t.test} ${t.statistic} >= ${t.threshold}${t.pValue !== null ? ` (p ${t.pValue})` : ''}`;

/**
 * A live model's signals (from a watch source of type model) measure the cause directly: the
 * features whose inputs drifted from the training data, with their statistics, and any decay of
 * accuracy on labelled predictions. The remedy is a model trained on the data it now sees.
 */
function modelDriftRule(evidence: Evidence): Draft[] {
  const byModel = new Map<string, Evidence['signals']>();
  for (const signal of evidence.signals) {
    if (signal.condition !== 'model-drift' && signal.condition !== 'model-decay') continue;
    byModel.set(signal.resource, [...(byModel.get(signal.resource) ?? []), signal]);
  }
  return [...byModel].map(([resource, signals]) => {
    const at = resource.lastIndexOf('@');
    const model = resource.slice(0, at);
    const alias = resource.slice(at + 1);
    const lines: string[] = [];
    const named: string[] = [];
    let version: unknown;
    for (const signal of signals) {
      const d = (signal.details ?? {}) as Record<string, any>;
      version ??= d.version;
      if (signal.condition === 'model-drift') {
        const where = d.window ? ` on ${d.window.rows} predictions (${d.window.text}) vs ${d.reference?.rows ?? '?'} training rows` : '';
        for (const f of (d.drifted ?? []) as Array<{ column: string; tests: DriftTestDetail[]; note?: string }>) {
          const stats = f.tests.map(testText).join(', ') || f.note || 'drifted';
          named.push(`${f.column} (${f.tests.map((t) => `${t.test} ${Number(t.statistic.toPrecision(3))}`).join(', ') || f.note})`);
          lines.push(`feature ${f.column} drifted: ${stats}${where}`);
        }
        if (d.prediction) lines.push(`predictions drifted from the held-out predictions: ${(d.prediction.tests as DriftTestDetail[]).map(testText).join(', ')}`);
      } else {
        const p = d.performance ?? {};
        named.push(`${p.metric} ${p.current} vs held-out ${p.baseline}`);
        lines.push(`${p.metric} ${p.current} on ${p.labelled} labelled predictions, ${p.baseline} on v${d.version}'s held-out rows (maxDrop ${p.maxDrop})`);
      }
    }
    const decayed = signals.some((s) => s.condition === 'model-decay');
    return {
      cause: 'model-drift' as const,
      title: `model ${decayed && named.length === 1 ? 'decay' : 'drift'}: ${resource}${version != null ? ` v${version}` : ''}: ${named.join(', ') || 'past its thresholds'}`,
      confidence: decayed ? 0.85 : 0.8,
      evidence: lines,
      actions: [
        // The risk scorer's recent data is the repository's newer history: mined, labelled and trained by ops risk train.
        model === RISK_SCORER
          ? { title: `retrain the risk scorer on the repository's recent history and promote it to ${alias} through the gates`, command: `ops risk train --promote ${alias}`, spec: { kind: 'risk-retrain' as const, alias } }
          : { title: `retrain ${model} on recent data and promote it to ${alias} through the gates`, command: `ops model retrain ${resource}`, spec: { kind: 'model-retrain' as const, model, alias } },
      ],
      order: 8,
    };
  });
}

const RECORDED_CONFIDENCE = 0.95;

/**
 * A resolved incident's cause was named by whoever resolved it (a person, or `triage --apply` once
 * the service was healthy again): that is evidence too, and the strongest there is. The hypothesis
 * it names comes first; one the rules no longer see (its containers are gone) is added.
 */
function recordedCause(evidence: Evidence, drafts: Draft[]): Draft[] {
  const { cause, causeRelease, resolvedBy, state } = evidence.incident;
  if (state !== 'resolved' || (cause == null && causeRelease == null)) return drafts;
  const line = `recorded cause: ${cause ?? `release ${causeRelease}`} (named when ${resolvedBy ?? 'someone'} resolved the incident)`;
  const named = causeRelease != null ? drafts.find((d) => d.releaseId === causeRelease) : undefined;
  if (named) return drafts.map((d) => (d === named ? { ...d, confidence: Math.max(d.confidence, RECORDED_CONFIDENCE), evidence: [line, ...d.evidence], recorded: true } : d));
  return [
    {
      cause: causeRelease != null ? 'bad-deploy' : 'recorded',
      title: `recorded cause: ${cause ?? `release ${causeRelease}`}`,
      confidence: RECORDED_CONFIDENCE,
      evidence: [line],
      ...(causeRelease != null ? { releaseId: causeRelease } : {}),
      actions: [],
      order: -1,
      recorded: true,
    },
    ...drafts,
  ];
}

/**
 * Evidence in, ranked hypotheses out: deterministic (the same evidence always ranks the same way),
 * each with the evidence lines behind it and numbered actions.
 */
export function diagnose(evidence: Evidence): Hypothesis[] {
  const mechanisms = [...oomRule(evidence), ...crashRule(evidence), ...imageRule(evidence), ...healthRule(evidence), ...unschedulableRule(evidence), ...configErrorRule(evidence)];
  for (const m of mechanisms) {
    // A mechanism with no fix of its own: undo the release whose containers show it (else the top
    // suspect that can be undone), or restart.
    if (m.actions.length === 0) {
      const own = evidence.releases.find((r) => m.mechanismOf?.(r));
      const back = (own && rollbackTo(evidence, own)) ?? evidence.releases.map((r) => rollbackTo(evidence, r)).find(Boolean);
      m.actions.push(...(back ? [back] : []), restart(evidence));
    }
  }
  const drafts = recordedCause(evidence, [...mechanisms, ...badDeployRule(evidence, mechanisms), ...modelRule(evidence), ...modelDriftRule(evidence)]).sort(
    (a, b) => Number(Boolean(b.recorded)) - Number(Boolean(a.recorded)) || b.confidence - a.confidence || a.order - b.order,
  );
  const numbers = new Map<string, number>();
  return drafts.map((d, i) => ({
    rank: i + 1,
    cause: d.cause,
    title: d.title,
    confidence: round(d.confidence),
    evidence: d.evidence,
    ...(d.releaseId != null ? { releaseId: d.releaseId } : {}),
    actions: d.actions.map((a) => {
      if (!numbers.has(a.command)) numbers.set(a.command, numbers.size + 1);
      return { n: numbers.get(a.command)!, ...a };
    }),
  }));
}
