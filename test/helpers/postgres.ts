// A real PostgreSQL 15 server for the tests of one test file: Debian's binaries (installed by
// scripts/setup.sh when root and missing), `initdb` into a temp folder as an unprivileged user,
// `pg_ctl start` on 127.0.0.1 at a free port, one database per test, stopped when the file ends.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { PROJECT_ROOT } from './ops.js';

const BIN = '/usr/lib/postgresql/15/bin';
export const PG_SUPERUSER = 'ops';
export const PG_PASSWORD = 'test-pg-secret-5c1d';

export interface PostgresServer {
  host: string;
  port: number;
  /** The CA that signed the server's certificate (for localhost and 127.0.0.1), when started with TLS. */
  caFile: string | undefined;
  /** A URL (with the password) for a database of this server. */
  url(database: string, options?: { user?: string; password?: string | null }): string;
  /** A new empty database, and its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** SQL as the superuser through psql, on one database. */
  psql(database: string, sql: string): string;
  /** `pg_ctl` as the server's user (stop, start, restart). */
  ctl(...args: string[]): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

let started: Promise<PostgresServer | string> | undefined;
let databases = 0;

/** A CA and a server certificate it signed for localhost and 127.0.0.1, in `dir`. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } | string {
  const ca = join(dir, 'ca.crt');
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  const steps = [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', ca, '-days', '2', '-subj', '/CN=ops test CA'],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost'],
    ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext],
  ];
  for (const args of steps) {
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    if (result.status !== 0) return `openssl ${args[0]} failed: ${(result.stderr || String(result.error)).trim().split('\n').pop()}`;
  }
  return { ca, cert, key };
}

async function start(tls: boolean): Promise<PostgresServer | string> {
  if (!existsSync(join(BIN, 'pg_ctl'))) {
    if (process.getuid?.() !== 0) return `PostgreSQL 15 is not installed (${BIN}) and installing it needs root: run scripts/setup.sh postgres`;
    const setup = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'setup.sh'), 'postgres'], { encoding: 'utf8' });
    if (setup.status !== 0 || !existsSync(join(BIN, 'pg_ctl'))) return `installing postgresql-15 failed: ${setup.stderr.trim().split('\n').pop()}`;
  }
  // The server refuses to run as root: root runs it as the package's postgres user (or nobody).
  const asUser = process.getuid?.() === 0 ? (userIds('postgres') ?? userIds('nobody')) : undefined;
  if (process.getuid?.() === 0 && !asUser) return 'no unprivileged user (postgres, nobody) to run PostgreSQL as';
  const dir = mkdtempSync(join(tmpdir(), 'ops-pg-'));
  if (asUser) chownSync(dir, asUser.uid, asUser.gid);
  const run = (command: string, args: string[]) => spawnSync(join(BIN, command), args, { encoding: 'utf8', cwd: dir, ...(asUser ?? {}) });
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PG_PASSWORD}\n`, { mode: 0o600 });
  if (asUser) chownSync(pwfile, asUser.uid, asUser.gid);
  const data = join(dir, 'data');
  const init = run('initdb', ['-D', data, '-U', PG_SUPERUSER, '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-locale', '-E', 'UTF8', '--no-sync']);
  if (init.status !== 0) return `initdb failed: ${(init.stderr || init.stdout).trim().split('\n').pop()}`;
  let tlsOptions = '';
  let caFile: string | undefined;
  if (tls) {
    const made = makeCertificates(dir);
    if (typeof made === 'string') return made;
    for (const file of [made.cert, made.key]) if (asUser) chownSync(file, asUser.uid, asUser.gid);
    caFile = made.ca;
    tlsOptions = ` -c ssl=on -c ssl_cert_file=${made.cert} -c ssl_key_file=${made.key}`;
  }
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c max_connections=200${tlsOptions}`;
  const ctl = (...args: string[]) => {
    const result = run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', ...args]);
    if (result.status !== 0) throw new Error(`pg_ctl ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim()}`);
  };
  try {
    ctl('start');
  } catch (err) {
    return (err as Error).message;
  }
  process.on('exit', () => {
    run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });
  const url = (database: string, options: { user?: string; password?: string | null } = {}) => {
    const password = options.password === undefined ? PG_PASSWORD : options.password;
    return `postgres://${options.user ?? PG_SUPERUSER}${password === null ? '' : `:${encodeURIComponent(password)}`}@127.0.0.1:${port}/${database}`;
  };
  const psql = (database: string, sql: string) => {
    const result = run('psql', ['-h', dir, '-p', String(port), '-U', PG_SUPERUSER, '-d', database, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql]);
    if (result.status !== 0) throw new Error(`psql failed: ${result.stderr.trim()}`);
    return result.stdout.trim();
  };
  return {
    host: '127.0.0.1',
    port,
    caFile,
    url,
    psql,
    ctl,
    async createDatabase(prefix = 'ops') {
      const name = `${prefix}_${process.pid}_${++databases}`;
      psql('postgres', `CREATE DATABASE ${name}`);
      return url(name);
    },
  };
}

/**
 * The file's server, started on first use; a string says why there is none. `tls`: it also takes
 * TLS connections (certificates from a test CA); the first call of a file decides.
 */
export function postgresServer(options: { tls?: boolean } = {}): Promise<PostgresServer | string> {
  started ??= start(options.tls ?? false);
  return started;
}

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

/**
 * A fresh, empty ledger target on a backend: a SQLite file path, or the URL of a new PostgreSQL
 * database. Undefined when PostgreSQL cannot run here: the test is skipped with the reason.
 */
export async function freshLedger(t: TestContext, backend: Backend): Promise<string | undefined> {
  if (backend === 'sqlite') return join(mkdtempSync(join(tmpdir(), 'ops-ledger-')), 'ledger.db');
  const server = await postgresServer();
  if (typeof server === 'string') {
    // CI installs PostgreSQL (.ci/run): there a missing server is a failure, not a skip.
    if (process.env.CI && process.env.CI !== 'false') throw new Error(`no PostgreSQL: ${server}`);
    process.stderr.write(`SKIPPED (no PostgreSQL): ${server}\n`);
    t.skip(`no PostgreSQL: ${server}`);
    return undefined;
  }
  return server.createDatabase();
}
