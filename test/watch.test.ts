import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ContainerState } from '../src/adapters/docker.js';
import { realAdapters } from '../src/core/context.js';
import { checkDocker, settled } from '../src/core/watch/sources/docker.js';
import { Ledger } from '../src/ledger/index.js';
import { testContext } from './helpers/context.js';
import { engineWithBaseImage } from './helpers/engine.js';
import { OPS_BIN } from './helpers/ops.js';
import { BACKENDS, freshLedger } from './helpers/postgres.js';
import { container, recorder, until, untilContainer, watchProject } from './helpers/watch.js';

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const conditionsOf = (report: any, service: string) =>
  report.sources.find((s: any) => s.service === service).signals.map((s: any) => s.condition).sort();

describe('ops watch: docker sources (real engine)', () => {
  it('inspects only containers the list does not show as settled', () => {
    const running = (status: string) => settled({ state: 'running', status });
    assert.deepEqual(
      ['Up 5 minutes', 'Up 2 hours (healthy)', 'Up About an hour', 'Up 3 days'].map(running),
      [true, true, true, true],
    );
    assert.deepEqual(
      ['Up 12 seconds', 'Up About a minute', 'Up Less than a second', 'Up 5 minutes (unhealthy)', 'Up 5 minutes (health: starting)', 'Up 5 minutes (Paused)'].map(running),
      [false, false, false, false, false, false],
    );
    assert.equal(settled({ state: 'restarting', status: 'Restarting (1) 2 seconds ago' }), false);
    assert.equal(settled({ state: 'exited', status: 'Exited (137) 5 minutes ago' }), false);
  });

  it('reads exit 137 under a memory limit as oom-killed when the engine did not flag it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-watch-oom-'));
    writeFileSync(join(dir, 'ops.config.yaml'), 'project: shop\nenvironments:\n  local: { target: docker }\n');
    const killed = (memoryLimit: number): ContainerState => ({
      id: 'c1', name: 'shop-api-local-r1', image: 'api:1', labels: {}, status: 'exited', running: false, exitCode: 137, oomKilled: false,
      restartCount: 0, error: '', startedAt: '2026-11-22T10:00:00Z', finishedAt: '2026-11-22T10:00:05Z', healthLogs: [], memoryLimit, hostPorts: {},
    });
    const listed = [{ id: 'c1', name: 'shop-api-local-r1', labels: { 'ops.service': 'api', 'ops.env': 'local' }, state: 'exited', status: 'Exited (137) 3 seconds ago', created: 0 }];
    const check = async (memoryLimit: number) => {
      const ctx = await testContext({ cwd: dir, ledger: join(dir, 'ledger.db'), adapters: { docker: { ...realAdapters.docker, inspectContainer: async () => killed(memoryLimit) } } });
      const { signals } = await checkDocker(ctx, 'api', 'local', async () => listed, undefined, Date.parse('2026-11-22T10:00:08Z'));
      return signals.map((s) => [s.condition, s.message]);
    };
    assert.deepEqual(await check(16 * 2 ** 20), [['oom-killed', 'shop-api-local-r1 was killed for using too much memory (exit code 137 under a 16 MiB limit; the engine did not flag OOMKilled)']]);
    assert.deepEqual(await check(0), [['exited', 'shop-api-local-r1 is not running (exited, exit code 137)']], 'without a limit, a SIGKILL is not read as memory');
  });

  it('opens one incident per failing container however many cycles run, and resolves each when fixed', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const project = `wt-${randomBytes(3).toString('hex')}`;
    const p = watchProject(
      t,
      [
        `project: ${project}`,
        'environments:',
        '  local: { target: docker }',
        'watch:',
        '  resolveAfter: 0s',
        '  sources:',
        ...['crash', 'sick', 'hog'].map((service) => `    - { type: docker, service: ${service}, env: local }`),
      ].join('\n'),
    );
    const crash = container(t, project, 'crash', ['--restart', 'always'], 'echo starting; exit 1');
    const sick = container(t, project, 'sick', ['--health-cmd', 'exit 1', '--health-interval', '1s', '--health-retries', '1'], 'sleep 3600');
    const hog = container(t, project, 'hog', ['--memory', '16m', '--memory-swap', '16m'], 'tail /dev/zero');
    await untilContainer(hog, 'killed for memory', (s) => s.OOMKilled || s.ExitCode === 137);
    await untilContainer(crash, 'restarted', (s) => s.RestartCount > 0);
    await untilContainer(sick, 'unhealthy', (s) => s.Health?.Status === 'unhealthy');

    let last: any;
    for (let cycle = 0; cycle < 3; cycle++) {
      const r = await p.ops(['watch', '--once']);
      assert.equal(r.code, 1, r.stderr);
      last = r.json;
      await sleep(700);
    }
    assert.deepEqual(conditionsOf(last, 'crash'), ['restarting']);
    assert.deepEqual(conditionsOf(last, 'sick'), ['unhealthy']);
    assert.deepEqual(conditionsOf(last, 'hog'), ['oom-killed']);
    const list = (await p.ops(['incident', 'list'])).json as any[];
    assert.equal(list.length, 3, JSON.stringify(list));
    const byService = Object.fromEntries(list.map((i) => [i.service, i]));
    assert.deepEqual(
      Object.fromEntries(Object.entries(byService).map(([s, i]: [string, any]) => [s, [i.condition, i.resource, i.state]])),
      { crash: ['restarting', crash, 'open'], sick: ['unhealthy', sick, 'open'], hog: ['oom-killed', hog, 'open'] },
    );
    assert.equal(byService.crash.signalCount, 3, 'each cycle counts on the open incident');
    const shown = (await p.ops(['incident', 'show', String(byService.hog.id)])).json;
    assert.match(shown.signals[0].message, /killed for using too much memory \(exit code 137/);

    // Fixed: each service gets a container that runs and stays healthy.
    for (const name of [crash, sick, hog]) docker('rm', '-f', name);
    for (const service of ['crash', 'sick', 'hog']) container(t, project, service, [], 'sleep 3600');
    const healed = await p.ops(['watch', '--once']);
    assert.equal(healed.code, 0, healed.stderr);
    assert.deepEqual(healed.json.resolved.map((i: any) => i.service).sort(), ['crash', 'hog', 'sick']);
    assert.deepEqual(healed.json.open, []);
    const again = await p.ops(['watch', '--once']);
    assert.equal(again.code, 0);
    assert.equal(((await p.ops(['incident', 'list'])).json as any[]).length, 3, 'no incident opened or reopened once healthy');
  });

  it('suspects what ran when the incident began: each service\'s live release first, never one replaced before', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const project = `sus-${randomBytes(3).toString('hex')}`;
    const p = watchProject(
      t,
      [
        `project: ${project}`,
        'services:',
        '  api: { image: registry.local/shop/api }',
        '  web: { image: registry.local/shop/web, dependsOn: [api] }',
        'environments:',
        '  local: { target: docker }',
        'watch:',
        '  correlationWindow: 1h',
        '  sources:',
        '    - { type: docker, service: web, env: local }',
      ].join('\n'),
    );
    // Three releases with a known answer: web r1 (20 min ago, unscored) replaced by web r2 (5 min ago,
    // scored low) before the incident; api r1 (15 min ago, unscored) still live.
    const ledger = Ledger.open(p.ledger);
    t.after(() => ledger.close());
    const release = async (service: string, minutesAgo: number, probability?: number) => {
      const at = Date.now() - minutesAgo * 60_000;
      const risk = probability === undefined ? ({ status: 'not scored', reason: 'test' } as const) : ({ status: 'scored', probability, level: 'low' } as const);
      const r = await ledger.releases.create(
        { runId: null, service, env: 'local', target: 'docker', image: `registry.local/shop/${service}:${minutesAgo}`, digest: null, configHash: 'x', gitSha: null, actor: 'test', description: '', rollbackTo: null, risk, riskScoreId: null },
        at - 1000,
      );
      return (await ledger.releases.finish(r.id, { status: 'deployed' }, at)).id;
    };
    const web1 = await release('web', 20);
    const api1 = await release('api', 15);
    const web2 = await release('web', 5, 0.05);
    const crashing = container(t, project, 'web', ['--restart', 'always'], 'exit 1');
    await untilContainer(crashing, 'restarted', (s) => s.RestartCount > 0);
    const watched = await p.ops(['watch', '--once']);
    assert.equal(watched.code, 1, watched.stderr);
    const shown = (await p.ops(['incident', 'show', String(watched.json.opened[0].id)])).json;
    assert.deepEqual(
      shown.suspects.map((s: any) => [s.rank, s.releaseId, s.risk]),
      [[1, web2, 0.05], [2, api1, null]],
      `web r2 (live, scored low) first, api r1 (the dependency's live release, unscored) second, web r1 (replaced before the incident, #${web1}) not at all`,
    );
    assert.ok(shown.suspects[0].score > shown.suspects[1].score);
  });

  it('records an unreachable engine as a source error, not an incident', async (t) => {
    const p = watchProject(
      t,
      ['project: unreachable', 'environments:', '  far: { target: docker, host: "tcp://127.0.0.1:1" }', 'watch:', '  sources:', '    - { type: docker, service: web, env: far }'].join('\n'),
    );
    const r = await p.ops(['watch', '--once']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.sources[0].ok, false);
    assert.match(r.json.sources[0].error, /ECONNREFUSED/);
    assert.match(r.stderr, /source docker:web\/far failed: .*ECONNREFUSED/);
    assert.deepEqual(r.json.open, []);
    const ledger = Ledger.open(p.ledger);
    t.after(() => ledger.close());
    const [status] = await ledger.incidents.sources();
    assert.deepEqual([status!.key, status!.errors, status!.okAt], ['docker:web/far', 1, null]);
    assert.equal((await ledger.incidents.list({ limit: 10 })).length, 0);
  });
});

