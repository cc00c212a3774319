import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cleanEnv, runOps, sharedData } from './helpers/ops.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'ops-risk-eval-'));
const opsJson = async (args: string[], cwd: string) => {
  const result = await runOps([...args, '--json'], { cwd, env: cleanEnv() });
  return { ...result, json: result.code === 0 ? JSON.parse(result.stdout) : null };
};

describe('ops risk eval', () => {
  it('reproduces the fixed AUC of the jdt data set with seed 1, and never reads the "__" copy of the label', async (t) => {
    const jdt = sharedData(t, 'jit/jdt_k_feature.csv');
    if (!jdt) return;
    const dir = scratch();
    const result = await opsJson(['risk', 'eval', '--csv', jdt, '--seed', '1'], dir);
    assert.equal(result.code, 0, result.stderr);
    const [jdtResult] = result.json.results;
    assert.equal(jdtResult.dataset, 'jdt');
    assert.equal(jdtResult.metrics.auc.toFixed(3), '0.727');
    assert.deepEqual([jdtResult.metrics.rows, jdtResult.metrics.trainRows, jdtResult.metrics.testRows, jdtResult.metrics.testPositives], [3279, 2623, 656, 321]);
    for (const key of ['f1', 'precision', 'recall', 'caughtInRiskiest20']) assert.ok(jdtResult.metrics[key] > 0 && jdtResult.metrics[key] <= 1, key);
    assert.equal(result.json.meanAuc, jdtResult.metrics.auc);

    // Scramble "__" (the label's copy): a leak would change the AUC; it must stay bit for bit the same.
    const lines = readFileSync(jdt, 'utf8').trimEnd().split('\n');
    const column = lines[0]!.split(',').indexOf('__');
    const scrambled = lines.map((line, i) => {
      if (i === 0) return line;
      const cells = line.split(',');
      cells[column] = String((i * 7919) % 2);
      return cells.join(',');
    });
    writeFileSync(join(dir, 'scrambled.csv'), `${scrambled.join('\n')}\n`);
    const again = await opsJson(['risk', 'eval', '--csv', 'scrambled.csv', '--seed', '1'], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.results[0].metrics.auc, jdtResult.metrics.auc);

    // Another seed grows other trees.
    const seeded = await opsJson(['risk', 'eval', '--csv', jdt, '--seed', '2'], dir);
    assert.notEqual(seeded.json.results[0].metrics.auc, jdtResult.metrics.auc);
  });

  it('prints a table with the mean AUC of several data sets', async (t) => {
    const jdt = sharedData(t, 'jit/jdt_k_feature.csv');
    if (!jdt) return;
    const dir = scratch();
    writeFileSync(join(dir, 'copy_k_feature.csv'), readFileSync(jdt));
    const result = await runOps(['risk', 'eval', '--csv', jdt, 'copy_k_feature.csv', '--trees', '20'], { cwd: dir, env: cleanEnv() });
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.trim().split('\n');
    assert.match(rows[0]!, /^DATA SET\s+ROWS\s+TEST\s+BUGGY\s+AUC\s+LA AUC\s+F1\s+PRECISION\s+RECALL\s+CAUGHT@20%$/);
    const auc = rows[1]!.split(/\s+/)[4]!;
    assert.match(rows[1]!, /^jdt\s+3279\s+656\s+49%/);
    assert.match(rows[2]!, /^copy\s+3279/);
    assert.equal(rows[3]!.split(/\s+/)[1], auc, 'the same data twice: the mean is its AUC');
  });

  it('rejects bad input with one clear line', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'partial.csv'), 'sha,bug,ns,nd,nf,entropy,ld,lt,fix,ndev,age,nuc,exp,rexp,sexp\nabc,1,1,1,1,0,1,1,0,1,1,1,1,1,1\n');
    writeFileSync(join(dir, 'labels.csv'), `date,bug,ns,nd,nf,entropy,la,ld,lt,fix,ndev,age,nuc,exp,rexp,sexp\n${Array.from({ length: 20 }, (_, i) => `${i},${i === 3 ? 2 : i % 2},1,1,1,0,1,1,1,0,1,1,1,1,1,1`).join('\n')}\n`);
    writeFileSync(join(dir, 'clean.csv'), `date,bug,ns,nd,nf,entropy,la,ld,lt,fix,ndev,age,nuc,exp,rexp,sexp\n${Array.from({ length: 20 }, (_, i) => `${i},${i > 17 ? 1 : 0},1,1,1,0,1,1,1,0,1,1,1,1,1,1`).join('\n')}\n`);
    const cases: Array<[string[], RegExp]> = [
      [['--csv', 'partial.csv'], /error: partial\.csv lacks the columns date, la; a JIT data set needs date, bug, ns/],
      [['--csv', 'labels.csv'], /column "bug" of labels\.csv must be 0 or 1: row 5 has 2/],
      [['--csv', 'clean.csv'], /the oldest 80% of clean\.csv's rows are all labelled alike \(0 bug-inducing of 16\)/],
      [['--csv', 'absent.csv'], /cannot read absent\.csv/],
      [['--csv', 'partial.csv', '--repo', '.'], /give --csv FILE\.\.\. or --repo PATH \(one of them\)/],
      [[], /give --csv FILE\.\.\. or --repo PATH/],
      [['--csv', 'partial.csv', '--threshold', '2'], /--threshold must be a probability from 0 to 1, not "2"/],
      [['--repo', '.'], /is not a git repository/],
    ];
    for (const [args, message] of cases) {
      const result = await runOps(['risk', 'eval', ...args], { cwd: dir, env: cleanEnv() });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr.match(/error:/g)?.length, 1, result.stderr);
    }
  });
});
