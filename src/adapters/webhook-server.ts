import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface WebhookRequest {
  body: Buffer;
  /** The sending client's address (each sender has its own flood budget). */
  remoteAddress: string;
}

export interface WebhookAnswer {
  status: number;
  body: unknown;
}

/** Who may post: a bearer token, HTTP basic credentials, or both (either is accepted). None: anyone. */
export interface WebhookCredentials {
  token?: string;
  basic?: { username: string; password: string };
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  /** The paths accepted, each with its handler (404 for any other). */
  routes: Record<string, (request: WebhookRequest) => Promise<WebhookAnswer>>;
  maxBodyBytes: number;
  credentials: WebhookCredentials;
  /** All of the request's headers must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (408 past it). */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed at once. */
  maxConnections: number;
  /** On close, requests being answered get this long before every connection is cut. */
  closeGraceMs: number;
}

export interface WebhookServer {
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

/** Compare secrets in constant time (their sha256, so lengths do not leak either). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const { createHash, timingSafeEqual } = await import('node:crypto');
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Does the Authorization header carry the shared secret, as Alertmanager's http_config sends it? */
export async function authorized(header: string | undefined, credentials: WebhookCredentials): Promise<boolean> {
  if (!credentials.token && !credentials.basic) return true;
  const match = /^(\w+)\s+(.+)$/.exec(header ?? '');
  if (!match) return false;
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!.trim();
  if (scheme === 'bearer' && credentials.token) return sameSecret(value, credentials.token);
  if (scheme === 'basic' && credentials.basic) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const [user, password] = await Promise.all([sameSecret(decoded.slice(0, colon), credentials.basic.username), sameSecret(decoded.slice(colon + 1), credentials.basic.password)]);
    return user && password;
  }
  return false;
}

/** "application/json", with or without parameters (charset). */
// JSON, or JSON Lines (one prediction per line) for the predictions path.
const isJson = (contentType: string | undefined) => /^application\/(json|x-ndjson|jsonl)\s*(;|$)/i.test(contentType ?? '');

/**
 * A small HTTP server for webhooks: POST of JSON to a few paths, with a shared secret when one is
 * set, bodies up to `maxBodyBytes`. Every refusal is answered before the body is read, and closes
 * the connection. Header, request and keep-alive timeouts and a connection cap bound what a slow
 * or hostile client can hold; close() cuts whatever is still open after a short grace.
 */
export async function serveWebhooks(options: WebhookServerOptions): Promise<WebhookServer> {
  const { createServer } = await import('node:http');
  let inFlight = 0;
  let settled: (() => void) | undefined;
  const idleMs = Math.max(options.headersTimeoutMs, options.keepAliveTimeoutMs) + 1000;

  const reply = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    // A refusal closes the connection: the unread body is never drained.
    const close = status >= 400 ? { Connection: 'close' } : {};
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...close, ...headers });
    res.end(text);
  };

  const refuse = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const challenge = [options.credentials.token ? 'Bearer realm="ops"' : '', options.credentials.basic ? 'Basic realm="ops"' : ''].filter(Boolean).join(', ');
    if (!(await authorized(req.headers.authorization, options.credentials))) {
      reply(res, 401, { error: 'a valid Authorization header is needed (the shared secret of watch.listen)' }, { 'WWW-Authenticate': challenge });
    } else if (!Object.hasOwn(options.routes, (req.url ?? '/').split('?')[0]!)) reply(res, 404, { error: `post to ${Object.keys(options.routes).join(' or ')}` });
    else if (req.method !== 'POST') reply(res, 405, { error: 'only POST is accepted' }, { Allow: 'POST' });
    else if (!isJson(req.headers['content-type'])) reply(res, 415, { error: 'the body must be application/json' });
    else if (Number(req.headers['content-length'] ?? 0) > options.maxBodyBytes) reply(res, 413, { error: `body over ${options.maxBodyBytes} bytes` });
    else return false;
    return true;
  };

  const server: Server = createServer({ headersTimeout: options.headersTimeoutMs, requestTimeout: options.requestTimeoutMs, keepAliveTimeout: options.keepAliveTimeoutMs, connectionsCheckingInterval: 500 }, (req, res) => {
    inFlight++;
    // While a request is in (its arrival is bounded by requestTimeout) the idle cut waits; once it is
    // answered, node arms the keep-alive timeout on the socket.
    req.socket.setTimeout(0);
    res.on('close', () => {
      inFlight--;
      if (inFlight === 0) settled?.();
    });
    // The body is only read once the request passed every check.
    req.pause();
    void refuse(req, res).then((refused) => {
      if (refused) return;
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBodyBytes) {
          reply(res, 413, { error: `body over ${options.maxBodyBytes} bytes` });
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      const handle = options.routes[(req.url ?? '/').split('?')[0]!]!;
      req.on('end', () => {
        handle({ body: Buffer.concat(chunks), remoteAddress: req.socket.remoteAddress ?? 'unknown' }).then(
          (answer) => reply(res, answer.status, answer.body),
          (err: Error) => reply(res, 500, { error: err.message }),
        );
      });
      req.resume();
    });
  });
  server.maxConnections = options.maxConnections;
  // A connection that sends nothing at all (not even a first header line) is cut as well.
  server.setTimeout(idleMs, (socket: Socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests being answered may finish; slow senders and anything left are cut after the grace.
        const cut = () => server.closeAllConnections();
        const timer = setTimeout(cut, options.closeGraceMs);
        timer.unref();
        settled = () => {
          clearTimeout(timer);
          cut();
        };
        if (inFlight === 0) settled();
      }),
  };
}
