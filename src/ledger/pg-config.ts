// A PostgreSQL ledger URL read by libpq's rules: the password from the URL, PGPASSWORD or the
// password file, `sslmode` with libpq's meanings, a connect timeout; PG* variables as defaults.
import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { LedgerError } from '../errors.js';
import { displayTarget } from './db.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Without `connect_timeout` or PGCONNECT_TIMEOUT: long enough for a loaded server, short enough to never look hung. */
export const DEFAULT_CONNECT_TIMEOUT_S = 5;

const PARAMETERS = ['host', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'connect_timeout', 'application_name', 'options'] as const;

export interface PgSettings {
  host: string;
  port: number;
  database: string;
  user: string;
  sslmode: SslMode;
  /** 0: wait as long as the network does (libpq's `connect_timeout=0`). */
  connectTimeoutMs: number;
  applicationName: string;
  options: string | undefined;
  /** The TLS settings for `sslmode` (false: plain); `prefer` and `allow` fall back to the other. */
  ssl: false | ConnectionOptions;
  /** Where the password comes from, resolved only when the server asks for one. */
  password: () => string | undefined;
}

function badUrl(target: string, why: string): LedgerError {
  return new LedgerError(
    `ledger URL ${displayTarget(target)} is not a PostgreSQL URL ops can use: ${why}`,
    'write it as postgres://user@host[:port]/database[?sslmode=require&connect_timeout=5], the password in PGPASSWORD or ~/.pgpass',
  );
}

/** libpq's password file: `host:port:database:user:password`, `*` matching anything, `\` escaping. */
export function pgpassLookup(text: string, want: { host: string; port: number; database: string; user: string }): string | undefined {
  const host = want.host.startsWith('/') ? 'localhost' : want.host;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.startsWith('#')) continue;
    const fields: string[] = [''];
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (ch === '\\' && i + 1 < line.length) fields[fields.length - 1] += line[++i];
      else if (ch === ':' && fields.length < 5) fields.push('');
      else fields[fields.length - 1] += ch;
    }
    if (fields.length < 5) continue;
    const [h, p, d, u, password] = fields as [string, string, string, string, string];
    const matches = (field: string, value: string) => field === '*' || field === value;
    if (matches(h, host) && matches(p, String(want.port)) && matches(d, want.database) && matches(u, want.user)) return password;
  }
  return undefined;
}

/** The password file's text, unless it is missing or readable by others (libpq ignores it then, and so do we). */
function readPasswordFile(path: string, warn: (line: string) => void): string | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat?.isFile()) return undefined;
  if (stat.mode & 0o077) {
    warn(`password file ${path} is readable by group or others, so it is ignored (as libpq does); chmod 0600 ${path}`);
    return undefined;
  }
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function sslOptions(mode: SslMode, host: string, files: { rootcert: string | undefined; cert: string | undefined; key: string | undefined }, target: string): false | ConnectionOptions {
  if (mode === 'disable') return false;
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new LedgerError(`cannot read the ${what} ${path} of ledger ${displayTarget(target)}: ${(err as Error).message}`, `fix the ${what === 'root certificate' ? 'sslrootcert' : what === 'client certificate' ? 'sslcert' : 'sslkey'} path in the URL`);
    }
  };
  const client: ConnectionOptions = {};
  if (files.cert) client.cert = read('client certificate', files.cert);
  if (files.key) client.key = read('client key', files.key);
  const defaultRoot = join(homedir(), '.postgresql', 'root.crt');
  const rootcert = files.rootcert ?? (statSync(defaultRoot, { throwIfNoEntry: false })?.isFile() ? defaultRoot : undefined);
  const verify = mode === 'verify-full' || mode === 'verify-ca' || (mode === 'require' && rootcert !== undefined);
  if (!verify) return { ...client, rejectUnauthorized: false };
  if (!rootcert) {
    throw new LedgerError(`sslmode=${mode} for ledger ${displayTarget(target)} needs the server's CA certificate, and there is no ${defaultRoot}`, 'pass sslrootcert=<file> in the URL (or PGSSLROOTCERT), or use sslmode=require');
  }
  return {
    ...client,
    ca: read('root certificate', rootcert),
    rejectUnauthorized: true,
    servername: /^[\d.]+$|:/.test(host) ? undefined : host,
    // verify-ca checks the chain only; verify-full also the host name (node's default check).
    ...(mode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
  };
}

