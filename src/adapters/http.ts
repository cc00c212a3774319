export interface HttpProbe {
  ok: boolean;
  status?: number;
  latencyMs: number;
  error?: string;
}

/** GET `url` with a timeout; never throws. */
export async function httpGet(url: string, timeoutMs = 3000): Promise<HttpProbe> {
  const started = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await response.arrayBuffer();
    return { ok: true, status: response.status, latencyMs: performance.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const error = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
    return { ok: false, latencyMs: performance.now() - started, error };
  }
}

/** The registry's API base: insecure registries speak plain HTTP. */
export function registryApiUrl(registryUrl: string, insecure: boolean): string {
  if (/^https?:\/\//.test(registryUrl)) return `${registryUrl.replace(/\/+$/, '')}/v2/`;
  return `${insecure ? 'http' : 'https'}://${registryUrl.replace(/\/+$/, '')}/v2/`;
}
