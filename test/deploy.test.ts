import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspectContainer, listContainers } from '../src/adapters/docker.js';
import { Ledger } from '../src/ledger/index.js';
import { deployProject, UNHEALTHY_DOCKERFILE, type DeployJson } from './helpers/deploy.js';
import { engineWithBaseImage } from './helpers/engine.js';
import { OPS_BIN, runOps } from './helpers/ops.js';

async function page(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
  return (await response.text()).trim();
}

/** The single-line error format: `error: <what>; <fix>`. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
}

describe('ops deploy (docker target, real engine)', () => {
  it('deploys healthy, keeps the old revision serving through a failed health check, rolls back, and records the history', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const p = await deployProject(t);
    const first = await p.release('first');

    const r1 = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(r1.code, 0, r1.stderr);
    const d1 = r1.json as DeployJson;
    assert.equal(d1.status, 'deployed');
    assert.equal(d1.revision, 1);
    assert.equal(d1.image, first);
    assert.deepEqual(d1.risk, { status: 'not scored', reason: 'no risk-scorer version holds the alias "production"' });
    assert.equal(await page(p.port), 'first');
    const [running] = await listContainers({}, process.env, { 'ops.project': p.project });
    assert.deepEqual(
      { service: running!.labels['ops.service'], env: running!.labels['ops.env'], revision: running!.labels['ops.revision'] },
      { service: 'web', env: 'local', revision: '1' },
    );

    const second = await p.release('second');
    const r2 = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(await page(p.port), 'second');

    // A revision whose health check fails: the running one must answer every request meanwhile.
    const broken = await p.release('broken', UNHEALTHY_DOCKERFILE);
    const answers: string[] = [];
    let deploying = true;
    const probing = (async () => {
      while (deploying) {
        answers.push(await page(p.port).catch((err: Error) => `failed: ${err.message}`));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const r3 = await p.ops(['deploy', 'web', '--env', 'local']);
    deploying = false;
    await probing;
    assert.equal(r3.code, 1, r3.stderr);
    assert.equal((r3.json as DeployJson).status, 'failed');
    assert.match(r3.stderr, /web r3 to local failed: .*HEALTHCHECK reports unhealthy: health: database unreachable/);
    assert.match(r3.stderr, /last log lines:\n {2}(web starting\n {2}error: cannot reach db:5432|error: cannot reach db:5432\n {2}web starting)/);
    assert.ok(answers.length > 5, `probed ${answers.length} times`);
    assert.deepEqual([...new Set(answers)], ['second'], 'the old revision answered every request');
    const left = await listContainers({}, process.env, { 'ops.project': p.project });
    assert.deepEqual(left.map((c) => c.labels['ops.revision']), ['2'], 'the failed container is removed, the old one kept');
    assert.notEqual((await inspectContainer({}, process.env, left[0]!.id))!.image, broken);

    const back = await p.ops(['deploy', 'rollback', 'web', '--env', 'local', '--to', '1']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal((back.json as DeployJson).description, 'rollback to 1');
    assert.equal((back.json as DeployJson).image, first);
    assert.equal(await page(p.port), 'first');

    const history = await p.ops(['deploy', 'history', 'web', '--env', 'local']);
    assert.equal(history.code, 0, history.stderr);
    assert.deepEqual(
      (history.json as DeployJson[]).map((r) => [r.revision, r.status, r.image]),
      [
        [4, 'deployed', first],
        [3, 'failed', broken],
        [2, 'rolled_back', second],
        [1, 'superseded', first],
      ],
    );
    const status = await p.ops(['deploy', 'status', '--env', 'local']);
    assert.equal(status.code, 0, status.stderr);
    const [live] = status.json as Array<{ release: { revision: number }; live: { state: string; health: string; revision: number } }>;
    assert.deepEqual([live!.release.revision, live!.live.revision, live!.live.state, live!.live.health], [4, 4, 'running', 'healthy']);
  });

  it('probes health.http, passes env, resources and an init to the container; a deploy stopped by SIGINT leaves no pending release', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const settings = (path: string, timeout: string) =>
      ['    stopTimeout: 2s', '    env:', '      GREETING: hello', '    resources:', '      memory: 64m', '    health:', `      timeout: ${timeout}`, '      http:', `        path: ${path}`, '        port: 8080'].join('\n');
    const p = await deployProject(t, { service: settings('/health', '30s') });
    await p.release('first');
    const ok = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((ok.json as DeployJson).message, `http://127.0.0.1:${p.port}/health answered 200`);
    const [container] = await listContainers({}, process.env, { 'ops.project': p.project });
    const inspected = JSON.parse(execFileSync('docker', ['inspect', container!.id], { encoding: 'utf8' }))[0];
    assert.ok(inspected.Config.Env.includes('GREETING=hello'));
    assert.equal(inspected.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(inspected.HostConfig.Init, true);
    assert.equal(inspected.Config.StopTimeout, 2);

    p.commit({ 'ops.config.yaml': readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8').replace(settings('/health', '30s'), settings('/missing', '3s')) }, 'wrong probe');
    await p.release('second');
    const wrong = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /failed: not healthy within 3 s \(http:\/\/127\.0\.0\.1:\d+\/missing answered 404, expected 200\)/);
    assert.equal(await page(p.port), 'first', 'the running revision is untouched');

    // Interrupted while waiting for health: exit 130, and the next deploy settles what was left.
    const child = spawn(process.execPath, [OPS_BIN, 'deploy', 'web', '--env', 'local'], { cwd: p.dir, env: p.env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (/waiting for .* to be healthy/.test(stderr) && child.exitCode === null) child.kill('SIGINT');
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    const pending = await p.ops(['deploy', 'history', 'web', '--env', 'local']);
    assert.equal((pending.json as DeployJson[])[0]!.status, 'pending');
    p.commit({ 'ops.config.yaml': readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8').replace(settings('/missing', '3s'), settings('/health', '30s')) }, 'right probe');
    const next = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /warning: marked 1 release\(s\) of web in local failed: their deploy stopped before it finished/);
    const history = await p.ops(['deploy', 'history', 'web', '--env', 'local']);
    assert.deepEqual((history.json as DeployJson[]).map((r) => [r.revision, r.status]), [[4, 'deployed'], [3, 'failed'], [2, 'failed'], [1, 'superseded']]);
    assert.deepEqual((await listContainers({}, process.env, { 'ops.project': p.project })).map((c) => c.labels['ops.revision']), ['4'], 'the interrupted deploy\'s container was cleaned up');
  });

  it('lets exactly one of two simultaneous deploys proceed, naming the holder to the other', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const p = await deployProject(t);
    await p.release('first');
    const start = () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [OPS_BIN, 'deploy', 'web', '--env', 'local'], { cwd: p.dir, env: p.env });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const results = await Promise.all([start(), start()]);
    const codes = results.map((r) => r.code).sort();
    assert.deepEqual(codes, [0, 1], results.map((r) => r.stderr).join('\n---\n'));
    const loser = results.find((r) => r.code === 1)!;
    assert.match(loser.stderr, new RegExp(`error: another deploy holds deploy:web:local: pid \\d+ on ${hostname()} \\(run \\d+\\)`));
    assert.match(loser.stderr, /--lock-timeout/);
    const history = await p.ops(['deploy', 'history', 'web', '--env', 'local']);
    assert.equal((history.json as DeployJson[]).length, 1, 'only one release was recorded');
  });

  it('takes over a lock left by a killed process or a stale heartbeat, and waits up to --lock-timeout for a live one', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const p = await deployProject(t);
    await p.release('first');
    const ledger = Ledger.open(join(p.dir, '.ops', 'ledger.db'));
    t.after(() => ledger.close());
    const hold = (pid: number, host: string, heartbeatAgoMs: number) =>
      ledger.sqlite!
        .prepare(`INSERT OR REPLACE INTO locks (name, owner_pid, owner_host, run_id, acquired_at, heartbeat_at) VALUES ('deploy:web:local', ?, ?, NULL, ?, ?)`)
        .run(pid, host, Date.now() - heartbeatAgoMs, Date.now() - heartbeatAgoMs);

    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('close', r));
    hold(dead.pid!, hostname(), 0);
    const took = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(took.code, 0, took.stderr);
    assert.match(took.stderr, new RegExp(`warning: took over lock deploy:web:local from pid ${dead.pid} on ${hostname()}.*: process ${dead.pid} on ${hostname()} is gone`));

    hold(4242, 'another-ci-runner', 5 * 60_000);
    const stale = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(stale.code, 0, stale.stderr);
    // The age is the machine's: a loaded one reads the heartbeat a second or more later.
    const age = /took over lock deploy:web:local from pid 4242 on another-ci-runner.*heartbeat is (\d+) s old/.exec(stale.stderr);
    assert.ok(age, stale.stderr);
    assert.ok(Number(age[1]) >= 300, `a heartbeat written 300 s ago reads ${age[1]} s old`);

    // A live holder (this test process): refused at once by default, after the wait with --lock-timeout.
    hold(process.pid, hostname(), 0);
    const refused = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(refused.code, 1);
    assertOneLineError(refused.stderr, new RegExp(`another deploy holds deploy:web:local: pid ${process.pid} on ${hostname()}`));
    const started = Date.now();
    const waited = await runOps(['deploy', 'web', '--env', 'local', '--lock-timeout', '1500ms'], { cwd: p.dir, env: p.env });
    assert.equal(waited.code, 1);
    assert.ok(Date.now() - started >= 1500, 'waited for the lock');
    assert.match(waited.stderr, /waiting for lock deploy:web:local/);
    assert.equal((await ledger.locks.holder('deploy:web:local'))!.pid, process.pid, 'the live holder keeps its lock');
  });

  it('rejects bad input (exit 2) and what is not recorded (exit 1) before touching anything', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const p = await deployProject(t);
    const cases: Array<[string[], RegExp, number]> = [
      [['deploy', 'web', '--env', 'nope'], /unknown environment "nope"; use one of: local/, 2],
      [['deploy', 'api', '--env', 'local'], /unknown service "api"; use one of: web/, 2],
      [['deploy', 'web', '--env', 'local', '--image', 'busybox:1;touch /tmp/ops-pwned'], /"busybox:1;touch \/tmp\/ops-pwned" is not a valid image reference/, 2],
      [['deploy', 'web', '--env', 'local', '--image', '$(id)'], /not a valid image reference/, 2],
      [['deploy', 'web', '--env', 'local'], /no build of web in the ledger; run `ops build web`/, 1],
      [['deploy', 'web'], /--env is required/, 2],
      [['deploy', 'rollback', 'web', '--env', 'local'], /web has no deployed release in local/, 1],
    ];
    for (const [args, pattern, code] of cases) {
      const result = await runOps(args, { cwd: p.dir, env: p.env });
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assertOneLineError(result.stderr, pattern);
    }
    const image = await p.release('first');
    const dry = await p.ops(['deploy', 'web', '--env', 'local', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual([(dry.json as { image: string }).image, (dry.json as { target: string }).target, (dry.json as { current: null }).current], [image, 'docker', null]);
    const ledger = Ledger.open(join(p.dir, '.ops', 'ledger.db'));
    t.after(() => ledger.close());
    assert.equal((ledger.sqlite!.prepare(`SELECT count(*) AS n FROM releases`).get() as { n: number }).n, 0);
    assert.equal((ledger.sqlite!.prepare(`SELECT count(*) AS n FROM runs WHERE kind = 'deploy'`).get() as { n: number }).n, 0);
    assert.deepEqual(await listContainers({}, process.env, { 'ops.project': p.project }), []);
  });
});
