// Faults of a PostgreSQL ledger against the real server: restarted while `ops watch` runs (it holds
// what it read, retries with backoff, logs one line for the outage, loses no signal), and a
// connection killed in the middle of a transaction (nothing of it is written).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { Ledger } from '../src/ledger/index.js';
import { OPS_BIN } from './helpers/ops.js';
import { freshLedger, postgresServer, type PostgresServer } from './helpers/postgres.js';
import { recorder, until, watchProject } from './helpers/watch.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `ops watch` against the PostgreSQL ledger `url`, checking `health` every `interval`; its stderr is collected. */
function startWatch(t: TestContext, url: string, health: string, interval: string) {
  const p = watchProject(t, ['project: shop', 'watch:', `  interval: ${interval}`, '  sources:', `    - { type: http, service: web, env: prod, url: "${health}", failures: 1 }`].join('\n'), { OPS_LEDGER: url });
  const child = spawn(process.execPath, [OPS_BIN, 'watch'], { cwd: p.dir, env: p.env });
  const watch = { child, stderr: '', exited: new Promise<number | null>((resolve) => child.on('exit', resolve)), said: () => `ops watch said:\n${watch.stderr}` };
  child.stderr.setEncoding('utf8').on('data', (d: string) => (watch.stderr += d));
  t.after(() => void child.kill('SIGKILL'));
  return watch;
}

/** A count from the ledger: 0 while ops has not migrated it yet. */
function countOf(server: PostgresServer, database: string, sql: string): number {
  try {
    return Number(server.psql(database, sql));
  } catch {
    return 0;
  }
}

