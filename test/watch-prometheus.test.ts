import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ledger } from '../src/ledger/index.js';
import { freePort } from './helpers/deploy.js';
import { startAlertmanager, startPrometheus } from './helpers/monitoring.js';
import { listen, recorder, until, watchProject } from './helpers/watch.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ops watch: prometheus sources (Debian prometheus scraping a test exporter)', () => {
  it('opens an incident when a query passes its threshold, and another when anomaly mode sees the jump', async (t) => {
    let depth = 5;
    const exporter = await recorder(t, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(`# TYPE ops_test_queue_depth gauge\nops_test_queue_depth ${depth + Math.random()}\n`);
      return true;
    });
    const prometheus = await startPrometheus(t, [exporter.url.replace('http://', '')]);
    if (!prometheus) return;
    const p = watchProject(
      t,
      [
        'project: shop',
        'watch:',
        '  resolveAfter: 0s',
        '  sources:',
        `    - { type: prometheus, service: queue, env: prod, url: "${prometheus.url}", query: ops_test_queue_depth, threshold: 50 }`,
        `    - { type: prometheus, service: queue-trend, env: prod, url: "${prometheus.url}", query: ops_test_queue_depth, anomaly: true, window: 2m, step: 1s }`,
        `    - { type: prometheus, service: typo, env: prod, url: "${prometheus.url}", query: "sum(", threshold: 1 }`,
      ].join('\n'),
    );
    const value = async () => {
      const answer = (await (await fetch(`${prometheus.url}/api/v1/query?query=ops_test_queue_depth`)).json()) as any;
      return answer.data.result[0] ? Number(answer.data.result[0].value[1]) : undefined;
    };
    await until('the first scrapes', value);
    await sleep(15_000);
    const calm = await p.ops(['watch', '--once']);
    assert.equal(calm.code, 0, calm.stderr);
    assert.deepEqual(calm.json.sources.map((s: any) => [s.service, s.ok, s.signals.length]), [['queue', true, 0], ['queue-trend', true, 0], ['typo', false, 0]]);
    assert.match(calm.json.sources[2].error, /Prometheus|HTTP 400/);

    depth = 500;
    await until('the jump to be scraped', async () => ((await value())! > 100 ? true : undefined));
    const jumped = await p.ops(['watch', '--once']);
    assert.equal(jumped.code, 1, jumped.stderr);
    const bySource = Object.fromEntries(jumped.json.sources.map((s: any) => [s.service, s.signals]));
    assert.equal(bySource.queue[0].condition, 'threshold');
    assert.match(bySource.queue[0].message, /ops_test_queue_depth is 50\d\.\d+ for ops_test_queue_depth\{instance="127\.0\.0\.1:\d+",job="exporter"\}, above 50/);
    assert.equal(bySource['queue-trend'][0].condition, 'anomaly');
    assert.ok(bySource['queue-trend'][0].details.score >= 0.5);
    assert.deepEqual(jumped.json.opened.map((i: any) => [i.service, i.condition]).sort(), [['queue', 'threshold'], ['queue-trend', 'anomaly']]);
  });
});

describe('ops watch --listen: Alertmanager webhooks (Debian prometheus-alertmanager)', () => {
  it('opens an incident for a firing alert and resolves it when Alertmanager says resolved; refuses bad and oversized bodies', async (t) => {
    const port = await freePort();
    const p = watchProject(t, ['project: shop', 'watch:', '  sources: []'].join('\n'));
    const receiver = await listen(t, p, `127.0.0.1:${port}`);
    const alertmanager = await startAlertmanager(t, `http://127.0.0.1:${port}/alerts`);
    if (!alertmanager) return;

    // Bad input first: nothing may be stored.
    const post = (body: string) => fetch(`http://127.0.0.1:${port}/alerts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const notJson = await post('{"version": "4", ');
    assert.equal(notJson.status, 400);
    assert.deepEqual(await notJson.json(), { error: 'the body is not JSON' });
    const wrongShape = await post(JSON.stringify({ version: '4', status: 'firing', receiver: 'x', groupKey: 'g', alerts: [{ status: 'firing', labels: { service: 'web' }, startsAt: 'now' }] }));
    assert.equal(wrongShape.status, 400);
    assert.match(((await wrongShape.json()) as any).error, /^not an Alertmanager v4 payload: alerts\.0\.labels: an alert needs an alertname label$/);
    const oldVersion = await post(JSON.stringify({ version: '3', status: 'firing', receiver: 'x', groupKey: 'g', alerts: [] }));
    assert.equal(oldVersion.status, 400);
    const huge = await post(JSON.stringify({ version: '4', padding: 'x'.repeat(2 * 1024 * 1024) }));
    assert.equal(huge.status, 413);
    const wrongMethod = await fetch(`http://127.0.0.1:${port}/alerts`);
    assert.equal(wrongMethod.status, 405);
    const ledger = Ledger.open(p.ledger);
    t.after(() => ledger.close());
    assert.equal((await ledger.incidents.list({ limit: 10 })).length, 0);

    const alert = { labels: { alertname: 'HighErrorRate', service: 'web', env: 'prod', severity: 'critical' }, annotations: { summary: '5xx above 5% for 10 minutes' } };
    const send = (endsAt: Date) => fetch(`${alertmanager.url}/api/v2/alerts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify([{ ...alert, startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: endsAt.toISOString() }]) });
    assert.equal((await send(new Date(Date.now() + 3_600_000))).status, 200);
    const opened = await until('the firing webhook', async () => (await ledger.incidents.list({ limit: 10 }))[0]);
    assert.deepEqual([opened.service, opened.env, opened.condition, opened.severity, opened.state], ['web', 'prod', 'HighErrorRate', 'critical', 'open']);
    const [signal] = await ledger.incidents.signalsOf(opened.id);
    assert.equal(signal!.message, '5xx above 5% for 10 minutes');

    assert.equal((await send(new Date(Date.now() - 1000))).status, 200);
    const resolved = await until('the resolved webhook', async () => {
      const found = (await ledger.incidents.get(opened.id))!;
      return found.state === 'resolved' ? found : undefined;
    });
    assert.equal(resolved.resolvedBy, 'alertmanager');
    assert.equal((await ledger.incidents.list({ limit: 10 })).length, 1, 'the firing alert repeated by Alertmanager updates, never duplicates');

    const stopped = await receiver.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /SIGTERM: stopping after the current cycle[\s\S]*stopped/);
  });
});
