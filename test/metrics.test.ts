import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { recordChanges } from '../src/core/deploy/changes.js';
import { BANDS, buckets, percentile } from '../src/core/metrics/keys.js';
import type { Ledger, NewRelease, Release } from '../src/ledger/index.js';
import { testContext } from './helpers/context.js';
import { gitRepo } from './helpers/git.js';
import { cleanEnv, runOps, runOpsJson } from './helpers/ops.js';

const H = 3_600_000;
const D = 24 * H;
/** A Monday: the window is two ISO weeks from here. */
const T0 = Date.parse('2026-03-02T00:00:00Z');
const at = (days: number, hours = 0) => T0 + days * D + hours * H;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The fixture, by hand (times from T0; web and api in prod, web also in staging):
 *   commits on main: c0 -20d, c1 +1d, c2 +1d 6h, c3 +2d, c4 +4d, c5 +6d (never released); c6 on a branch (never released)
 *   R1 web r1 c0  finished -10d      deployed (the baseline: no changes)
 *   R8 api r1 c0  finished -5d       deployed (baseline)
 *   R2 web r2 c2  finished +1d 12h   deployed       carries c1 (12h), c2 (6h)         risk 0.2
 *   R3 web r3 c3  finished +3d       failed         (not live: carries nothing live)  risk 0.9
 *   R4 web r4 c3  finished +3d 2h    deployed       carries c3 (26h); R3 restored in 2h risk 0.3
 *   R5 web r5 c4  finished +5d       rolled back by R6 and the cause of incident 1: one failure
 *                                                   carries c4 (24h)                   risk 0.6
 *   R6 web r6 (rollback to r4) +5d 3h  deployed     a rollback: no deployment, no change
 *   R7 web r1 in staging +2d         deployed       another environment: not counted
 *   R9 api r2 c4  finished +7d       deployed       carries c1..c4 (144h, 138h, 120h, 72h)  risk 0.1
 *   incident 1 web/prod began +5d 1h, resolved +5d 4h (3h), cause R5
 *   incident 2 web/prod began +8d, resolved +8d 30m (0.5h); incident 3 began +9d, open
 *
 * Window [T0, T0+14d), previous [T0-14d, T0):
 *   change releases R2 R3 R4 R5 R9 (5); went live R2 R4 R5 R9: 4 deployments = 2/week, 0.2857/day (high)
 *   failed R3, R5: 2 of 5 = 40% (medium)
 *   lead times (h) 6 12 24 26 72 120 138 144: median (26+72)/2 = 49h (high), p90 138 + 0.3 * 6 = 139.8h
 *   restores (h) 0.5 (incident 2), 2 (R3 to R4), 3 (incident 1; R5 is not counted again): median 2h (high),
 *     p90 2 + 0.8 * 1 = 2.8h; 1 not restored (incident 3)
 *   previous window: R1, R8 live: 1/week; 0% failures; no lead times, no restores
 */
