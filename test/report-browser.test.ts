import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { atPath, chromium, drawnCanvases, pageFigures, screenshot, watchProblems } from './helpers/browser.js';
import { deployProject, HEALTHY_DOCKERFILE, LATE_CRASH_DOCKERFILE, UNHEALTHY_DOCKERFILE, type DeployProject } from './helpers/deploy.js';
import { engineWithBaseImage } from './helpers/engine.js';
import { growHistory } from './helpers/history.js';
import { startUi } from './helpers/ui.js';
import { until } from './helpers/watch.js';

/**
 * The loop for real on the docker target: a scorer trained (v1), r1, r2 that crashes after going
 * live, an incident watch opens, triage, its rollback applied (r3), r4 that fails its health check,
 * r5 healthy, the scorer retrained on the outcomes (v2).
 */
async function scenario(p: DeployProject): Promise<void> {
  const ok = (what: string, r: { code: number | null; stderr: string }, code = 0) => assert.equal(r.code, code, `${what}: ${r.stderr}`);
  const config = readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8');
  p.commit(
    {
      'ops.config.yaml': [
        config,
        'risk:',
        '  warn: 0.01',
        '  block: 1',
        'watch:',
        '  resolveAfter: 10m',
        '  sources:',
        '    - { type: docker, service: web, env: local }',
        '',
      ].join('\n'),
    },
    'risk and watch settings',
  );
  growHistory(p, 40);
  ok('risk train v1', await p.ops(['risk', 'train', '--promote', 'production', '--reason', 'first scorer']));
  await p.release('first');
  ok('deploy r1', await p.ops(['deploy', 'web', '--env', 'local']));
  p.commit({ 'web/www/about.html': 'about\n' }, 'an about page');
  await p.release('second', LATE_CRASH_DOCKERFILE);
  ok('deploy r2', await p.ops(['deploy', 'web', '--env', 'local', '--accept-risk', 'test: known risky']));
  const watched = await until('watch to open an incident', async () => {
    const r = await p.ops(['watch', '--once']);
    return r.code === 1 && r.json?.opened?.length ? r : undefined;
  }, 40_000);
  const incident = watched.json.opened[0].id;
  ok('triage', await p.ops(['triage', String(incident)]));
  ok('apply the rollback', await p.ops(['triage', String(incident), '--apply', '1', '--yes']));
  await p.release('third', UNHEALTHY_DOCKERFILE);
  ok('deploy r4 fails its health check', await p.ops(['deploy', 'web', '--env', 'local', '--accept-risk', 'test: unhealthy on purpose']), 1);
  await p.release('fourth', HEALTHY_DOCKERFILE);
  ok('deploy r5', await p.ops(['deploy', 'web', '--env', 'local', '--accept-risk', 'test: healthy again']));
  ok('risk train v2', await p.ops(['risk', 'train', '--promote', 'production', '--reason', 'after the incident']));
}

/** Open a page; it must load with no console error and no failed request, and draw every chart it has. */
async function openPage(page: Page, url: string, name: string): Promise<{ canvases: number }> {
  const problems = watchProblems(page);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => document.documentElement.hasAttribute('data-charts-drawn'));
  const { canvases, drawn } = await drawnCanvases(page);
  assert.equal(drawn, canvases, `${name}: every chart has pixels drawn`);
  assert.equal(Number(await page.getAttribute('html', 'data-charts-drawn')), (await page.$$('[data-chart]')).length, `${name}: every chart element was drawn`);
  await screenshot(page, name);
  assert.deepEqual(problems, { console: [], failed: [] }, `${name}: no console errors, no failed requests`);
  page.removeAllListeners();
  return { canvases };
}

/** Every figure the page marks equals the same path of `ops metrics --json`. */
async function assertFiguresMatch(page: Page, metrics: unknown, name: string): Promise<number> {
  const figures = await pageFigures(page);
  for (const { path, value } of figures) assert.equal(value, atPath(metrics, path), `${name}: ${path}`);
  return figures.length;
}

