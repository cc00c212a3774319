// The retraining loop end to end through the real CLI: train and promote, live inputs drift, the
// watch opens an incident, triage names the drifted feature and retrains, the next monitor is clean.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../src/core/forest/forest.js';
import { gitRepo, type GitRepo } from './helpers/git.js';
import { cleanEnv, runOps } from './helpers/ops.js';

/** Customers; `shift` moves tenure's mean (sd 10) by that many months, and churn follows the new tenure. */
function customers(rows: number, seed: number, shift: number, idFrom: number): string {
  const random = seededRandom(seed);
  const lines = ['customer,tenure,tickets,churned'];
  for (let i = 0; i < rows; i++) {
    const tenure = Math.max(0, Math.round(30 + shift + (random() + random() + random() - 1.5) * 20));
    const tickets = Math.round(random() * 10);
    lines.push(`c-${idFrom + i},${tenure},${tickets},${tickets * 6 - tenure + shift + (random() - 0.5) * 20 > 0 ? 'yes' : 'no'}`);
  }
  return `${lines.join('\n')}\n`;
}

const outcomes = (csv: string) =>
  csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','))
    .map(([id, , , churned]) => JSON.stringify({ id, label: churned }))
    .join('\n');

const CONFIG = `project: retrain-loop
ledger: .ops/ledger.db
models:
  monitor: { window: 30d, minRows: 50, minLabels: 30 }
  gates:
    production:
      - data: pass
      - { metric: accuracy, threshold: 0.7 }
watch:
  resolveAfter: 10m
  sources:
    - { type: model, service: churn-api, env: prod, model: churn@production }
`;

const SUITE = `columns:
  tenure: { type: integer, range: { min: 0, max: 150 } }
  tickets: { type: integer, range: { min: 0, max: 10 } }
  churned: { allowed: [yes, no] }
`;

describe('the retraining loop', () => {
  let repo: GitRepo;
  const env = cleanEnv();
  const ops = (...args: string[]) => runOps(args, { cwd: repo.dir, env });
  const json = async (...args: string[]) => {
    const result = await ops(...args, '--json');
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  };

  before(() => {
    repo = gitRepo('ops-model-loop-');
    repo.commit({ 'ops.config.yaml': CONFIG, '.gitignore': '.ops/\n', 'checks.yaml': SUITE, 'data/train.csv': customers(600, 1, 0, 0) }, 'churn model');
  });
  after(() => repo.cleanup());

  it('train and promote, drifting inputs open an incident, triage --apply retrains and promotes, the next monitor is clean', async () => {
    const trained = await json('model', 'train', 'churn', '--data', 'data/train.csv', '--target', 'churned', '--features', 'tenure,tickets', '--param', 'nTrees=30', '--suite', 'checks.yaml', '--register');
    await json('model', 'promote', `churn@${trained.registered.version}`, '--to', 'production');
    const quiet = await ops('watch', '--once');
    assert.equal(quiet.code, 0, `no predictions yet, nothing to judge: ${quiet.stdout}${quiet.stderr}`);

    // A month of customers who stay 1.5 sd longer, scored live; what really happened arrives later.
    const month = customers(400, 2, 15, 1000);
    writeFileSync(join(repo.dir, 'month.csv'), month);
    await json('model', 'predict', 'churn@production', '--data', 'month.csv', '--log', '--id-column', 'customer');
    writeFileSync(join(repo.dir, 'month-outcomes.jsonl'), outcomes(month));
    assert.equal((await json('model', 'label', 'month-outcomes.jsonl', '--model', 'churn')).labelled, 400);

    const watched = await ops('watch', '--once', '--json');
    assert.equal(watched.code, 1, 'an incident is open');
    const cycle = JSON.parse(watched.stdout);
    assert.equal(cycle.opened.length, 1);
    const incident = cycle.opened[0];
    assert.equal(incident.service, 'churn-api');
    assert.equal(incident.title, 'churn-api in prod: model-drift (churn@production)');
    assert.match(cycle.sources[0].signals[0].message, /^churn@production \(v1\): feature tenure drifted: psi [\d.]+ >= 0\.2/);
    const again = JSON.parse((await ops('watch', '--once', '--json')).stdout);
    assert.equal(again.opened.length, 0, 'the same drift is deduplicated into the open incident');
    assert.equal(again.open.length, 1);

    const triaged = await json('triage', String(incident.id));
    const top = triaged.hypotheses[0];
    assert.equal(top.cause, 'model-drift');
    assert.match(top.title, /^model (drift|decay): churn@production v1: tenure \(psi [\d.]+, ks [\d.]+\)/);
    assert.ok(top.evidence.some((line: string) => /^feature tenure drifted: psi [\d.]+ >= 0\.2, ks [\d.]+ >= 0\.1 \(p [\d.e-]+\) on 400 predictions \(30d\) vs 600 training rows$/.test(line)), top.evidence.join('\n'));
    assert.ok(!top.evidence.some((line: string) => line.startsWith('feature tickets')), 'tickets did not drift');
    assert.deepEqual(top.actions.map((a: { command: string }) => a.command), ['ops model retrain churn@production']);
    assert.match(top.actions[0].title, /retrain churn on recent data and promote it to production through the gates/);

    const { applied } = await json('triage', String(incident.id), '--apply', String(top.actions[0].n), '--yes');
    assert.equal(applied.status, 'succeeded', applied.result);
    assert.match(applied.result, /churn@production moved v1 -> v2, retrained on 400 recent labelled predictions/);
    assert.equal(applied.check.healthy, true, applied.check.detail);
    assert.equal(applied.incident.state, 'resolved');

    const v2 = await json('model', 'show', 'churn@production');
    assert.equal(v2.version, 2);
    assert.deepEqual(v2.aliases, ['production']);
    assert.equal(v2.datasets.length, 1);
    assert.match(v2.datasets[0].path, /\.ops\/datasets\/churn-recent-.*\.csv$/);
    const history = await json('model', 'history', 'churn', '--alias', 'production');
    assert.match(history[0].reason, /triage of incident #\d+: retrained on recent data/);

    // The next month looks like the last one: v2 serves it without drift.
    const next = customers(300, 3, 15, 5000);
    writeFileSync(join(repo.dir, 'next.csv'), next);
    await json('model', 'predict', 'churn@production', '--data', 'next.csv', '--log', '--id-column', 'customer');
    const monitored = await ops('model', 'monitor', 'churn@production', '--json');
    const report = JSON.parse(monitored.stdout);
    assert.equal(monitored.code, 0, report.problems?.join('; '));
    assert.equal(report.version, 2);
    assert.deepEqual(report.drifted, []);
    assert.equal(report.prediction.drifted, false);
    const clean = await ops('watch', '--once');
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  });
});
