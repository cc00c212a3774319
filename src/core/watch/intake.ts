import { isIP } from 'node:net';
import type { WebhookCredentials, WebhookServer } from '../../adapters/webhook-server.js';
import { UsageError } from '../../errors.js';
import type { Context } from '../context.js';
import { IntakeLimits, MAX_WEBHOOK_BYTES, receiveAlerts } from './alertmanager.js';

/** Requests being answered when the receiver stops get this long; then every connection is cut. */
export const CLOSE_GRACE_MS = 2000;

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x) and localhost: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.replace(/^::ffff:/, '');
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Start the Alertmanager receiver of `ops watch --listen`. On any address but loopback a shared
 * secret (watch.listen.token, or username and password) is required; with one configured it is
 * required on loopback too.
 */
export async function startIntake(ctx: Context, address: { host: string; port: number }): Promise<WebhookServer> {
  const listen = ctx.requireConfig().watch.listen;
  const credentials: WebhookCredentials = {
    ...(listen.token ? { token: listen.token } : {}),
    ...(listen.username && listen.password ? { basic: { username: listen.username, password: listen.password } } : {}),
  };
  const shown = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  if (!credentials.token && !credentials.basic && !isLoopback(address.host)) {
    throw new UsageError(
      `--listen ${shown} takes webhooks from other machines, and no shared secret is set`,
      'set OPS_WATCH__LISTEN__TOKEN (or watch.listen.token, or username and password) and give Alertmanager the same in its webhook http_config (authorization.credentials or basic_auth), or listen on 127.0.0.1',
    );
  }
  // Redacted wherever ops prints or stores text from now on.
  for (const secret of [listen.token, listen.password]) if (secret && !ctx.secrets.includes(secret)) ctx.secrets.push(secret);
  const limits = new IntakeLimits(listen.maxAlerts, listen.incidentsPerMinute);
  const { serveWebhooks } = await import('../../adapters/webhook-server.js');
  try {
    return await serveWebhooks(
      {
        host: address.host,
        port: address.port,
        routes: {
          [listen.path]: (request) => receiveAlerts(ctx, request.body, request.remoteAddress, limits),
          // Predictions made elsewhere, for `ops model monitor` (what `ops model log` takes from a file).
          [listen.predictions]: async (request) => (await import('../models/predictions.js')).receivePredictions(ctx, request.body),
        },
        maxBodyBytes: MAX_WEBHOOK_BYTES,
        credentials,
        headersTimeoutMs: listen.headersTimeout,
        requestTimeoutMs: listen.requestTimeout,
        keepAliveTimeoutMs: listen.keepAliveTimeout,
        maxConnections: listen.maxConnections,
        closeGraceMs: CLOSE_GRACE_MS,
      },
    );
  } catch (err) {
    throw new UsageError(`cannot listen on ${shown}: ${(err as Error).message}`, 'pick a free port, or stop what holds it');
  }
}
