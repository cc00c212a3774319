import { getJson } from './http.js';

/** One series of a Prometheus answer: its labels and its samples as [unix seconds, value]. */
export interface PromSeries {
  labels: Record<string, string>;
  samples: Array<[number, number]>;
}

interface PromAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }> };
}

async function api(url: string, timeoutMs: number): Promise<PromSeries[]> {
  const answer = await getJson<PromAnswer>(url, timeoutMs);
  if (answer.status !== 'success' || !answer.data) throw new Error(`Prometheus: ${answer.error ?? 'no data'}`);
  return answer.data.result.map((r) => ({
    labels: r.metric,
    samples: (r.values ?? (r.value ? [r.value] : [])).map(([at, value]) => [Number(at), Number(value)] as [number, number]),
  }));
}

const base = (url: string) => url.replace(/\/+$/, '');

/** An instant query (GET /api/v1/query). */
export function query(url: string, promql: string, timeoutMs: number): Promise<PromSeries[]> {
  return api(`${base(url)}/api/v1/query?${new URLSearchParams({ query: promql })}`, timeoutMs);
}

/** A range query (GET /api/v1/query_range), times in milliseconds. */
export function queryRange(url: string, promql: string, startMs: number, endMs: number, stepMs: number, timeoutMs: number): Promise<PromSeries[]> {
  const params = new URLSearchParams({ query: promql, start: String(startMs / 1000), end: String(endMs / 1000), step: `${Math.max(1, Math.round(stepMs / 1000))}s` });
  return api(`${base(url)}/api/v1/query_range?${params}`, timeoutMs);
}
