import type { Context } from '../context.js';
import { parseSince } from '../runs.js';
import { UsageError } from '../../errors.js';
import { computeMetrics, type MetricsReport } from './compute.js';
import { DAY_MS, type Bucket, type Facts, type Window } from './keys.js';

export type { MetricsReport } from './compute.js';

export interface MetricsRequest {
  since?: string;
  until?: string;
  service?: string;
  env?: string;
  by?: string;
}

/** Environment names that read as production when the config marks none. */
const PRODUCTION_NAME = /^(prod|production)([-_].*)?$|[-_](prod|production)$/;

/**
 * The production environments: `--env`, else those the config marks `production: true`, else
 * those named like prod (prod, production, prod-eu, eu-prod) in the config or the ledger.
 */
export async function productionEnvironments(ctx: Context, env: string | undefined): Promise<string[]> {
  if (env) return [env];
  const configured = Object.entries(ctx.config?.environments ?? {});
  const marked = configured.filter(([, e]) => e.production === true).map(([name]) => name);
  if (marked.length) return marked;
  const known = new Set([...configured.filter(([, e]) => e.production !== false).map(([name]) => name), ...(await ctx.ledger().metrics.environments())]);
  const named = [...known].filter((name) => PRODUCTION_NAME.test(name) && ctx.config?.environments[name]?.production !== false).sort();
  if (named.length) return named;
  const all = [...known].sort();
  throw new UsageError(
    `no production environment: none is marked production and none is named like prod${all.length ? ` (known: ${all.join(', ')})` : ''}`,
    'pass --env <env>, or set environments.<env>.production: true in the config',
  );
}

/** `--since`/`--until` (a duration back from now, or a date) and `--by`. */
export function resolveWindow(ctx: Context, request: MetricsRequest): { window: Window; by: Bucket } {
  const now = ctx.clock.now();
  let until = now;
  try {
    if (request.until) until = parseSince(request.until, now);
  } catch (err) {
    throw new UsageError((err as Error).message.replace('--since', '--until'), (err as UsageError).hint);
  }
  const since = parseSince(request.since ?? '30d', now);
  if (since >= until) throw new UsageError(`--since (${new Date(since).toISOString()}) is not before --until (${new Date(until).toISOString()})`, 'pass an earlier --since or a later --until');
  const by = request.by ?? (until - since > 14 * DAY_MS ? 'week' : 'day');
  if (by !== 'day' && by !== 'week') throw new UsageError(`--by "${request.by}" is not day or week`, 'pass --by day or --by week');
  return { window: { since, until }, by };
}

/** Releases, their commits and incidents of the window and the one before it (for the trend). */
export async function loadFacts(ctx: Context, envs: string[], service: string | undefined, w: Window): Promise<Facts> {
  const store = ctx.ledger().metrics;
  const filter = { envs, service, fromMs: w.since - (w.until - w.since), toMs: w.until };
  return { releases: await store.releases(filter), changes: await store.changes(filter), incidents: await store.incidents(filter) };
}

export interface Measured {
  report: MetricsReport;
  facts: Facts;
  environments: string[];
  window: Window;
}

/** The metrics with the facts they came from (the report lists those facts beside the figures). */
export async function measure(ctx: Context, request: MetricsRequest): Promise<Measured> {
  const environments = await productionEnvironments(ctx, request.env);
  const { window, by } = resolveWindow(ctx, request);
  const facts = await loadFacts(ctx, environments, request.service, window);
  const risk = ctx.config?.risk ?? { warn: 0.5, block: 0.8 };
  const report = computeMetrics(facts, {
    window,
    by,
    environments,
    service: request.service,
    thresholds: [
      { name: 'warn', threshold: risk.warn },
      { name: 'block', threshold: risk.block },
    ],
  });
  return { report, facts, environments, window };
}

/** The four keys, their bands and trends, per service and environment, over time, and the risk scorer's quality. */
export async function metrics(ctx: Context, request: MetricsRequest): Promise<MetricsReport> {
  return (await measure(ctx, request)).report;
}
