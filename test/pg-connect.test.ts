// Connecting to a PostgreSQL ledger by libpq's rules, against a real server that takes TLS: the
// password from the URL, PGPASSWORD or ~/.pgpass and never shown or stored; sslmode; doctor's
// facts; one line with the fix for each way a connection fails, and no hang.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { SCHEMA_VERSION } from '../src/ledger/index.js';
import { cleanEnv, runOps, runOpsJson, type OpsResult } from './helpers/ops.js';
import { postgresServer, type PostgresServer } from './helpers/postgres.js';

const ROLE = 'team_writer';
const ROLE_PASSWORD = 'Rq7-team-ledger-pw-31e9';

let server: PostgresServer | undefined;
let skipped: string | undefined;
let database = '';

before(async () => {
  const started = await postgresServer({ tls: true });
  if (typeof started === 'string') {
    if (process.env.CI && process.env.CI !== 'false') throw new Error(`no PostgreSQL: ${started}`);
    skipped = started;
    process.stderr.write(`SKIPPED (no PostgreSQL): ${started}\n`);
    return;
  }
  server = started;
  database = `team_${process.pid}`;
  server.psql('postgres', `CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}'`);
  server.psql('postgres', `CREATE DATABASE ${database} OWNER ${ROLE}`);
});

/** A "machine": its own HOME and cwd. */
function machine(): { home: string; cwd: string; env: (extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(tmpdir(), 'ops-pg-home-'));
  const cwd = mkdtempSync(join(tmpdir(), 'ops-pg-cwd-'));
  return { home, cwd, env: (extra = {}) => cleanEnv({ HOME: home, PGPASSWORD: undefined, PGPASSFILE: undefined, ...extra }) };
}

const withoutPassword = (query = '') => `postgres://${ROLE}@127.0.0.1:${server!.port}/${database}${query}`;

/** The error lines of a failed command: exactly one, which says what to do. */
function oneErrorLine(result: OpsResult): string {
  const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(lines.length, 1, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, `nothing but the error line: ${result.stderr}`);
  return lines[0]!;
}