async function fixture(ledger: Ledger, repo: ReturnType<typeof gitRepo>, record: (r: Release) => Promise<number>) {
  const commit = (name: string, ms: number) => repo.commit({ [`${name}.txt`]: `${name}\n` }, name, { date: iso(ms) });
  const c0 = commit('c0', at(-20));
  const c1 = commit('c1', at(1));
  const c2 = commit('c2', at(1, 6));
  const c3 = commit('c3', at(2));
  const c4 = commit('c4', at(4));
  commit('c5', at(6));
  repo.git('checkout', '-q', '-b', 'side', c2);
  commit('c6', at(3));
  repo.git('checkout', '-q', 'main');

  const score = (probability: number, ms: number) =>
    ledger.risk.recordScore({ service: 'web', env: 'prod', commitRange: 'x', probability, level: 'low', reasons: [], modelVersionId: null, details: {} }, null, ms);
  const release = async (
    service: string,
    env: string,
    sha: string,
    finishedAt: number,
    outcome: { status: 'deployed' | 'failed'; error?: string; risk?: number; rollbackTo?: number },
  ): Promise<Release> => {
    const riskScoreId = outcome.risk === undefined ? null : await score(outcome.risk, finishedAt - 60_000);
    const entry: NewRelease = {
      runId: null,
      service,
      env,
      target: 'docker',
      image: `${service}:${sha.slice(0, 7)}`,
      digest: null,
      configHash: 'h',
      gitSha: sha,
      actor: 'ada',
      description: outcome.rollbackTo ? `rollback to ${outcome.rollbackTo}` : 'upgrade',
      rollbackTo: outcome.rollbackTo ?? null,
      risk: outcome.risk === undefined ? { status: 'not scored' } : { status: 'scored', probability: outcome.risk, scoreId: riskScoreId! },
      riskScoreId,
    };
    const created = await ledger.releases.create(entry, finishedAt - 10 * 60_000);
    await record(created);
    return ledger.releases.finish(
      created.id,
      { status: outcome.status, error: outcome.error, replacedAs: outcome.rollbackTo ? 'rolled_back' : 'superseded' },
      finishedAt,
    );
  };
  const incident = async (began: number, resolved: number | null, causeRelease: number | null) => {
    const signal = await ledger.incidents.recordSignal(
      { fingerprint: `f${began}`, source: 'docker', service: 'web', env: 'prod', condition: 'restarting', resource: 'web-1', severity: 'critical', message: 'restarting', details: null },
      began,
    );
    const { incident: opened } = await ledger.incidents.create({ signal, title: 'web restarting', recurrenceOf: null }, began);
    if (resolved !== null) await ledger.incidents.resolve(opened.id, { by: 'ada', causeRelease }, resolved);
    return opened;
  };

  const r1 = await release('web', 'prod', c0, at(-10), { status: 'deployed' });
  await release('api', 'prod', c0, at(-5), { status: 'deployed' });
  const r2 = await release('web', 'prod', c2, at(1, 12), { status: 'deployed', risk: 0.2 });
  const r3 = await release('web', 'prod', c3, at(3), { status: 'failed', error: 'unhealthy', risk: 0.9 });
  const r4 = await release('web', 'prod', c3, at(3, 2), { status: 'deployed', risk: 0.3 });
  const r5 = await release('web', 'prod', c4, at(5), { status: 'deployed', risk: 0.6 });
  const r6 = await release('web', 'prod', c3, at(5, 3), { status: 'deployed', rollbackTo: 4 });
  await release('web', 'staging', c2, at(2), { status: 'deployed' });
  const r9 = await release('api', 'prod', c4, at(7), { status: 'deployed', risk: 0.1 });
  await incident(at(5, 1), at(5, 4), r5.id);
  await incident(at(8), at(8, 0.5), null);
  await incident(at(9), null, null);
  return { r1, r2, r3, r4, r5, r6, r9, c1, c2, c3, c4 };
}

