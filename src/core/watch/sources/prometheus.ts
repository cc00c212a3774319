import type { Context } from '../../context.js';
import type { WatchSourceConfig } from '../../config/schema.js';
import { AnomalyDetector } from '../detector.js';
import type { CheckResult, Signal } from '../types.js';

type PrometheusSource = Extract<WatchSourceConfig, { type: 'prometheus' }>;

const QUERY_TIMEOUT_MS = 10_000;

/** `{job="api",instance="a:9100"}`: a series named by its labels, without __name__. */
export function seriesName(labels: Record<string, string>): string {
  const name = labels.__name__ ?? '';
  const rest = Object.entries(labels)
    .filter(([key]) => key !== '__name__')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}="${value}"`);
  return `${name}{${rest.join(',')}}`;
}

/**
 * A PromQL query: with a threshold, every series past it fires; in anomaly mode the detector reads
 * the series over `window` (from Prometheus, so cron runs need no memory) and fires when a point of
 * the last `recentMs` (a cycle, at least three steps) scores `anomalyScore` or more.
 */
export async function checkPrometheus(ctx: Context, source: PrometheusSource, nowMs: number, recentMs: number): Promise<CheckResult> {
  const signals: Signal[] = [];
  const prometheus = ctx.adapters.prometheus;
  if (source.threshold !== undefined) {
    const threshold = source.threshold;
    for (const series of await prometheus.query(source.url, source.query, QUERY_TIMEOUT_MS)) {
      const value = series.samples[0]?.[1];
      if (value === undefined || Number.isNaN(value)) continue;
      if (source.below ? value < threshold : value > threshold) {
        const name = seriesName(series.labels);
        signals.push({
          condition: 'threshold',
          resource: `${source.query} ${name}`,
          severity: 'warning',
          message: `${source.query} is ${value} for ${name}, ${source.below ? 'below' : 'above'} ${threshold}`,
          details: { value, threshold, labels: series.labels },
        });
      }
    }
  }
  if (source.anomaly) {
    const range = await prometheus.queryRange(source.url, source.query, nowMs - source.window, nowMs, source.step, QUERY_TIMEOUT_MS);
    for (const series of range) {
      if (series.samples.length < 3) continue;
      const detector = new AnomalyDetector({ expectedLength: series.samples.length });
      let score = 0;
      let value = NaN;
      for (const [at, sample] of series.samples) {
        const s = detector.score(at * 1000, sample);
        if (at * 1000 >= nowMs - recentMs && s >= score) [score, value] = [s, sample];
      }
      if (score >= source.anomalyScore) {
        const name = seriesName(series.labels);
        signals.push({
          condition: 'anomaly',
          resource: `${source.query} ${name}`,
          severity: 'warning',
          message: `${source.query} is anomalous for ${name}: ${value} (score ${score.toFixed(2)})`,
          details: { value, score, labels: series.labels },
        });
      }
    }
  }
  return { signals };
}
