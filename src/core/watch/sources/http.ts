import type { Context } from '../../context.js';
import type { WatchSourceConfig } from '../../config/schema.js';
import type { CheckResult } from '../types.js';

type HttpSource = Extract<WatchSourceConfig, { type: 'http' }>;

interface HttpMemory {
  /** Consecutive failed probes, and what the last one said. */
  failures: number;
  lastFailure: string | null;
}

/** One probe; down after `failures` failed probes in a row (wrong status, no answer, or too slow). */
export async function checkHttp(ctx: Context, source: HttpSource, memory: HttpMemory | undefined): Promise<CheckResult<HttpMemory>> {
  const probe = await ctx.adapters.http.httpGet(source.url, source.timeout);
  let failure: string | null = null;
  if (!probe.ok) failure = probe.error ?? 'no answer';
  else if (probe.status !== source.expectStatus) failure = `status ${probe.status}, expected ${source.expectStatus}`;
  else if (source.latencyMs !== undefined && probe.latencyMs > source.latencyMs) failure = `answered in ${Math.round(probe.latencyMs)} ms, over ${source.latencyMs} ms`;
  const failures = failure ? (memory?.failures ?? 0) + 1 : 0;
  const next = { failures, lastFailure: failure };
  if (!failure || failures < source.failures) return { signals: [], memory: next };
  return {
    signals: [
      {
        condition: 'http-down',
        resource: source.url,
        severity: 'critical',
        message: `${source.url} failed ${failures} checks in a row: ${failure}`,
        details: { status: probe.status ?? null, latencyMs: Math.round(probe.latencyMs), failures },
      },
    ],
    memory: next,
  };
}