describe('ops report and ops ui in a real browser (docker target, Debian chromium)', () => {
  it('the report and every UI page load clean, draw their charts and show the figures of ops metrics --json', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const browser = await chromium(t);
    if (!browser) return;
    const p = await deployProject(t, { environments: '    production: true' });
    await scenario(p);

    const since = new Date(Date.now() - 86_400_000).toISOString();
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const window = ['--since', since, '--until', until];
    const measured = await p.ops(['metrics', ...window]);
    assert.equal(measured.code, 0, measured.stderr);
    const metrics = measured.json;
    const k = metrics.keys;
    assert.deepEqual(metrics.environments, ['local'], 'the environment marked production: true');
    assert.equal(k.deploymentFrequency.deployments, 3, 'r1, r2 and r5 went live; r3 is a rollback, r4 failed');
    assert.deepEqual([k.changeFailureRate.failed, k.changeFailureRate.releases], [2, 4], 'r2 (rolled back and the cause, counted once) and r4');
    assert.ok(k.leadTime.changes >= 2, `r2 and r5 carried commits: ${JSON.stringify(k.leadTime)}`);
    assert.equal(k.timeToRestore.restored, 2, 'the incident, and r4 to r5');
    assert.equal(metrics.risk.scored, 4, JSON.stringify(metrics.risk));

    // The report: one file, no network.
    const out = join(p.dir, 'report.html');
    const written = await p.ops(['report', ...window, '--out', out]);
    assert.equal(written.code, 0, written.stderr);
    assert.deepEqual(written.json.metrics.keys, k);
    const html = readFileSync(out, 'utf8');
    assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=["']?https?:/i, 'nothing is fetched from the network');
    const page = await browser.newPage();
    const report = await openPage(page, `file://${out}`, 'report');
    assert.ok(report.canvases >= 7, `four key charts, timeline, restore, calibration, the model: ${report.canvases}`);
    assert.ok((await assertFiguresMatch(page, metrics, 'report')) > 60);
    const cards = await page.$$eval('.card .value', (els) => els.map((e) => e.textContent!.trim()));
    assert.equal(cards.length, 4);
    assert.match(cards[0]!, /^\d+\.\d\d\/week$/);
    // Anchors navigate within the one file.
    const anchor = await page.$eval('a[href^="#incident-"]', (a) => a.getAttribute('href')!);
    await page.click(`a[href="${anchor}"]`);
    assert.ok(page.url().endsWith(anchor), page.url());

    // Readable without JavaScript: the tables carry every figure.
    const noScript = await browser.newPage();
    await noScript.setContent(html.replace(/<script(?![^>]*application\/json)[\s\S]*?<\/script>/g, ''));
    assert.equal(await noScript.$$eval('canvas', (c) => c.length), 0);
    assert.ok((await assertFiguresMatch(noScript, metrics, 'report without JavaScript')) > 60);
    await noScript.close();

    // The UI on the live ledger: the overview, then a page of each kind, reached by its links.
    const ui = await startUi(t, window, { cwd: p.dir, env: p.env });
    const overview = await openPage(page, `${ui.origin}/`, 'ui-overview');
    assert.ok(overview.canvases >= 7);
    await assertFiguresMatch(page, metrics, 'ui overview');
    const api = await (await fetch(`${ui.origin}/api/metrics`)).json();
    assert.deepEqual(api.keys, k, 'the UI serves the same metrics');

    const follow = async (selector: string, name: string, expect: RegExp) => {
      const href = await page.$eval(selector, (a) => a.getAttribute('href')!);
      await Promise.all([page.waitForURL((u) => u.pathname === href.split('?')[0]), page.click(selector)]);
      assert.match(page.url(), expect);
      await openPage(page, page.url(), name);
    };
    await follow('a[href^="/releases/"]', 'ui-release', /\/releases\/\d+$/);
    assert.match((await page.textContent('main'))!, /build #\d+/, 'a release links its build');
    assert.match((await page.textContent('main'))!, /risk-scorer v\d/, 'and its risk score, by the version that computed it');
    await page.goto(`${ui.origin}/`);
    await follow('a[href^="/incidents/"]', 'ui-incident', /\/incidents\/\d+$/);
    assert.ok(await page.$('a[href^="/releases/"]'), 'an incident links its suspects');
    assert.match((await page.textContent('main'))!, /bad deploy of r2/, 'and shows its triage');
    await follow('a[href^="/releases/"]', 'ui-suspect', /\/releases\/\d+$/);
    await page.goto(`${ui.origin}/`);
    await follow('a[href^="/models/"]', 'ui-model-version', /\/models\/risk-scorer\/\d+$/);
    assert.match((await page.textContent('main'))!, /sha256:/, 'a model version names its dataset');
    await follow('a[href^="/runs/"]', 'ui-run', /\/runs\/\d+$/);
    assert.match((await page.textContent('main'))!, /risk-scorer v\d/, 'the run links the version it registered');

    // Another ops process writes; the open page reloads itself with the change, no restart.
    await page.goto(`${ui.origin}/`);
    await openPage(page, `${ui.origin}/`, 'ui-overview');
    const moved = await p.ops(['model', 'promote', 'risk-scorer@1', '--to', 'staging', '--reason', 'ui refresh test']);
    assert.equal(moved.code, 0, moved.stderr);
    await page.waitForFunction(() => document.body.textContent!.includes('ui refresh test'), undefined, { timeout: 20_000 });

    // No write endpoints.
    const post = await fetch(`${ui.origin}/`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');

    // It answers while another process holds the ledger's write lock: reads never wait for a writer.
    const writer = new Database(join(p.dir, '.ops', 'ledger.db'));
    writer.pragma('busy_timeout = 1000');
    writer.exec('BEGIN IMMEDIATE');
    try {
      writer.prepare(`UPDATE runs SET heartbeat_at = heartbeat_at WHERE id = 1`).run();
      for (const path of ['/', '/releases/1', '/incidents/1', '/runs/1', '/models/risk-scorer/1']) {
        const answer = await fetch(`${ui.origin}${path}`, { signal: AbortSignal.timeout(20_000) });
        assert.equal(answer.status, 200, `${path} while the ledger is locked for writing`);
      }
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('ops ui beyond localhost refuses a request without the printed token', async (t) => {
    const p = await deployProject(t, { environments: '    production: true' });
    const ui = await startUi(t, ['--host', '0.0.0.0'], { cwd: p.dir, env: p.env });
    const printed = new URL(ui.url);
    const token = printed.searchParams.get('token');
    assert.match(token ?? '', /^[A-Za-z0-9_-]{32}$/, ui.url);
    const local = `http://127.0.0.1:${printed.port}`;
    for (const path of ['/', '/api/metrics', '/releases/1', '/api/version']) {
      const refused = await fetch(`${local}${path}`);
      assert.equal(refused.status, 401, path);
      assert.match(await refused.text(), /needs its token/);
    }
    assert.equal((await fetch(`${local}/api/version`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${local}/api/version`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const signIn = await fetch(`${local}/?token=${token}`, { redirect: 'manual' });
    assert.equal(signIn.status, 303);
    const cookie = signIn.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly; SameSite=Strict/);
    const page = await fetch(`${local}/`, { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /The four keys/);
  });
});