describe('ops metrics: the four keys', () => {
  it('a fixture ledger gives exactly the figures computed by hand', async (t) => {
    const repo = gitRepo('ops-metrics-');
    const dir = mkdtempSync(join(tmpdir(), 'ops-metrics-ledger-'));
    t.after(() => {
      repo.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });
    const ledgerFile = join(dir, 'ledger.db');
    const ctx = await testContext({ cwd: repo.dir, ledger: ledgerFile });
    const ledger = ctx.ledger();
    const f = await fixture(ledger, repo, (r) => recordChanges(ctx, r));
    // What each release carried first to its service and environment (the first one is the baseline).
    const carried = async (id: number) => (await ledger.metrics.changesOf(id)).map((c) => c.sha).sort();
    assert.deepEqual(await carried(f.r1.id), []);
    assert.deepEqual(await carried(f.r2.id), [f.c1, f.c2].sort());
    assert.deepEqual(await carried(f.r3.id), [f.c3], 'a failed release records what it tried to carry');
    assert.deepEqual(await carried(f.r4.id), [f.c3], 'the failed release never went live: its commit is new again');
    assert.deepEqual(await carried(f.r5.id), [f.c4]);
    assert.deepEqual(await carried(f.r6.id), [], 'a rollback carries no change');
    assert.deepEqual(await carried(f.r9.id), [f.c1, f.c2, f.c3, f.c4].sort());
    ctx.ledger().close();

    const args = ['metrics', '--ledger', ledgerFile, '--since', iso(T0), '--until', iso(at(14)), '--by', 'week'];
    const { code, stderr, json: m } = await runOpsJson(args, { cwd: repo.dir, env: cleanEnv() });
    assert.equal(code, 0, stderr);
    assert.deepEqual(m.environments, ['prod'], 'the environment named like prod, staging left out');
    assert.deepEqual(m.window, { since: iso(T0), until: iso(at(14)), days: 14, by: 'week' });
    assert.deepEqual(m.previousWindow, { since: iso(at(-14)), until: iso(T0) });

    const k = m.keys;
    assert.deepEqual(k.deploymentFrequency, {
      deployments: 4,
      perDay: 4 / 14,
      perWeek: 2,
      band: 'high',
      trend: { previous: 2 / 14, change: 4 / 14 - 2 / 14, direction: 'better' },
    });
    assert.deepEqual(k.leadTime, { changes: 8, medianMs: 49 * H, p90Ms: 139 * H + 48 * 60_000, band: 'high', trend: { previous: null, change: null, direction: null } });
    assert.deepEqual(k.changeFailureRate, { releases: 5, failed: 2, rate: 0.4, band: 'medium', trend: { previous: 0, change: 0.4, direction: 'worse' } });
    assert.equal(k.timeToRestore.p90Ms, 2 * H + 48 * 60_000);
    assert.deepEqual(k.timeToRestore, { restored: 3, unrestored: 1, medianMs: 2 * H, p90Ms: 2 * H + 48 * 60_000, band: 'high', trend: { previous: null, change: null, direction: null } });

    const groups = Object.fromEntries(m.groups.map((g: { service: string; env: string; keys: any }) => [`${g.service}/${g.env}`, g.keys]));
    assert.deepEqual(Object.keys(groups), ['api/prod', 'web/prod']);
    assert.deepEqual(
      [groups['web/prod'].deploymentFrequency.deployments, groups['web/prod'].changeFailureRate.rate, groups['web/prod'].leadTime.medianMs, groups['web/prod'].timeToRestore.medianMs],
      [3, 0.5, 18 * H, 2 * H],
    );
    assert.deepEqual(
      [groups['api/prod'].deploymentFrequency.deployments, groups['api/prod'].changeFailureRate.rate, groups['api/prod'].leadTime.medianMs, groups['api/prod'].timeToRestore.medianMs],
      [1, 0, 129 * H, null],
    );

    assert.deepEqual(m.series, [
      { since: iso(T0), until: iso(at(7)), deployments: 3, leadTimeMedianMs: 18 * H, changeFailureRate: 0.5, timeToRestoreMedianMs: 2.5 * H },
      { since: iso(at(7)), until: iso(at(14)), deployments: 1, leadTimeMedianMs: 129 * H, changeFailureRate: 0, timeToRestoreMedianMs: 0.5 * H },
    ]);

    // Risk: failures R3 (0.9) and R5 (0.6) above every healthy release (0.1, 0.2, 0.3).
    assert.equal(m.risk.scored, 5);
    assert.equal(m.risk.failures, 2);
    assert.equal(m.risk.auc, 1);
    assert.deepEqual(m.risk.thresholds, [
      { name: 'warn', threshold: 0.5, atOrAbove: 2, failuresCaught: 2, precision: 1, recall: 1 },
      { name: 'block', threshold: 0.8, atOrAbove: 1, failuresCaught: 1, precision: 1, recall: 0.5 },
    ]);
    assert.deepEqual(
      m.risk.calibration.map((b: { releases: number; failures: number }) => [b.releases, b.failures]),
      [[0, 0], [1, 0], [1, 0], [1, 0], [0, 0], [0, 0], [1, 1], [0, 0], [0, 0], [1, 1]],
    );

    const alias = await runOpsJson(['dora', ...args.slice(1)], { cwd: repo.dir, env: cleanEnv() });
    assert.deepEqual(alias.json, m, '`ops dora` is `ops metrics`');

    const staging = await runOpsJson([...args, '--env', 'staging'], { cwd: repo.dir, env: cleanEnv() });
    assert.equal(staging.json.keys.deploymentFrequency.deployments, 1);
    assert.equal(staging.json.keys.leadTime.changes, 0, "staging's first release is its baseline");

    const web = await runOpsJson([...args, '--service', 'web'], { cwd: repo.dir, env: cleanEnv() });
    assert.equal(web.json.keys.deploymentFrequency.deployments, 3);

    const table = await runOps(args, { cwd: repo.dir, env: cleanEnv() });
    assert.match(table.stdout, /deployment frequency\s+2\.00\/week \(4 deployments\)\s+high/);
    assert.match(table.stdout, /change failure rate\s+40\.0% \(2 of 5\)\s+medium/);
  });

  it('refuses unclear input with exit 2 and the fix', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-metrics-empty-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const ledger = join(dir, 'ledger.db');
    const none = await runOpsJson(['metrics', '--ledger', ledger], { cwd: dir });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no production environment.*pass --env <env>, or set environments\.<env>\.production: true/);
    const by = await runOpsJson(['metrics', '--ledger', ledger, '--env', 'prod', '--by', 'month'], { cwd: dir });
    assert.equal(by.code, 2);
    assert.match(by.stderr, /--by "month" is not day or week/);
    const order = await runOpsJson(['metrics', '--ledger', ledger, '--env', 'prod', '--since', '2026-02-01', '--until', '2026-01-01'], { cwd: dir });
    assert.equal(order.code, 2);
    assert.match(order.stderr, /--since .* is not before --until/);
    const until = await runOpsJson(['metrics', '--ledger', ledger, '--env', 'prod', '--until', 'soon'], { cwd: dir });
    assert.equal(until.code, 2);
    assert.match(until.stderr, /--until "soon" is neither a duration nor a date/);
    const empty = await runOpsJson(['metrics', '--ledger', ledger, '--env', 'prod'], { cwd: dir });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.json.keys.deploymentFrequency.deployments, 0);
    assert.equal(empty.json.keys.leadTime.medianMs, null);
  });

  it('bands, percentiles and buckets follow their definitions', () => {
    assert.equal(percentile([], 0.5), null);
    assert.equal(percentile([5], 0.9), 5);
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2.5);
    assert.deepEqual([1, 1 / 7, 1 / 30, 0.01].map(BANDS.deploymentFrequency), ['elite', 'high', 'medium', 'low']);
    assert.deepEqual([23 * H, 6 * D, 29 * D, 31 * D].map(BANDS.leadTime), ['elite', 'high', 'medium', 'low']);
    assert.deepEqual([0.15, 0.3, 0.45, 0.46].map(BANDS.changeFailureRate), ['elite', 'high', 'medium', 'low']);
    assert.deepEqual([0.5 * H, 23 * H, 6 * D, 8 * D].map(BANDS.timeToRestore), ['elite', 'high', 'medium', 'low']);
    // A window from a Wednesday noon: the first week is clipped to the window, weeks start on Monday.
    const wednesday = at(2, 12);
    assert.deepEqual(
      buckets({ since: wednesday, until: at(14) }, 'week').map((b) => [iso(b.since), iso(b.until)]),
      [
        [iso(wednesday), iso(at(7))],
        [iso(at(7)), iso(at(14))],
      ],
    );
    assert.equal(buckets({ since: T0, until: at(3) }, 'day').length, 3);
  });
});
