import { buckets, fourKeys, isChange, isFailure, trend, type Bucket, type Direction, type Facts, type KeyFigures, type Window } from './keys.js';
import { riskQuality, type RiskQuality } from './risk.js';

export interface Trend {
  previous: number | null;
  change: number | null;
  direction: Direction | null;
}

export type KeysWithTrend = {
  [K in keyof KeyFigures]: KeyFigures[K] & { trend: Trend };
};

export interface SeriesPoint {
  since: string;
  until: string;
  deployments: number;
  leadTimeMedianMs: number | null;
  changeFailureRate: number | null;
  timeToRestoreMedianMs: number | null;
}

export interface MetricsReport {
  window: { since: string; until: string; days: number; by: Bucket };
  previousWindow: { since: string; until: string };
  environments: string[];
  service: string | null;
  keys: KeysWithTrend;
  groups: Array<{ service: string; env: string; keys: KeysWithTrend }>;
  series: SeriesPoint[];
  risk: RiskQuality;
}

export interface MetricsOptions {
  window: Window;
  by: Bucket;
  environments: string[];
  service?: string;
  thresholds: Array<{ name: string; threshold: number }>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function withTrend(current: KeyFigures, previous: KeyFigures): KeysWithTrend {
  return {
    deploymentFrequency: { ...current.deploymentFrequency, trend: trend(current.deploymentFrequency.perDay, previous.deploymentFrequency.perDay, true) },
    leadTime: { ...current.leadTime, trend: trend(current.leadTime.medianMs, previous.leadTime.medianMs, false) },
    changeFailureRate: { ...current.changeFailureRate, trend: trend(current.changeFailureRate.rate, previous.changeFailureRate.rate, false) },
    timeToRestore: { ...current.timeToRestore, trend: trend(current.timeToRestore.medianMs, previous.timeToRestore.medianMs, false) },
  };
}

/** The facts of one service in one environment. */
function only(facts: Facts, service: string, env: string): Facts {
  const releases = facts.releases.filter((r) => r.service === service && r.env === env);
  const ids = new Set(releases.map((r) => r.id));
  return {
    releases,
    changes: facts.changes.filter((c) => ids.has(c.releaseId)),
    incidents: facts.incidents.filter((i) => i.service === service && i.env === env),
  };
}

/**
 * Everything `ops metrics` reports, from facts already narrowed to the environments (and service)
 * asked for: the four keys with their bands and the trend against the window before, per service
 * and environment, over time, and the risk scorer's quality on the same releases.
 */
export function computeMetrics(facts: Facts, options: MetricsOptions): MetricsReport {
  const { window: w } = options;
  const previous: Window = { since: w.since - (w.until - w.since), until: w.since };
  const pairs = new Map<string, { service: string; env: string }>();
  for (const r of facts.releases) pairs.set(`${r.service}\0${r.env}`, { service: r.service, env: r.env });
  for (const i of facts.incidents) pairs.set(`${i.service}\0${i.env}`, { service: i.service, env: i.env });
  const groups = [...pairs.values()]
    .sort((a, b) => a.service.localeCompare(b.service) || a.env.localeCompare(b.env))
    .map(({ service, env }) => {
      const mine = only(facts, service, env);
      return { service, env, keys: withTrend(fourKeys(mine, w), fourKeys(mine, previous)) };
    });
  const series = buckets(w, options.by).map((bucket) => {
    const k = fourKeys(facts, bucket);
    return {
      since: iso(bucket.since),
      until: iso(bucket.until),
      deployments: k.deploymentFrequency.deployments,
      leadTimeMedianMs: k.leadTime.medianMs,
      changeFailureRate: k.changeFailureRate.rate,
      timeToRestoreMedianMs: k.timeToRestore.medianMs,
    };
  });
  const scored = facts.releases.filter((r) => r.risk != null && isChange(r) && r.finishedAt! >= w.since && r.finishedAt! < w.until);
  return {
    window: { since: iso(w.since), until: iso(w.until), days: (w.until - w.since) / 86_400_000, by: options.by },
    previousWindow: { since: iso(previous.since), until: iso(previous.until) },
    environments: options.environments,
    service: options.service ?? null,
    keys: withTrend(fourKeys(facts, w), fourKeys(facts, previous)),
    groups,
    series,
    risk: riskQuality(
      scored.map((r) => ({ risk: r.risk!, failed: isFailure(r) })),
      options.thresholds,
    ),
  };
}
