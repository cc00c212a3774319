import type { Context } from '../context.js';
import type { WatchConfig, WatchSourceConfig } from '../config/schema.js';
import type { Incident } from '../../ledger/index.js';
import { OpsError } from '../../errors.js';
import { pool } from '../pool.js';
import { sleep } from '../process.js';
import { redact } from '../../redact.js';
import { applyReport, resolveQuiet, type Changes, type Policy } from './incidents.js';
import { notify } from './notify.js';
import { checkDocker, projectListing } from './sources/docker.js';
import { checkHttp } from './sources/http.js';
import { checkKubernetes } from './sources/kubernetes.js';
import { checkModel } from './sources/model.js';
import { checkPrometheus } from './sources/prometheus.js';
import type { CheckResult, Signal } from './types.js';

/** Sources checked at once (docker sources share one listing per engine): bounds the HTTP, kubectl and Prometheus calls in flight. */
export const SOURCE_CONCURRENCY = 16;

/** The ledger key of a source: its type, whose it is, and what it looks at. */
export function sourceKey(source: WatchSourceConfig): string {
  const base = `${source.type}:${source.service}/${source.env}`;
  switch (source.type) {
    case 'http':
      return `${base} ${source.url}`;
    case 'prometheus':
      return `${base} ${source.query}`;
    case 'kubernetes':
      return `${base} ${source.selector ?? `app=${source.service}`}`;
    case 'model':
      return `${base} ${source.model}`;
    default:
      return base;
  }
}

export function policyOf(watch: WatchConfig, source: { minCount: number; for: number }): Policy {
  return { minCount: source.minCount, forMs: source.for, groupWindowMs: watch.groupWindow, resolveAfterMs: watch.resolveAfter, correlationWindowMs: watch.correlationWindow };
}

/** What one cycle's checks share: each engine's container listing. */
interface CycleShared {
  dockerListing: ReturnType<typeof projectListing>;
}

async function check(ctx: Context, source: WatchSourceConfig, key: string, shared: CycleShared, now: number, intervalMs: number): Promise<CheckResult> {
  const memory = await ctx.ledger().incidents.sourceMemory<any>(key);
  switch (source.type) {
    case 'docker':
      return checkDocker(ctx, source.service, source.env, shared.dockerListing, memory, now);
    case 'http':
      return checkHttp(ctx, source, memory);
    case 'kubernetes':
      return checkKubernetes(ctx, source, memory, now, Math.max(2 * intervalMs, 60_000));
    case 'prometheus':
      return checkPrometheus(ctx, source, now, Math.max(3 * source.step, intervalMs));
    case 'model':
      return checkModel(ctx, source);
  }
}

export interface SourceOutcome {
  source: string;
  type: string;
  service: string;
  env: string;
  ok: boolean;
  error: string | null;
  signals: Signal[];
  durationMs: number;
}

export interface CycleReport {
  at: string;
  durationMs: number;
  sources: SourceOutcome[];
  opened: Incident[];
  resolved: Incident[];
  /** Every unresolved incident in the ledger after the cycle. */
  open: Incident[];
}

export interface CycleOptions {
  /** Check only this service's sources. */
  only?: { service: string; env: string };
  /** The time between cycles (default watch.interval): how far back events and series count as new. */
  intervalMs?: number;
}

/**
 * One cycle: poll every source at once (or only one service's, for triage's check), fold what they
 * said into incidents, resolve quiet ones, notify.
 */
export async function runCycle(ctx: Context, { only, intervalMs }: CycleOptions = {}): Promise<CycleReport> {
  const config = ctx.requireConfig();
  const started = ctx.clock.now();
  const shared: CycleShared = { dockerListing: projectListing(ctx) };
  const sources = only ? config.watch.sources.filter((s) => s.service === only.service && s.env === only.env) : config.watch.sources;
  const outcomes = await pool(sources, SOURCE_CONCURRENCY, async (source): Promise<SourceOutcome & { memory?: unknown }> => {
    const key = sourceKey(source);
    const t0 = performance.now();
    try {
      const result = await check(ctx, source, key, shared, ctx.clock.now(), intervalMs ?? config.watch.interval);
      return { source: key, type: source.type, service: source.service, env: source.env, ok: true, error: null, signals: result.signals, memory: result.memory, durationMs: performance.now() - t0 };
    } catch (err) {
      // The hint too: a timed-out or unreachable source says what to check.
      const hint = err instanceof OpsError && err.hint ? `; ${err.hint}` : '';
      const error = redact(`${(err as Error).message ?? String(err)}${hint}`, ctx.secrets);
      return { source: key, type: source.type, service: source.service, env: source.env, ok: false, error, signals: [], durationMs: performance.now() - t0 };
    }
  });
  const changes: Changes = { opened: [], resolved: [] };
  const now = ctx.clock.now();
  for (const [i, source] of sources.entries()) {
    const { memory, ...outcome } = outcomes[i]!;
    await applyReport(ctx, outcome, policyOf(config.watch, source), memory, now, changes);
    if (outcome.error) ctx.output.warn(`source ${outcome.source} failed: ${outcome.error}`);
  }
  await resolveQuiet(ctx, config.watch.resolveAfter, now, changes);
  // An incident opened by a cycle's first signal may have grouped more of them since.
  changes.opened = await Promise.all(changes.opened.map(async (incident) => (await ctx.ledger().incidents.get(incident.id))!));
  await announce(ctx, changes);
  return {
    at: new Date(started).toISOString(),
    durationMs: ctx.clock.now() - started,
    sources: outcomes.map(({ memory: _memory, ...outcome }) => ({ ...outcome, durationMs: Math.round(outcome.durationMs) })),
    opened: changes.opened,
    resolved: changes.resolved,
    open: await ctx.ledger().incidents.list({ state: 'unresolved', limit: 1000 }),
  };
}

/** Say what changed, and tell the webhook. */
export async function announce(ctx: Context, changes: Changes): Promise<void> {
  for (const incident of changes.opened) ctx.output.info(`opened incident #${incident.id}: ${incident.title}`);
  for (const incident of changes.resolved) ctx.output.info(`resolved incident #${incident.id}: ${incident.title}`);
  await Promise.all([...changes.opened.map((i) => notify(ctx, i, 'opened')), ...changes.resolved.map((i) => notify(ctx, i, 'resolved'))]);
}


/** Cycles every `intervalMs` until ctx.cancel is aborted; a stop request ends the loop between cycles. */
export async function watchLoop(ctx: Context, intervalMs: number, onCycle: (report: CycleReport) => void): Promise<number> {
  let cycles = 0;
  while (!ctx.cancel.aborted) {
    const started = ctx.clock.now();
    onCycle(await runCycle(ctx, { intervalMs }));
    cycles++;
    await sleep(Math.max(0, intervalMs - (ctx.clock.now() - started)), ctx.cancel);
  }
  return cycles;
}
