// The risk scorer monitored like any model: its features on the commits it scored against its
// training profile, and its accuracy on the labels the ledger has for them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MODEL_FEATURES } from '../src/core/risk/features.js';
import { gitRepo, type GitRepo } from './helpers/git.js';
import { growHistory } from './helpers/history.js';
import { cleanEnv, runOps } from './helpers/ops.js';

describe('the risk scorer under ops model monitor', () => {
  let repo: GitRepo;
  const env = cleanEnv();
  const json = async (...args: string[]) => {
    const result = await runOps([...args, '--json'], { cwd: repo.dir, env });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  };

  before(() => {
    repo = gitRepo('ops-risk-monitor-');
    writeFileSync(join(repo.dir, 'ops.config.yaml'), 'project: risky\nledger: .ops/ledger.db\nmodels:\n  monitor: { window: last:1000, minRows: 10, minLabels: 10 }\n');
    repo.commit({ '.gitignore': '.ops/\n' }, 'config');
    growHistory(repo, 60);
  });
  after(() => repo.cleanup());

  it('compares the scored commits with the training profile and scores accuracy on the ledger labels', async () => {
    const trained = await json('risk', 'train');
    assert.equal(trained.promotion.promoted, true);
    const before = await json('model', 'monitor', 'risk-scorer@production');
    assert.equal(before.window.rows, 0);
    assert.equal(before.reference.rows, trained.rows, 'the training set was profiled by its digest');

    const scored = await json('risk', 'score', '--range', 'HEAD~30..HEAD');
    assert.equal(scored.commits.length, 30);
    await json('risk', 'mine', '--labels');
    const monitored = await runOps(['model', 'monitor', 'risk-scorer@production', '--json'], { cwd: repo.dir, env });
    const report = JSON.parse(monitored.stdout);
    // Experience only grows: the newest 30 commits' authors have far more earlier changes than the
    // training set's average author, a real drift of the scorer's inputs (exit 1).
    assert.equal(monitored.code, 1, monitored.stderr);
    assert.ok(report.drifted.includes('exp'), report.problems.join('\n'));
    assert.match(report.problems.join('\n'), /^feature exp drifted: psi [\d.]+ >= 0\.2, ks [\d.]+ >= 0\.1 \(p [\d.e-]+\)$/m);
    assert.equal(report.window.rows, 30);
    assert.equal(report.window.labelled, 30, 'every scored commit got its label from the ledger (SZZ, reverts, failed releases)');
    assert.deepEqual(report.features.map((f: { column: string }) => f.column), [...MODEL_FEATURES]);
    assert.equal(report.performance.metric, 'accuracy');
    assert.equal(report.performance.labelled, 30);
    assert.equal(typeof report.performance.baseline, 'number');
    assert.match(report.notes.join('\n'), /held-out accuracy computed now on v1's \d+ held-out rows/);
    assert.ok(report.prediction, 'the scorer\'s predictions are compared with its held-out predictions');
  });
});