/**
 * The connection settings of a `postgres://` URL, with libpq's defaults (PGHOST, PGPORT, PGUSER,
 * PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGCONNECT_TIMEOUT, PGPASSWORD, PGPASSFILE or ~/.pgpass).
 * A malformed URL, an unknown parameter or a bad value is one line with the fix.
 */
export function pgSettings(target: string, env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = () => {}): PgSettings {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw badUrl(target, 'it does not parse as a URL (a password with @, /, : or # must be percent-encoded)');
  }
  const params = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!(PARAMETERS as readonly string[]).includes(key)) throw badUrl(target, `unknown parameter "${key}" (known: ${PARAMETERS.join(', ')})`);
    params.set(key, value);
  }
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw badUrl(target, 'a percent-encoded part is invalid');
    }
  };
  if (url.hostname.includes(',')) throw badUrl(target, 'several hosts are not supported: give one');
  const host = params.get('host') ?? (url.hostname ? decode(url.hostname).replace(/^\[(.*)\]$/, '$1') : undefined) ?? env.PGHOST ?? 'localhost';
  const portText = params.get('port') ?? (url.port || undefined) ?? env.PGPORT ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badUrl(target, `port "${portText}" is not a number from 1 to 65535`);
  const user = params.get('user') ?? (url.username ? decode(url.username) : undefined) ?? env.PGUSER ?? safeUsername();
  const path = decode(url.pathname.replace(/^\//, ''));
  if (path.includes('/')) throw badUrl(target, `"${path}" is not a database name`);
  const database = params.get('dbname') ?? (path || undefined) ?? env.PGDATABASE ?? user;
  const sslmode = (params.get('sslmode') ?? env.PGSSLMODE ?? 'prefer') as SslMode;
  if (!SSL_MODES.includes(sslmode)) throw badUrl(target, `sslmode "${sslmode}" is not one of ${SSL_MODES.join(', ')}`);
  const timeoutText = params.get('connect_timeout') ?? env.PGCONNECT_TIMEOUT ?? String(DEFAULT_CONNECT_TIMEOUT_S);
  const timeoutS = Number(timeoutText);
  if (!Number.isInteger(timeoutS) || timeoutS < 0) throw badUrl(target, `connect_timeout "${timeoutText}" is not a whole number of seconds`);
  const urlPassword = params.get('password') ?? (url.password ? decode(url.password) : undefined);
  const ssl = sslOptions(sslmode, host, { rootcert: params.get('sslrootcert') ?? env.PGSSLROOTCERT, cert: params.get('sslcert') ?? env.PGSSLCERT, key: params.get('sslkey') ?? env.PGSSLKEY }, target);
  const passFile = env.PGPASSFILE ?? join(env.HOME ?? homedir(), '.pgpass');
  return {
    host,
    port,
    database,
    user,
    sslmode,
    // libpq: a timeout under 2 s is taken as 2 s.
    connectTimeoutMs: timeoutS === 0 ? 0 : Math.max(timeoutS, 2) * 1000,
    applicationName: params.get('application_name') ?? env.PGAPPNAME ?? 'ops',
    options: params.get('options'),
    ssl,
    password: () => {
      if (urlPassword !== undefined) return urlPassword;
      if (env.PGPASSWORD !== undefined) return env.PGPASSWORD;
      const text = readPasswordFile(passFile, warn);
      return text === undefined ? undefined : pgpassLookup(text, { host, port, database, user });
    },
  };
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}
