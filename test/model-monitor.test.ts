// Live predictions per model version: ops model predict --log, ops model log, ops model label, ops model monitor.
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../src/core/forest/forest.js';
import { gitRepo, type GitRepo } from './helpers/git.js';
import { cleanEnv, runOps } from './helpers/ops.js';

/** Customers whose churn depends on tenure and tickets; `shift` moves tenure's mean by that many months. */
function customers(rows: number, seed: number, shift = 0, idFrom = 0): string {
  const random = seededRandom(seed);
  const lines = ['customer,tenure,tickets,churned'];
  for (let i = 0; i < rows; i++) {
    const tenure = Math.max(0, Math.round(30 + shift + (random() + random() + random() - 1.5) * 20));
    const tickets = Math.round(random() * 10);
    lines.push(`c-${idFrom + i},${tenure},${tickets},${tickets * 6 - tenure + shift + (random() - 0.5) * 20 > 0 ? 'yes' : 'no'}`);
  }
  return `${lines.join('\n')}\n`;
}

const CONFIG = `project: monitor
ledger: .ops/ledger.db
`;

describe('model predictions and labels', () => {
  let repo: GitRepo;
  const env = cleanEnv();
  const ops = (...args: string[]) => runOps(args, { cwd: repo.dir, env });
  const json = async (...args: string[]) => {
    const result = await ops(...args, '--json');
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };

  before(async () => {
    repo = gitRepo('ops-model-monitor-');
    repo.commit({ 'ops.config.yaml': CONFIG, '.gitignore': '.ops/\n', 'data/train.csv': customers(500, 1), 'data/today.csv': customers(200, 2, 0, 1000) }, 'data');
    await json('model', 'train', 'churn', '--data', 'data/train.csv', '--target', 'churned', '--features', 'tenure,tickets', '--param', 'nTrees=20', '--register');
    await json('model', 'promote', 'churn@1', '--to', 'production');
  });
  after(() => repo.cleanup());

  it('logs predict --log rows with their ids, skips ids logged before, and attaches delayed labels by id', async () => {
    const predicted = await ops('model', 'predict', 'churn@production', '--data', 'data/today.csv', '--log', '--id-column', 'customer', '--json');
    assert.equal(predicted.code, 0, predicted.stderr);
    assert.equal(JSON.parse(predicted.stdout).logged, 200);
    const again = await json('model', 'predict', 'churn@production', '--data', 'data/today.csv', '--log', '--id-column', 'customer');
    assert.equal(again.logged, 0, 'the same ids are not logged twice');

    writeFileSync(join(repo.dir, 'outcomes.jsonl'), `${['{"id": "c-1000", "label": "yes"}', '{"id": "c-1001", "label": "no"}', '', '{"id": "c-9999", "label": "no"}'].join('\n')}\n`);
    const labelled = await ops('model', 'label', 'outcomes.jsonl', '--model', 'churn', '--json');
    assert.equal(labelled.code, 0, labelled.stderr);
    assert.deepEqual(JSON.parse(labelled.stdout), { read: 3, labelled: 2, unknown: ['c-9999'], unknownCount: 1 });
    assert.match(labelled.stderr, /1 label matched no logged prediction \(first: "c-9999"\)/);
  });

  it('logs predictions made elsewhere from JSON Lines, and names a bad line without recording any', async () => {
    const lines = [
      '{"id": "x-1", "inputs": {"tenure": 12, "tickets": 3}, "prediction": "yes", "at": "2026-03-01T10:00:00Z"}',
      '{"inputs": {"tenure": 40, "tickets": 1}, "prediction": "no", "model": "churn@1"}',
    ];
    writeFileSync(join(repo.dir, 'elsewhere.jsonl'), `${lines.join('\n')}\n`);
    const logged = await json('model', 'log', 'elsewhere.jsonl', '--model', 'churn@production');
    assert.deepEqual(logged, { fromLine: 1, read: 2, logged: 2, duplicates: 0, versions: ['churn@1'] });

    writeFileSync(join(repo.dir, 'bad.jsonl'), `${lines[1]}\n{"id": "x-2", "inputs": {"tenure": [1]}, "prediction": "no"}\n`);
    const bad = await ops('model', 'log', 'bad.jsonl', '--model', 'churn@production');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.jsonl:2: "inputs" must be an object of numbers, strings, booleans or nulls/);
    writeFileSync(join(repo.dir, 'nomodel.jsonl'), `${lines[0]}\n`);
    const noModel = await ops('model', 'log', 'nomodel.jsonl');
    assert.equal(noModel.code, 2);
    assert.match(noModel.stderr, /nomodel\.jsonl:1: no model/);
    const notJson = await ops('model', 'label', 'data/train.csv');
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /data\/train\.csv:1: not JSON/);
  });

  it('monitors the window: clean on unshifted inputs, tenure flagged when shifted, decay on wrong labels; exit 1 past a threshold', async () => {
    // Today's customers, labelled with what really happened: no drift, accuracy near the held-out figure.
    const truth = customers(200, 2, 0, 1000).trim().split('\n').slice(1).map((l) => l.split(','));
    writeFileSync(join(repo.dir, 'truth.jsonl'), truth.map(([id, , , churned]) => JSON.stringify({ id, label: churned })).join('\n'));
    assert.equal((await json('model', 'label', 'truth.jsonl', '--model', 'churn')).labelled, 200);
    const clean = await ops('model', 'monitor', 'churn@production', '--window', 'last:200', '--json');
    assert.equal(clean.code, 0, clean.stdout);
    const report = JSON.parse(clean.stdout);
    assert.equal(report.healthy, true, report.problems.join('; '));
    assert.deepEqual(report.features.map((f: { column: string }) => f.column), ['tenure', 'tickets']);
    assert.equal(report.reference.rows, 500);
    assert.equal(report.performance.metric, 'accuracy');
    assert.ok(report.performance.labelled >= 190, String(report.performance.labelled));
    assert.ok(report.prediction, 'prediction drift is judged against the held-out predictions');

    // Customers who stay 1.5 standard deviations longer: tenure drifts, tickets does not.
    writeFileSync(join(repo.dir, 'data/shifted.csv'), customers(300, 3, 15, 5000));
    await json('model', 'predict', 'churn@production', '--data', 'data/shifted.csv', '--log', '--id-column', 'customer');
    const drifted = await ops('model', 'monitor', 'churn@production', '--window', 'last:300');
    assert.equal(drifted.code, 1, drifted.stderr);
    assert.match(drifted.stdout, /feature tenure +psi [\d.]+, ks [\d.]+ \(p [\d.e-]+\) +>= 0\.2, >= 0\.1 +DRIFT/);
    assert.match(drifted.stdout, /feature tickets .* ok/);
    assert.match(drifted.stdout, /past threshold: feature tenure drifted: psi [\d.]+ >= 0\.2/);
    const driftJson = JSON.parse((await ops('model', 'monitor', 'churn@production', '--window', 'last:300', '--json')).stdout);
    assert.deepEqual(driftJson.drifted, ['tenure']);

    // Every shifted prediction turns out wrong: accuracy decays far past maxDrop.
    const scored = (await json('model', 'predict', 'churn@production', '--data', 'data/shifted.csv')).rows as string[][];
    const ids = customers(300, 3, 15, 5000).trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    writeFileSync(join(repo.dir, 'wrong.jsonl'), scored.map((row, i) => JSON.stringify({ id: ids[i], label: row[0] === 'yes' ? 'no' : 'yes' })).join('\n'));
    await json('model', 'label', 'wrong.jsonl');
    const decayed = JSON.parse((await ops('model', 'monitor', 'churn@production', '--window', 'last:300', '--json')).stdout);
    assert.equal(decayed.performance.current, 0);
    assert.equal(decayed.performance.degraded, true);
    assert.ok(decayed.problems.some((p: string) => /^accuracy 0 on 300 labelled predictions/.test(p)), decayed.problems.join('; '));

    const few = JSON.parse((await ops('model', 'monitor', 'churn@production', '--window', 'last:10', '--json')).stdout);
    assert.equal(few.healthy, true);
    assert.match(few.notes[0], /10 predictions in the window, fewer than minRows 50: drift not judged/);
    const badWindow = await ops('model', 'monitor', 'churn@production', '--window', 'week');
    assert.equal(badWindow.code, 2);
    assert.match(badWindow.stderr, /--window "week" is not understood/);
  });
  it('reads an append-only file on from where the last run stopped, leaves a half-written line, starts over on a new file', async () => {
    const line = (n: number) => JSON.stringify({ inputs: { tenure: n, tickets: 2 }, prediction: 'no' });
    const file = join(repo.dir, 'live.jsonl');
    writeFileSync(file, `${line(1)}\n${line(2)}\n`);
    assert.deepEqual(await json('model', 'log', 'live.jsonl', '--model', 'churn@1'), { fromLine: 1, read: 2, logged: 2, duplicates: 0, versions: ['churn@1'] });
    appendFileSync(file, `${line(3)}\n\n${line(4)}\n{"inputs": {"tenure": 5, "tick`);
    const next = await ops('model', 'log', 'live.jsonl', '--model', 'churn@1');
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.stdout.trim(), 'logged 2 predictions of churn@1 from line 3 (the earlier lines were read before)');
    appendFileSync(file, `ets": 1}, "prediction": "yes"}\n`);
    assert.deepEqual(await json('model', 'log', 'live.jsonl', '--model', 'churn@1'), { fromLine: 6, read: 1, logged: 1, duplicates: 0, versions: ['churn@1'] });
    assert.deepEqual(await json('model', 'log', 'live.jsonl', '--model', 'churn@1'), { fromLine: 7, read: 0, logged: 0, duplicates: 0, versions: [] });
    appendFileSync(file, 'not json\n');
    const bad = await ops('model', 'log', 'live.jsonl', '--model', 'churn@1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /live\.jsonl:7: not JSON/, 'line numbers go on from the earlier runs');
    // Rotated: a new file under the same name is read from its first line.
    writeFileSync(file, `${line(9)}\n`);
    assert.deepEqual(await json('model', 'log', 'live.jsonl', '--model', 'churn@1'), { fromLine: 1, read: 1, logged: 1, duplicates: 0, versions: ['churn@1'] });
  });
});
