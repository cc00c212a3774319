import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { laBaseline, logisticRegression1d } from '../src/core/risk/baseline.js';
import { gitRepo, type GitRepo } from './helpers/git.js';
import { growHistory } from './helpers/history.js';
import { cleanEnv, runOps, runOpsJson } from './helpers/ops.js';

describe('ops risk train: the LApredict baseline, the first promotion, an unchanged retrain', () => {
  let repo: GitRepo;
  let dir: string;
  let ledger: string;
  const ops = (args: string[]) => runOpsJson([...args, '--ledger', ledger], { cwd: repo.dir, env: cleanEnv() });
  before(() => {
    repo = gitRepo('ops-risk-train-');
    growHistory(repo, 60);
    dir = mkdtempSync(join(tmpdir(), 'ops-risk-train-ledger-'));
    ledger = join(dir, 'ledger.db');
  });
  after(() => {
    repo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports LApredict on the same held-out rows, promotes the first version so that score works, and says "unchanged" on a retrain', async () => {
    const first = await ops(['risk', 'train']);
    assert.equal(first.code, 0, first.stderr);
    const { metrics } = first.json;
    assert.equal(typeof metrics.baseline.la, 'number');
    assert.equal(typeof metrics.baseline.logisticLa, 'number');
    assert.ok(Math.abs(metrics.gainOverBaseline - (metrics.auc - Math.max(metrics.baseline.la, metrics.baseline.logisticLa))) < 1e-12);
    assert.equal(first.json.version.version, 1);
    assert.equal(first.json.promotion.promoted, true, 'the first version takes risk.alias');
    assert.equal(first.json.promotion.alias, 'production');
    const version = await ops(['model', 'show', 'risk-scorer@1']);
    assert.equal(version.json.metrics.baselineLaAuc, metrics.baseline.la, 'the baseline is recorded with the version');

    const text = await runOps(['risk', 'train', '--ledger', join(dir, 'text.db')], { cwd: repo.dir, env: cleanEnv() });
    assert.match(text.stdout, /^LApredict baseline, same \d+ rows: lines added alone AUC \d\.\d{3}, logistic regression on them \d\.\d{3}; the forest (beats it by \d\.\d{3}|does NOT beat it)$/m);
    if (metrics.gainOverBaseline <= 0) assert.match(text.stderr, /does not beat the LApredict baseline/);

    const scored = await ops(['risk', 'score', '--range', 'HEAD~3..HEAD']);
    assert.equal(scored.code, 0, scored.stderr);
    assert.equal(scored.json.model, 'risk-scorer@1');

    const again = await ops(['risk', 'train']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.unchanged, true);
    assert.equal(again.json.version.version, 1);
    assert.equal(again.json.trainingSet.digest, first.json.trainingSet.digest);
    const list = await ops(['model', 'show', 'risk-scorer']);
    assert.deepEqual(list.json.versions.map((v: { version: number }) => v.version), [1], 'an unchanged retrain registers nothing');
    const db = new Database(ledger, { readonly: true });
    try {
      assert.equal((db.prepare(`SELECT count(*) AS n FROM runs WHERE kind = 'train'`).get() as { n: number }).n, 1, 'and starts no training run');
    } finally {
      db.close();
    }
    const said = await runOps(['risk', 'train', '--ledger', ledger], { cwd: repo.dir, env: cleanEnv() });
    assert.match(said.stdout, /^unchanged: risk-scorer version 1 was trained on this training set/);

    repo.commit({ 'app/new.js': 'export const n = 1;\n' }, 'one more change', { date: '2025-03-15T00:00:00Z' });
    const retrained = await ops(['risk', 'train']);
    assert.equal(retrained.code, 0, retrained.stderr);
    assert.equal(retrained.json.unchanged, false);
    assert.equal(retrained.json.version.version, 2);
    assert.equal(retrained.json.promotion, null, 'a later version is promoted only when asked');
  });

  it('records `ops risk mine` as a run with what it mined and labelled', async () => {
    const mined = await runOpsJson(['risk', 'mine', '--labels', '--ledger', join(dir, 'mine.db')], { cwd: repo.dir, env: cleanEnv() });
    assert.equal(mined.code, 0, mined.stderr);
    const run = await runOpsJson(['runs', 'show', String(mined.json.runId), '--ledger', join(dir, 'mine.db')], { cwd: repo.dir, env: cleanEnv() });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.kind, 'mine');
    assert.equal(run.json.status, 'succeeded');
    assert.equal(run.json.metrics.commits, mined.json.mining.total);
    assert.equal(run.json.metrics.szzFixes, mined.json.szz.fixes);
  });
});

describe('LApredict', () => {
  it('fits a logistic regression on one feature and scores the held-out rows by it', () => {
    // Bigger changes are buggier: the slope is positive and the AUC is la's own.
    const la = Float64Array.from({ length: 200 }, (_, i) => i);
    const y = Float64Array.from(la, (v, i) => (v > 120 || i % 17 === 0 ? 1 : 0));
    const { slope } = logisticRegression1d(la, y);
    assert.ok(slope > 0);
    const testLa = [5, 150, 60, 190, 10];
    const baseline = laBaseline(la, y, testLa, [false, true, false, true, true]);
    assert.equal(baseline.la, 5 / 6);
    assert.equal(baseline.logisticLa, baseline.la);
  });
});
