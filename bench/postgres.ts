// A PostgreSQL 15 server for a benchmark group, started synchronously (the groups report
// synchronously): Debian's binaries, `initdb` into a temporary folder (as the postgres user when
// run as root), 127.0.0.1 at a free port, stopped when the process exits.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/lib/postgresql/15/bin';
const USER = 'ops';
const PASSWORD = 'bench-pg-secret';

export interface BenchPostgres {
  /** A URL (with the password) for a new empty database. */
  createDatabase(name: string): string;
  /** SQL as the superuser through psql over the unix socket; its output. */
  psql(database: string, sql: string): string;
  /** The psql command line of a client that connects like ops does: TCP, the URL, start-up included. */
  psqlArgv(url: string, sql: string): string[];
}

function ids(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

let server: BenchPostgres | undefined;

export function benchPostgres(): BenchPostgres {
  if (server) return server;
  if (!existsSync(join(BIN, 'pg_ctl'))) throw new Error(`PostgreSQL 15 is not installed (${BIN}): run scripts/setup.sh postgres`);
  const asUser = process.getuid?.() === 0 ? (ids('postgres') ?? ids('nobody')) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ops-bench-pg-'));
  if (asUser) chownSync(dir, asUser.uid, asUser.gid);
  const run = (command: string, args: string[]) => spawnSync(join(BIN, command), args, { encoding: 'utf8', cwd: dir, ...(asUser ?? {}) });
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (asUser) chownSync(pwfile, asUser.uid, asUser.gid);
  const data = join(dir, 'data');
  const init = run('initdb', ['-D', data, '-U', USER, '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-locale', '-E', 'UTF8', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed: ${(init.stderr || init.stdout).trim()}`);
  // A server as a team would run it (fsync and synchronous commit on), with room for 16 writers.
  let port = 0;
  for (let attempt = 0; attempt < 20 && !port; attempt++) {
    const candidate = 20000 + Math.floor(Math.random() * 30000);
    const started = run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', `-c listen_addresses=127.0.0.1 -p ${candidate} -k ${dir} -c max_connections=200`, '-w', '-t', '60', 'start']);
    if (started.status === 0) port = candidate;
  }
  if (!port) throw new Error(`pg_ctl start failed: see ${join(dir, 'log')}`);
  process.on('exit', () => {
    run('pg_ctl', ['-D', data, '-m', 'fast', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });
  const psqlBin = join(BIN, 'psql');
  const psql = (database: string, sql: string) => {
    const result = run('psql', ['-h', dir, '-p', String(port), '-U', USER, '-d', database, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql]);
    if (result.status !== 0) throw new Error(`psql failed: ${result.stderr.trim()}`);
    return result.stdout.trim();
  };
  server = {
    createDatabase(name) {
      psql('postgres', `DROP DATABASE IF EXISTS ${name}`);
      psql('postgres', `CREATE DATABASE ${name}`);
      return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`;
    },
    psql,
    psqlArgv: (url, sql) => [psqlBin, url, '-X', '-At', '-c', sql],
  };
  return server;
}
