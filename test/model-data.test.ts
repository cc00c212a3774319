// Training data in the ledger: profiles by digest, suites that stop a training run, the `data: pass` gate.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../src/core/forest/forest.js';
import { gitRepo, type GitRepo } from './helpers/git.js';
import { cleanEnv, runOps } from './helpers/ops.js';

/** Churn-like rows; `badTickets` rows get an out-of-range ticket count. */
function churnCsv(rows: number, seed: number, badTickets = 0): string {
  const random = seededRandom(seed);
  const lines = ['tenure,tickets,churned'];
  for (let i = 0; i < rows; i++) {
    const tenure = Math.round(random() * 60);
    const tickets = i < badTickets ? 99 : Math.round(random() * 10);
    lines.push(`${tenure},${tickets},${tickets * 6 - tenure + (random() - 0.5) * 20 > 0 ? 'yes' : 'no'}`);
  }
  return `${lines.join('\n')}\n`;
}

const CONFIG = `project: data-gates
ledger: .ops/ledger.db
models:
  gates:
    production:
      - data: pass
      - metric: auc
        threshold: 0.6
`;

const SUITE = `rows: { min: 100 }
columns:
  tenure: { type: integer, range: { min: 0, max: 120 } }
  tickets: { type: integer, notNull: true, range: { min: 0, max: 10 } }
  churned: { allowed: [yes, no] }
`;

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('training data checks', () => {
  let repo: GitRepo;
  const env = cleanEnv();
  const ops = (...args: string[]) => runOps(args, { cwd: repo.dir, env });
  const json = async (...args: string[]) => {
    const result = await ops(...args, '--json');
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  const train = (data: string, ...more: string[]) => ops('model', 'train', 'churn', '--data', data, '--target', 'churned', '--param', 'nTrees=20', '--register', ...more);

  before(() => {
    repo = gitRepo('ops-model-data-');
    repo.commit({ 'ops.config.yaml': CONFIG, '.gitignore': '.ops/\n', 'checks.yaml': SUITE, 'data/good.csv': churnCsv(400, 1), 'data/bad.csv': churnCsv(400, 2, 7), 'data/new.csv': churnCsv(300, 3) }, 'data');
  });
  after(() => repo.cleanup());

  it('refuses data that fails its suite (exit 3, nothing recorded), and records the reason when allowed', async () => {
    const refused = await train('data/bad.csv', '--suite', 'checks.yaml');
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /data\/bad\.csv fails 1 check of checks\.yaml: tickets: range \[0, 10\] \(observed \[0, 99\]\).*--allow-bad-data/);
    assert.deepEqual(await json('runs', 'list', '--kind', 'train'), [], 'a refused training records no run');

    const emptyReason = await train('data/bad.csv', '--suite', 'checks.yaml', '--allow-bad-data', ' ');
    assert.equal(emptyReason.code, 2, emptyReason.stderr);
    assert.match(emptyReason.stderr, /--allow-bad-data needs a reason/);

    const allowed = await train('data/bad.csv', '--suite', 'checks.yaml', '--allow-bad-data', 'outliers are known upstream', '--json');
    assert.equal(allowed.code, 0, allowed.stderr);
    const result = JSON.parse(allowed.stdout);
    assert.match(allowed.stderr, /used anyway: outliers are known upstream/);
    assert.deepEqual(result.dataChecks.map((c: { suite: string; passed: boolean; override: string }) => [c.suite, c.passed, c.override]), [['checks.yaml', false, 'outliers are known upstream']]);

    const shown = await ops('model', 'show', `churn@${result.registered.version}`);
    assert.match(shown.stdout, /checks +checks\.yaml FAILED: tickets: range \[0, 10\] \(observed \[0, 99\]\); used anyway: outliers are known upstream/);
    const shownJson = await json('model', 'show', `churn@${result.registered.version}`);
    assert.deepEqual(shownJson.dataChecks.map((c: { passed: boolean; override: string }) => [c.passed, c.override]), [[false, 'outliers are known upstream']]);

    // The gate reads the recorded outcome: an overridden suite is no pass.
    const blocked = await ops('model', 'promote', `churn@${result.registered.version}`, '--to', 'production', '--json');
    assert.equal(blocked.code, 3, blocked.stderr);
    const doc = JSON.parse(blocked.stdout);
    const gate = doc.result.checks.find((c: { metric: string }) => c.metric === 'data');
    assert.equal(gate.passed, false);
    assert.match(gate.note, /checks\.yaml failed \(tickets: range .*used anyway: outliers are known upstream/);
  });

  it('records the profile by digest, passes the data gate on clean data, and checks new data against model@alias or a digest', async () => {
    const trained = await json('model', 'train', 'churn', '--data', 'data/good.csv', '--target', 'churned', '--param', 'nTrees=20', '--register', '--suite', 'checks.yaml');
    assert.deepEqual(trained.dataChecks.map((c: { passed: boolean }) => c.passed), [true]);
    const promoted = await json('model', 'promote', `churn@${trained.registered.version}`, '--to', 'production');
    assert.equal(promoted.promoted, true);
    assert.deepEqual(promoted.checks.map((c: { metric: string; passed: boolean }) => [c.metric, c.passed]), [['data', true], ['auc', true]]);

    const digest = sha256(readFileSync(join(repo.dir, 'data/good.csv')));
    assert.equal(trained.datasets[0].digest, digest);
    const byModel = await json('data', 'check', 'data/new.csv', '--against', 'churn@production');
    assert.equal(byModel.reference.digest, digest);
    assert.equal(byModel.reference.rows, 400);
    assert.deepEqual(byModel.drift.drifted, []);
    const byDigest = await json('data', 'check', 'data/bad.csv', '--against', digest.slice(7, 19));
    assert.equal(byDigest.reference.label, digest);
    assert.ok(byDigest.drift.columns.some((c: { column: string }) => c.column === 'tickets'));

    const unknown = await ops('data', 'check', 'data/new.csv', '--against', 'feedbeef');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no profile of dataset "feedbeef" is recorded/);

    // A profile recorded by `ops data profile --record` is found by its digest too.
    const profiled = await json('data', 'profile', 'data/new.csv', '--record');
    const against = await json('data', 'check', 'data/good.csv', '--against', profiled.source.digest);
    assert.equal(against.reference.rows, 300);
  });

  it('fails the data gate for a version trained without a suite', async () => {
    const trained = await json('model', 'train', 'churn', '--data', 'data/new.csv', '--target', 'churned', '--param', 'nTrees=20', '--register');
    const blocked = await ops('model', 'promote', `churn@${trained.registered.version}`, '--to', 'production');
    assert.equal(blocked.code, 3);
    assert.match(blocked.stdout, /data .*FAIL \(run \d+ checked its data with no suite \(train with --suite\)\)/);
  });
});