describe('PostgreSQL ledger faults', () => {
  it('a server restarted during ops watch: the read signal is held and written once it is back, one line for the outage', async (t) => {
    const url = await freshLedger(t, 'postgres');
    if (!url) return;
    const server = await postgresServer();
    assert.ok(typeof server !== 'string');
    const database = new URL(url).pathname.slice(1);
    let mode: 'healthy' | 'hold' | 'down' = 'healthy';
    let held: ServerResponse | undefined;
    const app = await recorder(t, (_req, res) => {
      if (mode === 'hold' && !held) {
        held = res;
        return true;
      }
      res.writeHead(mode === 'healthy' ? 200 : 503);
      res.end();
      return true;
    });
    const watch = startWatch(t, url, `${app.url}/health`, '300ms');
    const { child, exited, said } = watch;
    const checks = () => countOf(server, database, `SELECT count(*) FROM watch_sources WHERE ok_at IS NOT NULL`);
    await until(said, () => (checks() > 0 ? true : undefined), 30_000);

    // The next check waits on the app; meanwhile the server goes down; then the app answers 503.
    mode = 'hold';
    await until(said, () => held, 30_000);
    server.ctl('stop');
    const readAt = Date.now();
    held!.writeHead(503);
    held!.end();
    mode = 'down';
    await until(said, () => (/cannot reach PostgreSQL ledger/.test(watch.stderr) ? true : undefined), 30_000);
    await sleep(3500);
    assert.equal(child.exitCode, null, `ops watch keeps running while the ledger is down\n${watch.stderr}`);
    const restartedAt = Date.now();
    server.ctl('start');

    const incident = await until(said, () => {
      const row = server.psql(database, `SELECT id || ',' || began_at FROM incidents ORDER BY id LIMIT 1`);
      return row ? row.split(',').map(Number) : undefined;
    }, 60_000);
    assert.ok(incident[1]! >= readAt - 1000 && incident[1]! < restartedAt, `the incident began with the signal read during the outage (${incident[1]}), not after the restart (${restartedAt})`);
    await until(said, () => (/ledger reachable again after/.test(watch.stderr) ? true : undefined), 30_000);
    const outage = watch.stderr.split('\n').filter((l) => /cannot reach PostgreSQL ledger/.test(l));
    assert.equal(outage.length, 1, `one line for the outage:\n${watch.stderr}`);
    assert.match(outage[0]!, /warning: cannot reach PostgreSQL ledger postgres:\/\/ops:(\*\*\*|\[REDACTED\])@127\.0\.0\.1:\d+\/\w+: .*; holding what 1 source\(s\) said until it answers, retrying with backoff \(at most every 30 s\)$/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, watch.stderr);
    assert.equal(Number(server.psql(database, `SELECT count(*) FROM incidents`)), 1);
  });

  it('pg_ctl restart twice while ops watch counts failures: every check it made is counted once, an outage line only with its recovery line', async (t) => {
    const url = await freshLedger(t, 'postgres');
    if (!url) return;
    const server = await postgresServer();
    assert.ok(typeof server !== 'string');
    const database = new URL(url).pathname.slice(1);
    let failing = true;
    let served = 0;
    let hold = false;
    let held: ServerResponse | undefined;
    const app = await recorder(t, (_req, res) => {
      if (hold && !held) {
        held = res;
        return true;
      }
      if (failing) served++;
      res.writeHead(failing ? 503 : 200);
      res.end();
      return true;
    });
    const watch = startWatch(t, url, `${app.url}/health`, '200ms');
    const { child, exited, said } = watch;
    const counted = () => countOf(server, database, `SELECT coalesce(sum(count), 0) FROM incident_signals`);
    await until(said, () => (counted() >= 3 ? true : undefined), 30_000);

    // First restart while a check waits on the app: its connection is gone when the 503 comes back.
    hold = true;
    await until(said, () => held, 30_000);
    server.ctl('restart');
    served++;
    held!.writeHead(503);
    held!.end();
    hold = false;
    const before = counted();
    await until(said, () => (counted() >= before + 3 ? true : undefined), 30_000);
    // Second restart in the middle of the loop's checks and writes.
    server.ctl('restart');
    const again = counted();
    await until(said, () => (counted() >= again + 3 ? true : undefined), 30_000);

    // A healthy check clears the signal; cycles are written in order, so every failure before it is in.
    failing = false;
    await until(said, () => (server.psql(database, `SELECT count(*) FROM incident_signals WHERE cleared_at IS NOT NULL`) === '1' ? true : undefined), 30_000);
    assert.equal(counted(), served, `every 503 the app served is one counted signal\n${watch.stderr}`);
    assert.equal(Number(server.psql(database, `SELECT signal_count FROM incidents`)), served, 'and one on the incident');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, watch.stderr);
    const outages = watch.stderr.split('\n').filter((l) => /cannot reach PostgreSQL ledger/.test(l)).length;
    const recoveries = watch.stderr.split('\n').filter((l) => /ledger reachable again after/.test(l)).length;
    assert.ok(outages <= 2 && outages === recoveries, `at most one line per restart, each with its recovery:\n${watch.stderr}`);
    assert.doesNotMatch(watch.stderr, /MaxListenersExceeded/, 'cycles leave no listeners behind');
    assert.equal(Number(server.psql(database, `SELECT count(*) FROM incidents`)), 1);
  });

  it('a connection killed in the middle of a transaction leaves nothing of it written', async (t) => {
    const url = await freshLedger(t, 'postgres');
    if (!url) return;
    const server = await postgresServer();
    assert.ok(typeof server !== 'string');
    const database = new URL(url).pathname.slice(1);
    const ledger = Ledger.open(url);
    t.after(() => ledger.close());
    const run = { kind: 'exec', actor: 'tester', host: 'host-a', pid: 4242, ci: false, argv: ['exec', 'true'] };
    await assert.rejects(
      ledger.transaction(async () => {
        const id = await ledger.runs.insert(run, 1000);
        await ledger.runs.appendLog(id, 'stdout', 'half of it\n', 1001);
        const { pid } = (await ledger.db.get<{ pid: number }>(`SELECT pg_backend_pid() AS pid`))!;
        server.psql(database, `SELECT pg_terminate_backend(${pid})`);
        await ledger.runs.finish(id, { status: 'succeeded', exitCode: 0 }, 2000);
      }),
      /cannot reach PostgreSQL ledger .*(terminat|Connection)/,
    );
    assert.equal(server.psql(database, `SELECT (SELECT count(*) FROM runs) || ',' || (SELECT count(*) FROM run_logs)`), '0,0', 'nothing half-written');
    // The ledger goes on with a new connection.
    const id = await ledger.runs.insert(run, 3000);
    assert.equal((await ledger.runs.get(id))!.status, 'running');
  });
});