describe('PostgreSQL connections', () => {
  it('takes the password from the URL, PGPASSWORD or ~/.pgpass, and never prints, logs or stores it', async (t) => {
    if (skipped) return t.skip(skipped);
    const outputs: string[] = [];
    const record = <R extends OpsResult>(r: R): R => (outputs.push(r.stdout, r.stderr), r);

    const viaUrl = machine();
    const url = `postgres://${ROLE}:${encodeURIComponent(ROLE_PASSWORD)}@127.0.0.1:${server!.port}/${database}`;
    const a = record(await runOps(['exec', '--ledger', url, '--', 'sh', '-c', 'echo from-url'], { cwd: viaUrl.cwd, env: viaUrl.env() }));
    assert.equal(a.code, 0, a.stderr);

    const viaEnv = machine();
    const b = record(await runOps(['exec', '--ledger', withoutPassword(), '--', 'sh', '-c', 'echo from-env "$PGPASSWORD"'], { cwd: viaEnv.cwd, env: viaEnv.env({ PGPASSWORD: ROLE_PASSWORD }) }));
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /from-env \[REDACTED\]/, 'a command that echoes PGPASSWORD shows it redacted');

    const viaFile = machine();
    writeFileSync(join(viaFile.home, '.pgpass'), `# team ledger\nother.host:5432:*:${ROLE}:wrong\n127.0.0.1:${server!.port}:${database}:${ROLE}:${ROLE_PASSWORD.replace(/:/g, '\\:')}\n`, { mode: 0o600 });
    const c = record(await runOps(['exec', '--ledger', withoutPassword(), '--', 'sh', '-c', `cat ${join(viaFile.home, '.pgpass')}`], { cwd: viaFile.cwd, env: viaFile.env() }));
    assert.equal(c.code, 0, c.stderr);
    assert.doesNotMatch(c.stdout, new RegExp(ROLE_PASSWORD), 'the password read from ~/.pgpass is redacted from what the command prints');

    chmodSync(join(viaFile.home, '.pgpass'), 0o644);
    const d = record(await runOps(['runs', 'list', '--ledger', withoutPassword()], { cwd: viaFile.cwd, env: viaFile.env() }));
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stderr, /password file .*\.pgpass is readable by group or others, so it is ignored .*chmod 0600/);
    assert.match(d.stderr, /asks for a password, and none was given.*PGPASSWORD/);

    const list = record(await runOpsJson(['runs', 'list', '--ledger', url, '--verbose'], { cwd: viaUrl.cwd, env: viaUrl.env() }));
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.json.length, 3);
    const doctor = record(await runOpsJson(['doctor', '--ledger', url], { cwd: viaUrl.cwd, env: viaUrl.env() }));
    assert.match(JSON.stringify(doctor.json), new RegExp(`postgres://${ROLE}:(\\*\\*\\*|\\[REDACTED\\])@`));

    for (const text of outputs) assert.doesNotMatch(text, new RegExp(ROLE_PASSWORD), 'no output holds the password');
    const dump = spawnSync('/usr/lib/postgresql/15/bin/pg_dump', ['--data-only', '-d', url], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    assert.match(dump.stdout, /echo from-url/, 'the dump holds the recorded runs');
    assert.doesNotMatch(dump.stdout, new RegExp(ROLE_PASSWORD), 'nothing stored holds the password');
  });

  it('honours sslmode, and doctor shows the server version, TLS, the schema version and the round trip', async (t) => {
    if (skipped) return t.skip(skipped);
    const m = machine();
    const doctor = async (query: string) => {
      const result = await runOpsJson(['doctor', '--ledger', withoutPassword(query)], { cwd: m.cwd, env: m.env({ PGPASSWORD: ROLE_PASSWORD }) });
      return { result, ledger: (result.json?.checks as Array<{ name: string; ok: boolean; detail: string; fix?: string }> | undefined)?.find((c) => c.name === 'ledger') };
    };
    const prefer = await doctor('');
    assert.equal(prefer.ledger?.ok, true, prefer.result.stdout + prefer.result.stderr);
    assert.match(prefer.ledger!.detail, new RegExp(`\\(PostgreSQL 15\\.\\d+, TLS on \\(TLSv1\\.[23]\\), schema ${SCHEMA_VERSION}/${SCHEMA_VERSION}, round trip \\d+\\.\\d ms\\)$`));
    const plain = await doctor('?sslmode=disable');
    assert.match(plain.ledger!.detail, /TLS off \(sslmode disable\)/);
    const verified = await doctor(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(server!.caFile!)}`);
    assert.match(verified.ledger!.detail, /TLS on/, verified.ledger!.detail);

    const unverifiable = await doctor('?sslmode=verify-full');
    assert.equal(unverifiable.ledger?.ok, false);
    assert.match(unverifiable.ledger!.detail, /sslmode=verify-full .* needs the server's CA certificate/);
    const strangers = mkdtempSync(join(tmpdir(), 'ops-pg-ca-'));
    const otherCa = join(strangers, 'other.crt');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(strangers, 'k'), '-out', otherCa, '-days', '1', '-subj', '/CN=another CA'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const wrongCa = await runOps(['runs', 'list', '--ledger', withoutPassword(`?sslmode=verify-ca&sslrootcert=${encodeURIComponent(otherCa)}`)], { cwd: m.cwd, env: m.env({ PGPASSWORD: ROLE_PASSWORD }) });
    assert.equal(wrongCa.code, 2);
    assert.match(oneErrorLine(wrongCa), /TLS certificate of PostgreSQL ledger .* failed verification.*sslrootcert=<file>/);
  });

  it('says in one line, with the fix, what is wrong: bad URL, wrong password, missing database, server down, no answer', async (t) => {
    if (skipped) return t.skip(skipped);
    const m = machine();
    const ops = (ledger: string, env: NodeJS.ProcessEnv = {}) => runOps(['runs', 'list', '--ledger', ledger], { cwd: m.cwd, env: m.env(env), timeoutMs: 60_000 });

    const badPort = await ops(`postgres://${ROLE}@127.0.0.1:99999/${database}`);
    assert.equal(badPort.code, 2);
    assert.match(oneErrorLine(badPort), /is not a PostgreSQL URL ops can use: .*; write it as postgres:\/\/user@host\[:port\]\/database.*PGPASSWORD/);
    const typo = await ops(withoutPassword('?sslmod=require'));
    assert.equal(typo.code, 2);
    assert.match(oneErrorLine(typo), /unknown parameter "sslmod" \(known: host, port.*sslmode/);

    const wrong = await ops(`postgres://${ROLE}:not-the-password-8d2@127.0.0.1:${server!.port}/${database}`);
    assert.equal(wrong.code, 2);
    const wrongLine = oneErrorLine(wrong);
    assert.match(wrongLine, /refused the login: password authentication failed for user "team_writer"; check the user and password \(in the URL, PGPASSWORD or ~\/\.pgpass\)/);
    assert.doesNotMatch(wrongLine, /not-the-password/, 'a wrong password is not echoed either');

    const missing = await ops(`postgres://${ROLE}@127.0.0.1:${server!.port}/no_such_ledger`, { PGPASSWORD: ROLE_PASSWORD });
    assert.equal(missing.code, 2);
    assert.match(oneErrorLine(missing), /database "no_such_ledger" does not exist; create it \(createdb <name>\)/);

    // Nothing listens on a port just freed: the server is down.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const down = await ops(`postgres://${ROLE}@127.0.0.1:${closed}/${database}`, { PGPASSWORD: ROLE_PASSWORD });
    assert.equal(down.code, 1);
    assert.match(oneErrorLine(down), /cannot reach PostgreSQL ledger .*ECONNREFUSED.*; check that the server is running/);

    // A server that takes the connection and never answers: the connect timeout ends it.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const started = performance.now();
    const hung = await ops(`postgres://${ROLE}@127.0.0.1:${port}/${database}?connect_timeout=2`, { PGPASSWORD: ROLE_PASSWORD });
    const elapsedS = (performance.now() - started) / 1000;
    assert.equal(hung.code, 1, hung.stderr);
    assert.match(oneErrorLine(hung), /PostgreSQL ledger .* did not answer within 2 s; check that the server is running .*connect_timeout=<seconds>/);
    assert.ok(elapsedS < 30, `ended by the connect timeout, not hung (${elapsedS.toFixed(1)} s)`);
  });
});
