import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from '../context.js';
import type { MetricsRequest } from '../metrics/index.js';
import { metrics } from '../metrics/index.js';
import { OpsError, UsageError } from '../../errors.js';
import { ledgerLabel } from './index.js';
import { incidentPage, releasePage, runPage, versionPage } from './pages.js';
import { PageRenderer, type PageFiles, type PageMeta } from './render.js';
import { chartData, overview } from './view.js';

export interface UiOptions {
  host: string;
  port: number;
  files: PageFiles;
  version: string;
  /** The window of the overview (a page's query string may override since, until, env, service, by). */
  request: MetricsRequest;
  /** How often an open page asks whether the ledger changed. */
  refreshMs: number;
}

export interface RunningUi {
  url: string;
  /** Null on a loopback address; else what every request must carry. */
  token: string | null;
  server: Server;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
const TOKEN_COOKIE = 'ops_ui_token';

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sameSecret(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const positive = (text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new HttpError(404, `no such page`);
  return n;
};

/**
 * `ops ui`: a read-only web UI over the live ledger. Every request reads the ledger afresh through
 * the stores; there are only GET (and HEAD) routes. On a non-loopback address each request needs
 * the token printed at start (as `?token=`, which sets a cookie, an `ops_ui_token` cookie, or an
 * `Authorization: Bearer` header).
 */
export async function startUi(ctx: Context, options: UiOptions): Promise<RunningUi> {
  const renderer = new PageRenderer(options.files);
  const loopback = LOOPBACK.test(options.host);
  const token = loopback ? null : randomBytes(24).toString('base64url');
  const project = ctx.config?.project ?? 'ops';

  const version = async (): Promise<string> => String(await ctx.ledger().metrics.dataVersion());
  const meta = async (): Promise<PageMeta> => ({
    project,
    version: options.version,
    ledger: ledgerLabel(ctx),
    generatedAt: new Date(ctx.clock.now()).toISOString(),
    mode: 'ui',
    live: { version: await version(), intervalMs: options.refreshMs },
  });
  const windowOf = (url: URL): MetricsRequest => {
    const pick = (name: keyof MetricsRequest) => url.searchParams.get(name) ?? options.request[name];
    return { since: pick('since'), until: pick('until'), env: pick('env'), service: pick('service'), by: pick('by') };
  };

  async function route(url: URL): Promise<{ type: string; body: string }> {
    const html = (body: string) => ({ type: 'text/html; charset=utf-8', body });
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const page = async (template: string, title: string, view: object | undefined, what: string) => {
      if (!view) throw new HttpError(404, `${what} does not exist`);
      return html(renderer.render(template, title, await meta(), view, {}));
    };
    if (parts.length === 0) {
      const view = await overview(ctx, windowOf(url));
      return html(renderer.render('overview', 'overview', await meta(), view, chartData(view)));
    }
    const [head, a, b] = parts;
    if (head === 'api' && a === 'metrics' && parts.length === 2) return { type: 'application/json', body: JSON.stringify(await metrics(ctx, windowOf(url))) };
    if (head === 'api' && a === 'version' && parts.length === 2) return { type: 'application/json', body: JSON.stringify({ version: await version() }) };
    if (head === 'releases' && parts.length === 2) return page('release', `release #${a}`, await releasePage(ctx, positive(a)), `release #${a}`);
    if (head === 'incidents' && parts.length === 2) return page('incident', `incident #${a}`, await incidentPage(ctx, positive(a)), `incident #${a}`);
    if (head === 'runs' && parts.length === 2) return page('run', `run #${a}`, await runPage(ctx, positive(a)), `run #${a}`);
    if (head === 'models' && parts.length === 3) return page('version', `${a} v${b}`, await versionPage(ctx, a!, positive(b)), `model version ${a} v${b}`);
    throw new HttpError(404, `no page at ${url.pathname}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const url = new URL(req.url ?? '/', 'http://ops-ui');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'ops ui is read-only: only GET and HEAD\n', { allow: 'GET, HEAD' });
    // A page on another site must not reach a loopback UI through a name that resolves to it.
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (loopback && !LOOPBACK.test(host)) return send(403, 'text/plain; charset=utf-8', `ops ui answers only to a loopback host name, not "${host}"\n`);
    if (token) {
      const query = url.searchParams.get('token') ?? undefined;
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (sameSecret(query, token)) {
        url.searchParams.delete('token');
        return send(303, 'text/plain; charset=utf-8', 'signed in\n', {
          location: `${url.pathname}${url.search}`,
          'set-cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        });
      }
      if (!sameSecret(bearer, token) && !sameSecret(cookie(req, TOKEN_COOKIE), token)) {
        return send(401, 'text/plain; charset=utf-8', 'ops ui needs its token: open the URL that `ops ui` printed (?token=...)\n', { 'www-authenticate': 'Bearer' });
      }
    }
    try {
      const { type, body } = await route(url);
      send(200, type, body);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof UsageError ? 400 : 500;
      if (status === 500) ctx.output.warn(`ops ui: ${req.method} ${url.pathname}: ${(err as Error).stack ?? err}`);
      const message = err instanceof OpsError ? `${err.message}${err.hint ? `; ${err.hint}` : ''}` : (err as Error).message;
      const heading = status === 404 ? 'Not found' : status === 400 ? 'Cannot show this' : 'Something went wrong';
      send(status, 'text/html; charset=utf-8', renderer.render('notfound', heading, await meta().catch(() => ({ project, version: options.version, ledger: '', generatedAt: '', mode: 'ui' as const })), { heading, message }, {}));
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new UsageError(`port ${options.port} on ${options.host} is in use`, 'pass --port <n> (0 picks a free one)')
          : err.code === 'EADDRNOTAVAIL'
            ? new UsageError(`cannot listen on ${options.host}: no such address here`, 'pass --host with an address of this machine, or leave it out for 127.0.0.1')
            : new OpsError(`cannot listen on ${options.host}:${options.port}: ${err.message}`),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shown}:${port}/${token ? `?token=${token}` : ''}`,
    token,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Browsers keep connections open; they would hold close() for minutes.
        server.closeAllConnections();
      }),
  };
}
