import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../src/core/forest/forest.js';
import { gitRepo, type GitRepo } from './helpers/git.js';
import { cleanEnv, runOps, runProcess } from './helpers/ops.js';
import { BACKENDS, postgresServer } from './helpers/postgres.js';

/** A churn-like table: two informative features, one noise column, a label and a date. */
function churnCsv(rows: number, seed: number): string {
  const random = seededRandom(seed);
  const lines = ['day,tenure,tickets,noise,churned'];
  for (let i = 0; i < rows; i++) {
    const tenure = Math.round(random() * 60);
    const tickets = Math.round(random() * 10);
    const churned = tickets * 6 - tenure + (random() - 0.5) * 20 > 0 ? 'yes' : 'no';
    lines.push(`2026-01-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z,${tenure},${tickets},${random().toFixed(4)},${churned}`);
  }
  return `${lines.join('\n')}\n`;
}

const CONFIG = `project: models
ledger: .ops/ledger.db
models:
  gates:
    production:
      - metric: auc
        threshold: 0.7
        minAbsoluteChange: 0.01
    staging:
      - metric: auc
        threshold: 0.5
`;

const TRAIN_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.OPS_ARTIFACT_DIR;
const params = JSON.parse(process.env.OPS_PARAMS);
console.log('training run', process.env.OPS_RUN_ID, 'on', process.env.OPS_DATA);
fs.writeFileSync(path.join(dir, 'metrics.json'), JSON.stringify({ auc: Number(params.auc), loss: 0.25 }));
fs.writeFileSync(path.join(dir, 'params.json'), JSON.stringify({ epochs: 3 }));
fs.mkdirSync(path.join(dir, 'weights'));
fs.writeFileSync(path.join(dir, 'weights', 'layer1.bin'), Buffer.from([1, 2, 3, Number(params.auc) * 100]));
fs.writeFileSync(path.join(dir, 'run-id.txt'), process.env.OPS_RUN_ID);
`;

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

// The same bodies on both backends: the config's SQLite file, or a new PostgreSQL database by OPS_LEDGER.
const server = await postgresServer();
if (typeof server === 'string' && process.env.CI && process.env.CI !== 'false') throw new Error(`no PostgreSQL: ${server}`);

for (const backend of BACKENDS) describe(`ops model (${backend} ledger)`, { skip: backend === 'postgres' && typeof server === 'string' ? `no PostgreSQL: ${server}` : false }, () => {
  let repo: GitRepo;
  let env = cleanEnv();
  const ops = (...args: string[]) => runOps(args, { cwd: repo.dir, env });
  const json = async (...args: string[]) => {
    const end = args.includes('--') ? args.indexOf('--') : args.length;
    const result = await ops(...args.slice(0, end), '--json', ...args.slice(end));
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };

  before(async () => {
    if (backend === 'postgres' && typeof server !== 'string') env = cleanEnv({ OPS_LEDGER: await server.createDatabase() });
    repo = gitRepo('ops-model-');
    repo.commit(
      {
        'ops.config.yaml': CONFIG,
        '.gitignore': '.ops/\n',
        'data/churn.csv': churnCsv(600, 1),
        'data/images/a.txt': 'alpha\n',
        'data/images/sub/b.txt': 'beta\n',
        'train.js': TRAIN_SCRIPT,
        'train.py': 'import json, os\njson.dump({"auc": 0.66}, open(os.path.join(os.environ["OPS_ARTIFACT_DIR"], "metrics.json"), "w"))\nprint("python trained")\n',
        'fail.js': 'console.log("loading data"); console.error("fatal: out of patience"); process.exit(7);\n',
      },
      'project with data',
    );
  });
  after(() => repo.cleanup());

  it('trains the built-in forest on a CSV, records the run, dataset digest and git state, and registers it', async () => {
    const trained = await json('model', 'train', 'churn', '--data', 'data/churn.csv', '--target', 'churned', '--features', 'tenure,tickets,noise', '--split', 'time:day', '--param', 'nTrees=40', '--register');
    assert.equal(trained.status, 'succeeded');
    assert.ok(trained.metrics.auc > 0.85, `auc ${trained.metrics.auc}`);
    for (const key of ['accuracy', 'f1', 'precision', 'recall']) assert.equal(typeof trained.metrics[key], 'number');
    assert.equal(trained.metrics.testRows, 120);
    assert.deepEqual(trained.artifacts.map((a: { path: string }) => a.path), ['holdout.csv', 'metrics.json', 'model.json', 'params.json']);
    assert.equal(trained.datasets[0].digest, `sha256:${sha256(readFileSync(join(repo.dir, 'data/churn.csv')))}`);
    assert.equal(trained.registered.version, 1);

    const run = (await json('runs', 'show', String(trained.runId)));
    assert.equal(run.kind, 'train');
    assert.equal(run.git.sha, repo.git('rev-parse', 'HEAD'));
    assert.equal(run.git.branch, 'main');
    assert.equal(run.git.dirty, false);
    assert.equal(run.params.nTrees, 40);
    assert.equal(run.details.trainer, 'builtin');
    assert.deepEqual(run.details.features, ['tenure', 'tickets', 'noise']);
    assert.deepEqual(run.details.classes, ['no', 'yes']);
    assert.match(run.details.tools.node, /^v20\./);
    assert.ok(run.argv.includes('--register'));

    const predicted = await ops('model', 'predict', 'churn@1', '--data', 'data/churn.csv');
    assert.equal(predicted.code, 0, predicted.stderr);
    const lines = predicted.stdout.trim().split('\n');
    assert.equal(lines[0], 'prediction,p_no,p_yes');
    assert.equal(lines.length, 601);
    const labels = readFileSync(join(repo.dir, 'data/churn.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[4]);
    const correct = lines.slice(1).filter((l, i) => l.split(',')[0] === labels[i]).length;
    assert.ok(correct / 600 > 0.9, `${correct} of 600 right`);
  });

  it('runs an external command with OPS_RUN_ID and OPS_ARTIFACT_DIR, collects its metrics, params and files', async () => {
    repo.write({ 'notes.txt': 'uncommitted\n' });
    const trained = await json('model', 'train', 'churn', '--data', 'data/images', '--param', 'auc=0.74', '--', 'node', 'train.js');
    repo.write({ 'notes.txt': null });
    assert.equal(trained.status, 'succeeded');
    assert.deepEqual(trained.metrics, { auc: 0.74, loss: 0.25 });
    assert.deepEqual(trained.artifacts.map((a: { path: string }) => a.path), ['metrics.json', 'params.json', 'run-id.txt', 'weights/layer1.bin']);
    // A folder's digest: sha256 of its sorted "path<TAB>size<TAB>sha256" lines.
    const manifest = `a.txt\t6\t${sha256('alpha\n')}\nsub/b.txt\t5\t${sha256('beta\n')}\n`;
    assert.equal(trained.datasets[0].digest, `sha256:${sha256(manifest)}`);
    assert.equal(trained.datasets[0].kind, 'dir');

    const run = (await json('runs', 'show', String(trained.runId)));
    assert.deepEqual(run.params, { auc: '0.74', epochs: 3 });
    assert.equal(run.git.dirty, true);
    assert.match(run.details.dirtyHash, /^[0-9a-f]{16,}$/);
    assert.deepEqual(run.details.command, ['node', 'train.js']);
    assert.match(run.logs.map((l: { text: string }) => l.text).join(''), new RegExp(`training run ${trained.runId} on ${join(repo.dir, 'data/images')}`));

    const registered = await json('model', 'register', 'churn', '--run', String(trained.runId));
    assert.equal(registered.version, 2);
    const shown = await json('model', 'show', 'churn@2');
    assert.equal(shown.runId, trained.runId);
    const runIdFile = shown.files.find((f: { path: string }) => f.path === 'run-id.txt');
    assert.ok(runIdFile, 'run-id.txt stored');
  });

  it('records the python version for a python training command', async () => {
    const python = await runProcess('python3', ['--version']).catch(() => null);
    if (python?.code !== 0) {
      console.warn('SKIPPED python external training: python3 is not installed');
      return;
    }
    const trained = await json('model', 'train', 'pyclf', '--', 'python3', 'train.py');
    assert.deepEqual(trained.metrics, { auc: 0.66 });
    const run = (await json('runs', 'show', String(trained.runId)));
    assert.equal(run.details.tools.python, (python.stdout + python.stderr).trim().replace(/^Python /, ''));
  });

  it('records a failing training command as failed with its exit code and last output lines', async () => {
    const result = await ops('model', 'train', 'churn', '--', 'node', 'fail.js');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /training run \d+ failed: node exited with code 7; last output:/);
    assert.match(result.stderr, /fatal: out of patience/);
    const [run] = await json('runs', 'list', '--kind', 'train', '--limit', '1');
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 7);
    assert.match(run.error, /loading data[\s\S]*fatal: out of patience/);
    const register = await ops('model', 'register', 'churn', '--run', String(run.id));
    assert.equal(register.code, 1);
    assert.match(register.stderr, new RegExp(`run ${run.id} failed; only a succeeded training run can be registered`));
  });

  it('promotes through gates: pass, block with the comparison and exit 3, forced override recorded', async () => {
    const first = await ops('model', 'promote', 'churn@1', '--to', 'production', '--reason', 'first model');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /auc\s+0\.9\d*\s+-\s+>= 0\.7\s+pass/);

    // v2 (auc 0.74) is above the floor but not 0.01 better than v1.
    const blocked = await ops('model', 'promote', 'churn@2', '--to', 'production');
    assert.equal(blocked.code, 3);
    assert.match(blocked.stdout, /METRIC\s+CANDIDATE v2\s+CURRENT v1\s+RULE\s+RESULT/);
    assert.match(blocked.stdout, /auc\s+0\.74\s+0\.9\d*\s+\+0\.01 vs baseline\s+FAIL/);
    assert.match(blocked.stderr, /promotion of churn@2 to production blocked by its gate; .*--force --reason/);
    const blockedJson = await ops('model', 'promote', 'churn@2', '--to', 'production', '--json');
    assert.equal(blockedJson.code, 3);
    const blockedDoc = JSON.parse(blockedJson.stdout);
    assert.deepEqual([blockedDoc.error.code, blockedDoc.error.exitCode, blockedDoc.result.promoted], ['gate_blocked', 3, false]);
    assert.equal((await json('model', 'show', 'churn@production')).version, 1);

    const noReason = await ops('model', 'promote', 'churn@2', '--to', 'production', '--force');
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--force needs --reason/);
    const forced = await json('model', 'promote', 'churn@2', '--to', 'production', '--force', '--reason', 'canary looked fine');
    assert.equal(forced.promoted, true);
    assert.equal(forced.forced, true);
    assert.equal(forced.event.forced, true);
  });

  it('compares the candidate with the alias holder on the candidate\'s held-out rows, not on their own figures', async () => {
    // label = x1 + x2 > 1; the newest 20% (by t) are held out. v1: clean training rows, held-out
    // labels 35% flipped (its own figure looks poor). v2: training labels 25% flipped (a worse
    // model), clean held-out rows (its own figure looks good).
    const table = (flipTrain: number, flipTest: number, seed: number) => {
      const random = seededRandom(seed);
      const lines = ['t,x1,x2,label'];
      for (let t = 0; t < 500; t++) {
        const [x1, x2] = [random(), random()];
        const flip = random() < (t >= 400 ? flipTest : flipTrain);
        lines.push(`${t},${x1.toFixed(4)},${x2.toFixed(4)},${x1 + x2 > 1 !== flip ? 'yes' : 'no'}`);
      }
      return `${lines.join('\n')}\n`;
    };
    writeFileSync(join(repo.dir, 'holder.csv'), table(0, 0.35, 11));
    writeFileSync(join(repo.dir, 'candidate.csv'), table(0.25, 0, 11));
    const train = (file: string) => json('model', 'train', 'sums', '--data', file, '--target', 'label', '--features', 'x1,x2', '--split', 'time:t', '--register');
    const v1 = await train('holder.csv');
    const v2 = await train('candidate.csv');
    assert.ok(v2.metrics.auc > v1.metrics.auc, `their own figures favour v2: ${v2.metrics.auc} vs ${v1.metrics.auc}`);
    writeFileSync(join(repo.dir, 'ops.config.yaml'), `${CONFIG}    sums@production:\n      - { metric: auc, minAbsoluteChange: 0 }\n      - { metric: testRows, minAbsoluteChange: 0 }\n`);
    assert.equal((await ops('model', 'promote', 'sums@1', '--to', 'production')).code, 0);

    const blocked = await ops('model', 'promote', 'sums@2', '--to', 'production', '--json');
    assert.equal(blocked.code, 3, blocked.stderr);
    const [auc, rows] = JSON.parse(blocked.stdout).result.checks;
    assert.deepEqual([auc.metric, auc.basis, auc.passed, auc.note], ['auc', 'same rows', false, 'both scored on v2\'s 100 held-out rows']);
    assert.equal(auc.candidate, v2.metrics.auc, 'the candidate scores the same on its own rows');
    assert.ok(auc.baseline > auc.candidate && auc.baseline !== v1.metrics.auc, `v1 on v2's rows: ${auc.baseline}`);
    assert.deepEqual([rows.metric, rows.basis, rows.passed, rows.note], ['testRows', 'recorded', true, 'recorded figures, not the same rows: testRows is not computed from rows']);
    const table2 = await ops('model', 'promote', 'sums@2', '--to', 'production');
    assert.match(table2.stdout, /auc .*\+0 vs baseline\s+FAIL \(both scored on v2's 100 held-out rows\)/);

    // A holder ops cannot run (an external command's model): the recorded figures, and why.
    const opaque = await json('model', 'train', 'sums', '--param', 'auc=0.5', '--register', '--', process.execPath, 'train.js');
    assert.equal((await ops('model', 'promote', `sums@${opaque.registered.version}`, '--to', 'canary')).code, 0);
    writeFileSync(join(repo.dir, 'ops.config.yaml'), `${CONFIG}    sums@canary:\n      - { metric: auc, minAbsoluteChange: 0 }\n`);
    const unknown = JSON.parse((await ops('model', 'promote', 'sums@2', '--to', 'canary', '--json')).stdout);
    assert.deepEqual(
      unknown.checks.map((c: { basis: string; passed: boolean; note: string }) => [c.basis, c.passed, c.note]),
      [['recorded', true, `recorded figures, not the same rows: v${opaque.registered.version} has no built-in model (model.json) to score them with`]],
    );
    writeFileSync(join(repo.dir, 'ops.config.yaml'), CONFIG);
  });

  it('keeps every alias move with who, when, from, to and why, and rolls back to the previous holder', async () => {
    assert.equal((await ops('model', 'promote', 'churn@1', '--to', 'staging')).code, 0);
    assert.equal((await ops('model', 'promote', 'churn@2', '--to', 'staging', '--reason', 'try v2')).code, 0);
    const rolled = await json('model', 'rollback', 'churn', '--alias', 'production', '--reason', 'v2 misbehaves');
    assert.deepEqual([rolled.fromVersion, rolled.toVersion, rolled.reason], [2, 1, 'v2 misbehaves']);

    const production = await json('model', 'history', 'churn', '--alias', 'production');
    assert.deepEqual(
      production.map((e: { fromVersion: number | null; toVersion: number; forced: boolean; reason: string | null }) => [e.fromVersion, e.toVersion, e.forced, e.reason]),
      [
        [2, 1, false, 'v2 misbehaves'],
        [1, 2, true, 'canary looked fine'],
        [null, 1, false, 'first model'],
      ],
    );
    assert.equal(production[0].until, null);
    assert.equal(production[1].until, production[0].at);
    assert.equal(production[2].until, production[1].at);
    assert.ok(production.every((e: { actor: string }) => e.actor.length > 0));
    const all = await json('model', 'history', 'churn');
    assert.equal(all.length, 5);
    const text = await ops('model', 'history', 'churn', '--alias', 'production');
    assert.match(text.stdout, /production\s+2\s+.*FORCED: canary looked fine/);

    const list = await json('model', 'list');
    assert.deepEqual(list.find((m: { name: string }) => m.name === 'churn').aliases, { production: 1, staging: 2 });
  });

  it('traces lineage both ways and diffs two versions', async () => {
    const up = await json('model', 'lineage', 'churn@1');
    const csvDigest = `sha256:${sha256(readFileSync(join(repo.dir, 'data/churn.csv')))}`;
    assert.deepEqual(up.upstream.datasets.map((d: { digest: string }) => d.digest), [csvDigest]);
    assert.equal(up.upstream.commit.sha, repo.git('rev-parse', 'HEAD'));
    assert.equal(up.upstream.run.kind, 'train');
    assert.deepEqual(up.downstream, { riskScores: [], releases: [] });

    const down = await json('model', 'lineage', '--dataset', csvDigest.slice(7, 19));
    assert.equal(down.dataset.digest, csvDigest);
    assert.deepEqual(down.versions.map((v: { model: string; version: number }) => `${v.model}@${v.version}`), ['churn@1']);

    const diff = await json('model', 'diff', 'churn@1', 'churn@production');
    assert.equal(diff.b, 'churn@1');
    const diff12 = await json('model', 'diff', 'churn@1', 'churn@2');
    const auc = diff12.metrics.find((r: { key: string }) => r.key === 'auc');
    assert.ok(Math.abs(auc.delta - (0.74 - auc.a)) < 1e-12);
    assert.deepEqual(diff12.params.find((r: { key: string }) => r.key === 'nTrees'), { key: 'nTrees', a: 40, b: null, same: false });
    assert.equal(diff12.datasets.length, 2);
  });

  it('gives 8 parallel register processes 8 distinct consecutive versions', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => ops('model', 'register', 'parallel', '--artifact', 'train.js', '--json')));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const versions = results.map((r) => JSON.parse(r.stdout).version).sort((a: number, b: number) => a - b);
    assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  // A PostgreSQL ledger's artifacts are in the database: test/shared-artifacts.test.ts corrupts a chunk there.
  it('detects a corrupted artifact and names the file', { skip: backend === 'postgres' && 'artifacts in the database' }, async () => {
    const shown = await json('model', 'show', 'churn@1');
    const model = shown.files.find((f: { path: string }) => f.path === 'model.json');
    const stored = join(repo.dir, '.ops', 'artifacts', 'sha256', model.digest.slice(7, 9), model.digest.slice(9));
    assert.ok(existsSync(stored));
    const bytes = readFileSync(stored);
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(stored, bytes);
    for (const args of [['model', 'verify', 'churn@1'], ['model', 'predict', 'churn@1', '--data', 'data/churn.csv'], ['model', 'promote', 'churn@1', '--to', 'champion']]) {
      const result = await ops(...args);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, new RegExp(`artifact ${stored} is corrupt: its content hashes to sha256:[0-9a-f]{64}, the ledger recorded ${model.digest}`));
      assert.equal(result.stdout, '');
    }
    assert.equal((await ops('model', 'verify', 'churn@2')).code, 0);
  });

  it('rejects bad input with one clear line and changes nothing', async () => {
    const before = await json('model', 'list');
    const trainRuns = (await json('runs', 'list', '--kind', 'train', '--limit', '100')).length;
    repo.write({ 'data/text.csv': 'a,b,label\n1,x,0\n2,y,1\n3,z,0\n4,w,1\n' });
    const cases: Array<[string[], number, RegExp]> = [
      [['model', 'show', 'nope'], 1, /model "nope" does not exist; registered models: churn, parallel, sums\n/],
      [['model', 'show', 'churn@99'], 1, /churn@99 does not exist; versions of churn run from 1 to 2/],
      [['model', 'show', 'churn@canary'], 1, /model "churn" has no alias "canary"/],
      [['model', 'promote', 'churn@1', '--to', 'v2'], 2, /"v2" is not a valid alias/],
      [['model', 'show', 'bad name'], 2, /"bad name" is not a valid model name/],
      [['model', 'train', 'x', '--data', 'data/churn.csv', '--target', 'missing'], 2, /column "missing" \(--target\) is not in .*churn\.csv; its columns are: day, tenure, tickets, noise, churned/],
      [['model', 'train', 'x', '--data', 'data/text.csv', '--target', 'label'], 2, /column "b" of .*text\.csv is not numeric: row 2 has "x"; choose numeric columns with --features/],
      [['model', 'train', 'x', '--data', 'data/churn.csv', '--target', 'churned', '--features', 'tenure', '--param', 'nTres=5'], 2, /unknown parameter "nTres"; did you mean nTrees\?/],
      [['model', 'train', 'x', '--data', 'data/nothing.csv', '--target', 'y'], 2, /cannot read data\/nothing\.csv/],
      [['model', 'register', 'x', '--run', '9999'], 1, /run 9999 does not exist/],
      [['model', 'rollback', 'churn', '--alias', 'canary'], 1, /model "churn" has no alias "canary"/],
    ];
    for (const [args, code, message] of cases) {
      const result = await ops(...args);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
    assert.deepEqual(await json('model', 'list'), before);
    const runs = await json('runs', 'list', '--kind', 'train', '--limit', '100');
    assert.equal(runs.length, trainRuns, 'no run recorded for rejected training input');
  });
});
