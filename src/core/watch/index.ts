import type { Context } from '../context.js';
import type { WatchConfig, WatchSourceConfig } from '../config/schema.js';
import type { Incident } from '../../ledger/index.js';
import { formatSeconds, OpsError, UnreachableError } from '../../errors.js';
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

async function check(ctx: Context, source: WatchSourceConfig, memory: any, shared: CycleShared, now: number, intervalMs: number): Promise<CheckResult> {
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
 * What a cycle read from its sources, and how far it got folding that into the ledger: a cycle
 * interrupted by an unreachable ledger is resumed from here, so nothing it read is lost.
 */
export interface ReadCycle {
  started: number;
  now: number;
  sources: WatchSourceConfig[];
  outcomes: Array<SourceOutcome & { memory?: unknown }>;
  changes: Changes;
  /** Sources whose reports are in the ledger; then quiet incidents resolved, then announced. */
  applied: number;
  resolved: boolean;
  announced: boolean;
}

/** Poll every source at once (or only one service's, for triage's check). */
export async function readSources(ctx: Context, { only, intervalMs }: CycleOptions = {}): Promise<ReadCycle> {
  const config = ctx.requireConfig();
  const started = ctx.clock.now();
  const shared: CycleShared = { dockerListing: projectListing(ctx) };
  const sources = only ? config.watch.sources.filter((s) => s.service === only.service && s.env === only.env) : config.watch.sources;
  const store = ctx.ledger().incidents;
  const outcomes = await pool(sources, SOURCE_CONCURRENCY, async (source): Promise<SourceOutcome & { memory?: unknown }> => {
    const key = sourceKey(source);
    // Outside the source's own failures: a ledger that cannot be read fails the cycle before it reads anything.
    const memory = await store.sourceMemory<any>(key);
    const t0 = performance.now();
    try {
      const result = await check(ctx, source, memory, shared, ctx.clock.now(), intervalMs ?? config.watch.interval);
      return { source: key, type: source.type, service: source.service, env: source.env, ok: true, error: null, signals: result.signals, memory: result.memory, durationMs: performance.now() - t0 };
    } catch (err) {
      // The hint too: a timed-out or unreachable source says what to check.
      const hint = err instanceof OpsError && err.hint ? `; ${err.hint}` : '';
      const error = redact(`${(err as Error).message ?? String(err)}${hint}`, ctx.secrets);
      return { source: key, type: source.type, service: source.service, env: source.env, ok: false, error, signals: [], durationMs: performance.now() - t0 };
    }
  });
  return { started, now: ctx.clock.now(), sources, outcomes, changes: { opened: [], resolved: [] }, applied: 0, resolved: false, announced: false };
}

/** Fold what a cycle read into incidents, resolve quiet ones, notify; resumes where a failed call stopped. */
export async function applyCycle(ctx: Context, cycle: ReadCycle): Promise<CycleReport> {
  const config = ctx.requireConfig();
  const { now, changes } = cycle;
  for (; cycle.applied < cycle.sources.length; cycle.applied++) {
    const { memory, ...outcome } = cycle.outcomes[cycle.applied]!;
    await applyReport(ctx, outcome, policyOf(config.watch, cycle.sources[cycle.applied]!), memory, now, changes);
    if (outcome.error) ctx.output.warn(`source ${outcome.source} failed: ${outcome.error}`);
  }
  if (!cycle.resolved) {
    await resolveQuiet(ctx, config.watch.resolveAfter, now, changes);
    cycle.resolved = true;
  }
  if (!cycle.announced) {
    // An incident opened by a cycle's first signal may have grouped more of them since.
    changes.opened = await Promise.all(changes.opened.map(async (incident) => (await ctx.ledger().incidents.get(incident.id))!));
    await announce(ctx, changes);
    cycle.announced = true;
  }
  return {
    at: new Date(cycle.started).toISOString(),
    durationMs: ctx.clock.now() - cycle.started,
    sources: cycle.outcomes.map(({ memory: _memory, ...outcome }) => ({ ...outcome, durationMs: Math.round(outcome.durationMs) })),
    opened: changes.opened,
    resolved: changes.resolved,
    open: await ctx.ledger().incidents.list({ state: 'unresolved', limit: 1000 }),
  };
}

/** One cycle: read every source, then fold what they said into the ledger. */
export async function runCycle(ctx: Context, options: CycleOptions = {}): Promise<CycleReport> {
  return applyCycle(ctx, await readSources(ctx, options));
}

/** Say what changed, and tell the webhook. */
export async function announce(ctx: Context, changes: Changes): Promise<void> {
  for (const incident of changes.opened) ctx.output.info(`opened incident #${incident.id}: ${incident.title}`);
  for (const incident of changes.resolved) ctx.output.info(`resolved incident #${incident.id}: ${incident.title}`);
  await Promise.all([...changes.opened.map((i) => notify(ctx, i, 'opened')), ...changes.resolved.map((i) => notify(ctx, i, 'resolved'))]);
}


/** While the ledger is unreachable (a PostgreSQL server restarting): retry after 1 s, doubling up to 30 s. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * Cycles every `intervalMs` until ctx.cancel is aborted; a stop request ends the loop between
 * cycles. An unreachable ledger does not end it: what the cycle read is held and written once the
 * ledger answers again, retried with backoff, with one warning line per outage.
 */
export async function watchLoop(ctx: Context, intervalMs: number, onCycle: (report: CycleReport) => void): Promise<number> {
  let cycles = 0;
  let outageSince: number | undefined;
  let delay = RETRY_FIRST_MS;
  let held: ReadCycle | undefined;
  while (!ctx.cancel.aborted) {
    const started = ctx.clock.now();
    try {
      held ??= await readSources(ctx, { intervalMs });
      const report = await applyCycle(ctx, held);
      held = undefined;
      if (outageSince !== undefined) {
        ctx.output.info(`ledger reachable again after ${formatSeconds(ctx.clock.now() - outageSince)}`);
        outageSince = undefined;
        delay = RETRY_FIRST_MS;
      }
      onCycle(report);
      cycles++;
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      if (outageSince === undefined) {
        outageSince = ctx.clock.now();
        const holding = held ? `; holding what ${held.sources.length - held.applied} source(s) said until it answers` : '';
        ctx.output.warn(`${err.message}${holding}, retrying with backoff (at most every ${formatSeconds(RETRY_MAX_MS)})`);
      }
      await sleep(delay, ctx.cancel);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
      continue;
    }
    await sleep(Math.max(0, intervalMs - (ctx.clock.now() - started)), ctx.cancel);
  }
  if (held) ctx.output.warn(`stopped while the ledger was unreachable: what ${held.sources.length - held.applied} source(s) said in the last cycle was not recorded`);
  return cycles;
}
