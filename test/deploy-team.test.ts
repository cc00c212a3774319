// Deploy locks across machines on one ledger: two hosts (their own HOME, checkout and OPS_HOST)
// deploying one service/env never both proceed, on both backends; on PostgreSQL a caller whose
// clock is 10 minutes off (faketime) neither steals a live lock nor fails to take a dead one,
// because heartbeat ages are measured on the database's clock.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { deployProject } from './helpers/deploy.js';
import { engineWithBaseImage } from './helpers/engine.js';
import { cleanEnv, OPS_BIN, runOpsJson, runProcess } from './helpers/ops.js';
import { BACKENDS, freshLedger, postgresServer, type Backend } from './helpers/postgres.js';

interface Host {
  name: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  ops(args: string[]): ReturnType<typeof runOpsJson>;
  /** `ops` under faketime: this host's clock `offset` off (e.g. '+10m'). */
  skewed(offset: string, args: string[]): ReturnType<typeof runProcess>;
}

function host(name: string, cwd: string, ledger: string): Host {
  const env = cleanEnv({ HOME: mkdtempSync(join(tmpdir(), `ops-${name}-home-`)), OPS_LEDGER: ledger, OPS_HOST: name });
  return {
    name,
    cwd,
    env,
    ops: (args) => runOpsJson(args, { cwd, env, timeoutMs: 180_000 }),
    skewed: (offset, args) => runProcess('faketime', ['-f', offset, process.execPath, OPS_BIN, ...args], { cwd, env, timeoutMs: 180_000 }),
  };
}

/** A project built once, and two hosts with their own checkout of it on one ledger. */
async function twoHosts(t: TestContext, backend: Backend) {
  if (!(await engineWithBaseImage(t))) return undefined;
  const ledger = await freshLedger(t, backend);
  if (!ledger) return undefined;
  const p = await deployProject(t);
  const clone = mkdtempSync(join(tmpdir(), 'ops-runner-b-'));
  execFileSync('git', ['clone', '-q', p.dir, clone]);
  const a = host('runner-a', p.dir, ledger);
  const b = host('runner-b', clone, ledger);
  const built = await a.ops(['build']);
  assert.equal(built.code, 0, built.stderr);
  return { p, ledger, a, b };
}

for (const backend of BACKENDS) {
  describe(`deploy locks across hosts (${backend})`, () => {
    it('two hosts deploying one service and env never both proceed', async (t) => {
      const hosts = await twoHosts(t, backend);
      if (!hosts) return;
      const { a, b } = hosts;
      let proceeded = 0;
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all([a.ops(['deploy', 'web', '--env', 'local']), b.ops(['deploy', 'web', '--env', 'local'])]);
        for (const r of results) {
          if (r.code === 0) proceeded++;
          else {
            assert.equal(r.code, 1, r.stderr);
            assert.match(r.stderr, /error: another deploy holds deploy:web:local: pid \d+ on runner-[ab] \(run \d+\), held for \d+ s/);
          }
        }
      }
      assert.ok(proceeded >= 3, 'at least one deploy a round proceeded');
      const history = (await b.ops(['deploy', 'history', 'web', '--env', 'local', '--limit', '20'])).json as Array<{ createdAt: string; finishedAt: string | null }>;
      assert.equal(history.length, proceeded, 'a release for each deploy that proceeded, none for one that was refused');
      // No two deploys ran at once: each release finished before the next began.
      const spans = history.map((r) => [Date.parse(r.createdAt), Date.parse(r.finishedAt!)] as const).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1]![1] <= spans[i]![0], `release ${i} began before release ${i - 1} finished: ${JSON.stringify(spans)}`);
    });
  });
}

describe('deploy locks on the database clock (postgres)', () => {
  it('a host whose clock is 10 minutes off neither steals a live lock nor fails to take a dead one', async (t) => {
    const hosts = await twoHosts(t, 'postgres');
    if (!hosts) return;
    const { ledger, b } = hosts;
    const server = await postgresServer();
    assert.ok(typeof server !== 'string');
    const database = new URL(ledger).pathname.slice(1);
    const nowMs = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;
    const holdFor = (heartbeatAgoMs: number) =>
      server.psql(database, `INSERT INTO locks (name, owner_pid, owner_host, run_id, acquired_at, heartbeat_at) VALUES ('deploy:web:local', 4242, 'runner-a', NULL, ${nowMs} - ${heartbeatAgoMs}, ${nowMs} - ${heartbeatAgoMs})
        ON CONFLICT (name) DO UPDATE SET owner_pid = excluded.owner_pid, owner_host = excluded.owner_host, heartbeat_at = excluded.heartbeat_at, acquired_at = excluded.acquired_at`);

    // runner-a's deploy is alive (heartbeat just now); runner-b's clock runs 10 minutes ahead.
    holdFor(0);
    const ahead = await b.skewed('+10m', ['deploy', 'web', '--env', 'local']);
    assert.equal(ahead.code, 1, ahead.stderr);
    assert.match(ahead.stderr, /error: another deploy holds deploy:web:local: pid 4242 on runner-a, held for \d s/, 'its 10 minutes ahead do not make a live heartbeat look stale');

    // runner-a died 5 minutes ago (by the database's clock); runner-b's clock runs 10 minutes behind.
    holdFor(5 * 60_000);
    const behind = await b.skewed('-10m', ['deploy', 'web', '--env', 'local']);
    assert.equal(behind.code, 0, behind.stderr);
    const age = /warning: took over lock deploy:web:local from pid 4242 on runner-a.*: its heartbeat is (\d+) s old/.exec(behind.stderr);
    assert.ok(age, behind.stderr);
    assert.ok(Number(age[1]) >= 300 && Number(age[1]) < 400, `the heartbeat's age on the database clock (${age[1]} s), not the caller's`);
  });
});