for (const backend of BACKENDS) describe(`ops watch: http sources, incident lifecycle, notifications, correlation (${backend})`, () => {
  it('goes down after N failures, notifies with retries, names the suspect deploy, recovers, and links a recurrence', async (t) => {
    const target = await freshLedger(t, backend);
    if (!target) return;
    let status = 200;
    const app = await recorder(t, (_req, res) => {
      res.writeHead(status);
      res.end();
      return true;
    });
    const hook = await recorder(t);
    const p = watchProject(
      t,
      [
        'project: shop',
        'services:',
        '  api: { image: registry.local/shop/api }',
        '  web: { image: registry.local/shop/web, dependsOn: [api] }',
        'environments:',
        '  prod: { target: docker }',
        'watch:',
        '  resolveAfter: 0s',
        '  correlationWindow: 1h',
        `  notify: { webhook: "${hook.url}/services/T000/B000/SECRET", retries: 2, timeout: 2s }`,
        '  sources:',
        `    - { type: http, service: web, env: prod, url: "${app.url}/health", failures: 2 }`,
      ].join('\n'),
      { OPS_LEDGER: target },
    );
    // Releases in the ledger: web an hour and a half ago (outside the window), api 20 min ago, web 5 min ago (risky).
    const ledger = Ledger.open(p.ledger);
    t.after(() => ledger.close());
    const release = async (service: string, minutesAgo: number, probability?: number) => {
      const at = Date.now() - minutesAgo * 60_000;
      const r = await ledger.releases.create(
        { runId: null, service, env: 'prod', target: 'docker', image: `registry.local/shop/${service}:${minutesAgo}`, digest: null, configHash: 'x', gitSha: null, actor: 'test', description: '', rollbackTo: null, risk: probability === undefined ? { status: 'not scored', reason: 'test' } : { status: 'scored', probability, level: 'high' }, riskScoreId: null },
        at - 1000,
      );
      return (await ledger.releases.finish(r.id, { status: 'deployed' }, at)).id;
    };
    await release('web', 90);
    const api = await release('api', 20);
    const web = await release('web', 5, 0.9);

    assert.equal((await p.ops(['watch', '--once'])).code, 0);
    status = 503;
    hook.answers.push(500);
    const first = await p.ops(['watch', '--once']);
    assert.equal(first.code, 0, 'one failure is not yet down');
    assert.deepEqual(first.json.sources[0].signals, []);
    const second = await p.ops(['watch', '--once']);
    assert.equal(second.code, 1, second.stderr);
    assert.equal(second.json.opened.length, 1);
    const incident = second.json.opened[0];
    assert.equal(incident.condition, 'http-down');
    assert.match(second.json.sources[0].signals[0].message, /failed 2 checks in a row: status 503, expected 200/);

    const shown = (await p.ops(['incident', 'show', String(incident.id)])).json;
    assert.deepEqual(shown.suspects.map((s: any) => [s.rank, s.releaseId]), [[1, web], [2, api]], 'the recent risky web deploy first, its dependency second, the old one not at all');
    // The webhook failed once (500), then took it: two attempts, recorded as sent.
    assert.deepEqual(shown.notifications.map((n: any) => [n.event, n.status, n.attempts]), [['opened', 'sent', 2]]);
    assert.equal(hook.requests.length, 2);
    const payload = JSON.parse(hook.requests[1]!.body);
    assert.match(payload.text, new RegExp(`Incident #${incident.id} opened: web in prod: HTTP check failing`));
    assert.equal(payload.incident.id, incident.id);
    assert.doesNotMatch(JSON.stringify(shown), /SECRET/, 'the webhook path (its secret) is never stored');

    const acked = await p.ops(['incident', 'ack', String(incident.id)]);
    assert.equal(acked.code, 0, acked.stderr);
    assert.equal(acked.json.state, 'acknowledged');
    const twice = await p.ops(['incident', 'ack', String(incident.id)]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /^error: incident #\d+ is acknowledged, not open; it is already acknowledged\n$/);

    status = 200;
    const healed = await p.ops(['watch', '--once']);
    assert.equal(healed.code, 0, healed.stderr);
    assert.deepEqual(healed.json.resolved.map((i: any) => i.id), [incident.id]);

    // It fails again: a new incident, linked to the first as its recurrence.
    status = 500;
    await p.ops(['watch', '--once']);
    const recurred = await p.ops(['watch', '--once']);
    assert.equal(recurred.code, 1);
    assert.equal(recurred.json.opened[0].recurrenceOf, incident.id);
    assert.notEqual(recurred.json.opened[0].id, incident.id);

    const resolved = await p.ops(['incident', 'resolve', String(recurred.json.opened[0].id), '--cause', `release:${web}`, '--note', 'rolled back']);
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.equal(resolved.json.causeRelease, web);
    assert.match(resolved.json.cause, /^release \d+ \(web r\d+ in prod\)$/);
    const badCause = await p.ops(['incident', 'resolve', String(incident.id), '--cause', 'release:9999']);
    assert.equal(badCause.code, 1, 'a release that is not recorded is not found: exit 1');
    assert.deepEqual(hook.requests.map((r) => JSON.parse(r.body).incident.event), ['opened', 'opened', 'acknowledged', 'resolved', 'opened', 'resolved']);
    const list = (await p.ops(['incident', 'list', '--state', 'resolved'])).json as any[];
    assert.equal(list.length, 2);
  });

  it('waits for minCount signals, and a dead webhook is recorded without stopping detection', async (t) => {
    const target = await freshLedger(t, backend);
    if (!target) return;
    const app = await recorder(t, (_req, res) => {
      res.writeHead(500);
      res.end();
      return true;
    });
    const hook = await recorder(t);
    await hook.close();
    const p = watchProject(
      t,
      [
        'project: shop',
        'watch:',
        `  notify: { webhook: "${hook.url}/hook", retries: 1, timeout: 1s }`,
        '  sources:',
        `    - { type: http, service: web, env: prod, url: "${app.url}/", failures: 1, minCount: 3 }`,
      ].join('\n'),
      { OPS_LEDGER: target },
    );
    assert.equal((await p.ops(['watch', '--once'])).code, 0);
    assert.equal((await p.ops(['watch', '--once'])).code, 0);
    const third = await p.ops(['watch', '--once']);
    assert.equal(third.code, 1);
    assert.equal(third.json.opened.length, 1);
    assert.equal(third.json.opened[0].signalCount, 3);
    assert.match(third.stderr, /notification of incident #1 opened failed after 2 attempt\(s\): ECONNREFUSED/);
    const shown = (await p.ops(['incident', 'show', '1'])).json;
    assert.deepEqual(shown.notifications.map((n: any) => [n.status, n.attempts, n.error]), [['failed', 2, 'ECONNREFUSED']]);
  });

  it('counts a slow answer as a failure, and gives up on a webhook that does not answer within its timeout', async (t) => {
    const target = await freshLedger(t, backend);
    if (!target) return;
    const app = await recorder(t, (_req, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.end();
      }, 400);
      return true;
    });
    const hanging = await recorder(t, () => true);
    const p = watchProject(
      t,
      [
        'project: shop',
        'watch:',
        `  notify: { webhook: "${hanging.url}/hook", retries: 0, timeout: 300ms }`,
        '  sources:',
        `    - { type: http, service: web, env: prod, url: "${app.url}/", failures: 1, latencyMs: 150 }`,
      ].join('\n'),
      { OPS_LEDGER: target },
    );
    const r = await p.ops(['watch', '--once']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.json.sources[0].signals[0].message, /failed 1 checks in a row: answered in \d+ ms, over 150 ms/);
    const shown = (await p.ops(['incident', 'show', String(r.json.opened[0].id)])).json;
    assert.deepEqual(shown.notifications.map((n: any) => [n.status, n.attempts, n.error]), [['failed', 1, 'no answer within 300 ms']]);
  });

  it('runs continuously: opens only after `for`, resolves after `resolveAfter` of health, stops cleanly on SIGTERM', async (t) => {
    const target = await freshLedger(t, backend);
    if (!target) return;
    let status = 500;
    const app = await recorder(t, (_req, res) => {
      res.writeHead(status);
      res.end();
      return true;
    });
    const p = watchProject(
      t,
      ['project: shop', 'watch:', '  interval: 200ms', '  resolveAfter: 1500ms', '  sources:', `    - { type: http, service: web, env: prod, url: "${app.url}/", failures: 1, for: 1s }`].join('\n'),
      { OPS_LEDGER: target },
    );
    const child = spawn(process.execPath, [OPS_BIN, 'watch'], { cwd: p.dir, env: p.env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    t.after(() => void child.kill('SIGKILL'));
    const ledger = Ledger.open(p.ledger);
    t.after(() => ledger.close());
    const watchSaid = () => `the incident; ops watch said:\n${stderr}`;
    const opened = await until(watchSaid, async () => (await ledger.incidents.list({ limit: 5 }))[0], 10_000);
    assert.ok(opened.openedAt - opened.beganAt >= 1000, `opened ${opened.openedAt - opened.beganAt} ms after the first signal`);
    const [signal] = await ledger.incidents.signalsOf(opened.id);
    assert.ok(signal!.count >= 5, `signals counted while waiting: ${signal!.count}`);
    status = 200;
    const resolved = await until(watchSaid, async () => {
      const found = (await ledger.incidents.get(opened.id))!;
      return found.state === 'resolved' ? found : undefined;
    }, 10_000);
    const cleared = (await ledger.incidents.signalsOf(opened.id))[0]!.clearedAt!;
    assert.ok(resolved.resolvedAt! - cleared >= 1500, `resolved ${resolved.resolvedAt! - cleared} ms after the signal cleared`);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /SIGTERM: stopping after the current cycle[\s\S]*stopped\n$/);
    assert.equal((await ledger.incidents.list({ limit: 5 })).length, 1);
  });

});

describe('ops watch: input', () => {
  it('rejects bad input with one error line and changes nothing', async (t) => {
    const p = watchProject(t, ['project: shop', 'watch:', '  sources:', '    - { type: http, service: Web, env: prod, url: "not a url" }'].join('\n'));
    const bad = await p.ops(['watch', '--once']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^error: ops\.config\.yaml:4: watch\.sources\[0\]\.service: expected a lowercase name/);
    p.writeConfig(['project: shop', 'watch:', '  sources: []'].join('\n'));
    const none = await p.ops(['watch', '--once']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no watch sources configured; add watch\.sources/);
    const state = await p.ops(['incident', 'list', '--state', 'closed']);
    assert.equal(state.code, 2);
    assert.match(state.stderr, /unknown incident state "closed"; use one of open, acknowledged, resolved, unresolved/);
    const missing = await p.ops(['incident', 'show', '7']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: no incident #7; list them with `ops incident list`\n$/);
  });
});
