import { readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { kubeTarget } from '../../adapters/kubectl.js';
import type { Incident, IncidentAction } from '../../ledger/index.js';
import type { Context } from '../context.js';
import { OpsError, NotFoundError, UsageError, InputNeededError } from '../../errors.js';
import { incidentOrFail } from '../watch/manage.js';
import { sleep } from '../process.js';
import { dockerEndpoint } from '../watch/sources/docker.js';
import { gatherEvidence, type Evidence } from './evidence.js';
import { diagnose, type Action, type ActionSpec, type Hypothesis } from './rules.js';

export interface TriageReport {
  /** The stored report: only `--apply` stores one (with the action); a plain triage changes nothing. */
  reportId: number | null;
  incident: Incident;
  evidence: Evidence;
  hypotheses: Hypothesis[];
  durationMs: number;
  /** Actions applied to this incident so far, oldest first. */
  actions: IncidentAction[];
}

export interface TriageOptions {
  logLines: number;
}

async function incidentToTriage(ctx: Context, id: number | undefined): Promise<Incident> {
  const store = ctx.ledger().incidents;
  if (id === undefined) {
    const newest = (await store.list({ state: 'unresolved', limit: 1 }))[0];
    if (!newest) throw new NotFoundError('no open incident to triage', 'name one with `ops triage <id>` (see `ops incident list`)');
    return newest;
  }
  return incidentOrFail(ctx, id);
}

/** Gather evidence and rank hypotheses: reads only (re-running it on any incident records nothing). */
export async function triage(ctx: Context, id: number | undefined, options: TriageOptions): Promise<TriageReport> {
  const incident = await incidentToTriage(ctx, id);
  const started = performance.now();
  const evidence = await ctx.output.step(`gathering evidence for incident #${incident.id}`, () => gatherEvidence(ctx, incident, options));
  const hypotheses = diagnose(evidence);
  const durationMs = Math.round(performance.now() - started);
  return { reportId: null, incident, evidence, hypotheses, durationMs, actions: await ctx.ledger().triage.actions(incident.id) };
}

/** Store the report an action is applied from, with a "triaged" event on the incident. */
function saveReport(ctx: Context, report: TriageReport): Promise<number> {
  const ledger = ctx.ledger();
  const now = ctx.clock.now();
  return ledger.incidents.atomically(async () => {
    const saved = await ledger.triage.save({ incidentId: report.incident.id, actor: ctx.actor, evidence: report.evidence, hypotheses: report.hypotheses, durationMs: report.durationMs, createdAt: now });
    await ledger.incidents.addEvent(report.incident.id, 'triaged', { report: saved, top: report.hypotheses[0]?.title ?? null }, now);
    return saved;
  });
}

export interface ApplyOutcome {
  action: Action;
  hypothesis: Hypothesis;
  status: 'succeeded' | 'failed';
  result: string;
  /** One watch cycle over the service's sources after the action. */
  check: { healthy: boolean; detail: string } | null;
  incident: Incident;
}

export type Confirm = (message: string) => Promise<boolean>;

/** The hypothesis an action number belongs to: the highest-ranked one proposing it. */
function findAction(report: TriageReport, n: number): { action: Action; hypothesis: Hypothesis } {
  for (const hypothesis of report.hypotheses) {
    const action = hypothesis.actions.find((a) => a.n === n);
    if (action) return { action, hypothesis };
  }
  const known = [...new Set(report.hypotheses.flatMap((h) => h.actions.map((a) => a.n)))];
  throw new NotFoundError(`incident #${report.incident.id} has no action ${n}`, known.length ? `choose one of ${known.join(', ')} (see \`ops triage ${report.incident.id}\`)` : 'triage proposed no action');
}

/** Rewrite one key of the project's YAML config, keeping its comments and layout. */
async function setConfigValue(ctx: Context, path: string[], value: string): Promise<void> {
  const file = ctx.configFiles[0];
  if (!file || !/\.ya?ml$/.test(file)) throw new OpsError(`cannot edit ${file ?? 'the config'} automatically`, `set ${path.join('.')}: ${value} by hand`);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(path, value);
  writeFileSync(file, doc.toString());
  const { loadConfig } = await import('../config/load.js');
  ctx.config = (await loadConfig({ cwd: ctx.cwd, env: ctx.env, configFile: file })).config;
}

type RunnableSpec = Exclude<ActionSpec, { kind: 'manual' }>;

async function runAction(ctx: Context, spec: RunnableSpec, report: TriageReport): Promise<string> {
  const lockTimeoutMs = 120_000;
  switch (spec.kind) {
    case 'rollback': {
      const { rollback } = await import('../deploy/index.js');
      const result = await rollback(ctx, { service: spec.service, env: spec.env, to: spec.to, lockTimeoutMs });
      if (result.status !== 'deployed') throw new OpsError(`rollback to revision ${spec.to} failed: ${result.error ?? result.status}`);
      return `${spec.service} r${result.revision} in ${spec.env} runs revision ${spec.to}'s image ${result.image}`;
    }
    case 'raise-memory': {
      await setConfigValue(ctx, ['services', spec.service, 'resources', 'memory'], spec.to);
      const { deploy } = await import('../deploy/index.js');
      const result = await deploy(ctx, { service: spec.service, env: spec.env, image: spec.image, lockTimeoutMs, acceptRisk: `triage of incident #${report.incident.id}: memory ${spec.from} -> ${spec.to}` });
      if (result.status !== 'deployed') throw new OpsError(`deploy with memory ${spec.to} failed: ${result.error ?? result.status}`);
      return `services.${spec.service}.resources.memory ${spec.from} -> ${spec.to}; ${spec.service} r${result.revision} deployed`;
    }
    case 'restart': {
      if (spec.target === 'kubernetes') {
        const env = ctx.requireConfig().environments[spec.env];
        if (env?.target !== 'kubernetes') throw new UsageError(`environment ${spec.env} is not a Kubernetes target`);
        const result = await ctx.adapters.kubectl.kubectl(kubeTarget(env, ctx.env), ['rollout', 'restart', `deployment/${spec.deployment}`]);
        if (result.exitCode !== 0) throw new OpsError(`kubectl rollout restart: ${ctx.adapters.kubectl.kubectlError(result)}`);
        return `deployment/${spec.deployment} restarted`;
      }
      const names = report.evidence.containers.map((c) => c.name);
      const endpoint = dockerEndpoint(ctx, spec.env);
      for (const name of names) await ctx.adapters.docker.restartContainer(endpoint, ctx.env, name);
      return `restarted ${names.join(', ') || 'nothing (no container found)'}`;
    }
    case 'model-rollback': {
      const { rollbackAlias } = await import('../models/registry.js');
      const event = await rollbackAlias(ctx, spec.model, spec.alias, { to: spec.to, reason: `triage of incident #${report.incident.id}` });
      return `${spec.model}@${spec.alias} moved v${event.fromVersion} -> v${event.toVersion}`;
    }
    case 'model-retrain': {
      const { retrainModel } = await import('../models/retrain.js');
      const result = await retrainModel(ctx, { name: spec.model, alias: spec.alias }, { reason: `triage of incident #${report.incident.id}: retrained on recent data` });
      return `${spec.model}@${spec.alias} moved v${result.from} -> v${result.registered.version}, retrained on ${result.data.rows} recent labelled predictions (run ${result.training.runId})`;
    }
    case 'risk-retrain': {
      const { trainRisk, RISK_MODEL } = await import('../risk/index.js');
      const result = await trainRisk(ctx, ctx.root, { promoteTo: spec.alias, reason: `triage of incident #${report.incident.id}: retrained on recent history` });
      if (result.promotion && !result.promotion.promoted) throw new OpsError(`${RISK_MODEL}@${result.version.version} is blocked by the gate of ${spec.alias}`, `see \`ops model promote ${RISK_MODEL}@${result.version.version} --to ${spec.alias}\``);
      return `${RISK_MODEL} v${result.version.version} ${result.unchanged ? 'already trained on this history' : `trained on ${result.rows} commits`}; ${RISK_MODEL}@${spec.alias} holds v${result.version.version}`;
    }
  }
}

/** How long an applied action has to show a clean watch cycle: a loaded engine or a rollout settling can fail the first one. */
const HEALTHY_WITHIN_MS = 20_000;
const HEALTH_CYCLE_GAP_MS = 2_000;

/** Is the service healthy again? Watch cycles over its sources until one is clean (within a bound), or its live state when none watch it. */
async function checkHealthy(ctx: Context, incident: Incident): Promise<{ healthy: boolean; detail: string }> {
  const config = ctx.requireConfig();
  const watched = config.watch.sources.some((s) => s.service === incident.service && s.env === incident.env);
  if (watched) {
    const { runCycle } = await import('../watch/index.js');
    const deadline = ctx.clock.now() + HEALTHY_WITHIN_MS;
    for (let cycles = 1; ; cycles++) {
      const cycle = await runCycle(ctx, { only: { service: incident.service, env: incident.env } });
      const problems = cycle.sources.flatMap((s) => (s.ok ? s.signals.map((g) => g.message) : [`${s.source}: ${s.error}`]));
      if (!problems.length) return { healthy: true, detail: `${cycle.sources.length} watch source(s) report no problem` };
      if (ctx.clock.now() + HEALTH_CYCLE_GAP_MS > deadline || ctx.cancel.aborted) {
        return { healthy: false, detail: `${problems.slice(0, 3).join('; ')} (still, after ${cycles} watch cycles over ${Math.round(HEALTHY_WITHIN_MS / 1000)} s)` };
      }
      await sleep(HEALTH_CYCLE_GAP_MS, ctx.cancel);
    }
  }
  const { status } = await import('../deploy/index.js');
  const [live] = await status(ctx, incident.env, incident.service);
  const state = live?.live as { state?: string; health?: string | null; ready?: boolean } | undefined;
  const healthy = state?.state === 'running' && (state.health == null || state.health === 'healthy');
  return { healthy, detail: `no watch source covers ${incident.service}; its container is ${state?.state ?? 'unknown'}${state?.health ? ` (${state.health})` : ''}` };
}

/**
 * `--apply <n>`: confirm, run the action, record it and its result on the incident, then check the
 * service with watch cycles until one is clean and resolve the incident with the hypothesis' cause when it is healthy.
 */
export async function applyAction(ctx: Context, report: TriageReport, n: number, options: { yes: boolean; confirm?: Confirm }): Promise<ApplyOutcome> {
  const { action, hypothesis } = findAction(report, n);
  if (report.incident.state === 'resolved') throw new UsageError(`incident #${report.incident.id} is already resolved`, 'a new failure opens a new incident');
  const spec = action.spec;
  if (spec.kind === 'manual') throw new UsageError(`action ${n} is for a person to carry out: ${action.command}`, 'run it yourself, then `ops incident resolve`');
  if (!options.yes) {
    if (!ctx.interactive || !options.confirm) throw new InputNeededError(`applying action ${n} (${action.command}) needs confirmation`, '--yes');
    if (!(await options.confirm(`Run "${action.command}" for incident #${report.incident.id}?`))) throw new OpsError('not applied: declined at the prompt');
  }
  const ledger = ctx.ledger();
  const reportId = (report.reportId = await saveReport(ctx, report));
  let status: ApplyOutcome['status'] = 'succeeded';
  let result: string;
  try {
    result = await runAction(ctx, spec, report);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    status = 'failed';
    result = (err as Error).message;
  }
  const at = ctx.clock.now();
  await ledger.incidents.atomically(async () => {
    await ledger.triage.recordAction({ incidentId: report.incident.id, reportId, action: n, kind: action.spec.kind, command: action.command, actor: ctx.actor, status, result, at });
    await ledger.incidents.addEvent(report.incident.id, 'action', { n, command: action.command, status, result }, at);
  });
  const check = status === 'succeeded' ? await checkHealthy(ctx, report.incident) : null;
  if (check?.healthy) {
    const cause = hypothesis.releaseId != null ? `release:${hypothesis.releaseId}` : hypothesis.title;
    const note = `ops triage --apply ${n}: ${action.command} (${result})`;
    const current = (await ledger.incidents.get(report.incident.id))!;
    if (current.state === 'resolved') {
      // The watch cycle resolved it already (resolveAfter 0): add the cause it could not know.
      const { parseCause } = await import('../watch/manage.js');
      const parsed = await parseCause(ctx, cause);
      await ledger.incidents.resolve(current.id, { by: ctx.actor, cause: parsed.cause, causeRelease: parsed.causeRelease, note }, ctx.clock.now());
    } else {
      const { resolveIncident } = await import('../watch/manage.js');
      await resolveIncident(ctx, current.id, { cause, note });
    }
  }
  return { action, hypothesis, status, result, check, incident: (await ledger.incidents.get(report.incident.id))! };
}
