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
    return { ok: false, latencyMs: performance.now() - started, error: networkError(err, timeoutMs) };
  }
}

/** The registry's API base: insecure registries speak plain HTTP. */
export function registryApiUrl(registryUrl: string, insecure: boolean): string {
  if (/^https?:\/\//.test(registryUrl)) return `${registryUrl.replace(/\/+$/, '')}/v2/`;
  return `${insecure ? 'http' : 'https'}://${registryUrl.replace(/\/+$/, '')}/v2/`;
}

/** GET a JSON document; throws with the status or the network error. */
export async function getJson<T>(url: string, timeoutMs: number): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'application/json' } });
  } catch (err) {
    throw new Error(networkError(err, timeoutMs));
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200).trim()}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`the answer is not JSON: ${text.slice(0, 80).trim()}`);
  }
}

/** POST JSON; the status, or the network error. Never throws. */
export async function postJson(url: string, body: unknown, timeoutMs: number): Promise<{ ok: boolean; status?: number; error?: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return response.ok ? { ok: true, status: response.status } : { ok: false, status: response.status, error: `HTTP ${response.status}: ${text.slice(0, 200).trim()}` };
  } catch (err) {
    return { ok: false, error: networkError(err, timeoutMs) };
  }
}

function networkError(err: unknown, timeoutMs: number): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
}
