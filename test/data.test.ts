import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../src/core/forest/forest.js';
import { cleanEnv, runOps, runOpsJson } from './helpers/ops.js';

const dir = mkdtempSync(join(tmpdir(), 'ops-data-'));
const env = cleanEnv();
const run = (args: string[]) => runOps([...args, '--ledger', join(dir, 'ledger.db')], { cwd: dir, env });
const runJson = (args: string[]) => runOpsJson([...args, '--ledger', join(dir, 'ledger.db')], { cwd: dir, env });
after(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  id: number;
  amount: number | null;
  plan: string;
  signup: string;
  active: boolean;
}

function rows(n: number, seed: number, shift = 0): Row[] {
  const random = seededRandom(seed);
  const day = Date.parse('2026-11-01T00:00:00Z');
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    amount: i % 50 === 7 ? null : Math.round((100 + shift + (random() - 0.5) * 40) * 100) / 100,
    plan: random() < 0.6 ? 'free' : random() < 0.8 ? 'pro' : 'team',
    signup: new Date(day + i * 60_000).toISOString(),
    active: random() < 0.5,
  }));
}

const toCsv = (data: Row[]) => `id,amount,plan,signup,active\n${data.map((r) => `${r.id},${r.amount ?? ''},${r.plan},${r.signup},${r.active}`).join('\n')}\n`;
const toJsonl = (data: Row[]) => `${data.map((r) => JSON.stringify(r)).join('\n')}\n`;

before(async () => {
  writeFileSync(join(dir, 'train.csv'), toCsv(rows(2000, 1)));
  writeFileSync(join(dir, 'same.csv'), toCsv(rows(2000, 2)));
  writeFileSync(join(dir, 'shifted.csv'), toCsv(rows(2000, 3, 15)));
  writeFileSync(join(dir, 'train.jsonl'), toJsonl(rows(2000, 1)));
  const data = rows(2000, 1);
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: Int32Array.from(data, (r) => r.id), type: 'INT32' },
      { name: 'amount', data: data.map((r) => r.amount), type: 'DOUBLE' },
      { name: 'plan', data: data.map((r) => r.plan), type: 'STRING' },
      { name: 'signup', data: data.map((r) => r.signup), type: 'STRING' },
      { name: 'active', data: data.map((r) => r.active), type: 'BOOLEAN' },
    ],
    rowGroupSize: 500,
  });
  writeFileSync(join(dir, 'train.parquet'), Buffer.from(buffer));
  mkdirSync(join(dir, 'parts'));
  writeFileSync(join(dir, 'parts', 'a.csv'), toCsv(rows(2000, 1).slice(0, 1200)));
  writeFileSync(join(dir, 'parts', 'b.csv'), toCsv(rows(2000, 1).slice(1200)));
});

describe('ops data profile', () => {
  it('profiles CSV, JSON Lines, Parquet and a folder of CSV files alike', async () => {
    const profiles = [];
    for (const file of ['train.csv', 'train.jsonl', 'train.parquet', 'parts']) {
      const result = await runJson(['data', 'profile', file]);
      assert.equal(result.code, 0, result.stderr);
      profiles.push(result.json);
    }
    for (const p of profiles) {
      assert.equal(p.rows, 2000);
      const byName = Object.fromEntries(p.columns.map((c: any) => [c.name, c]));
      assert.equal(byName.id.type, 'integer');
      assert.equal(byName.id.distinct, 2000);
      assert.equal(byName.id.distinctExact, true);
      assert.equal(byName.amount.type, 'number');
      assert.equal(byName.amount.nulls, 40);
      assert.equal(byName.amount.count, 1960);
      assert.equal(byName.plan.type, 'string');
      assert.equal(byName.plan.categories.complete, true);
      assert.equal(byName.signup.type, 'timestamp');
      assert.equal(byName.signup.timestamps.max, '2026-11-02T09:19:00.000Z');
      assert.equal(byName.active.type, 'boolean');
      assert.equal(byName.active.distinct, 2);
    }
    // The same data gives the same statistics in every format.
    const stats = (p: any) => p.columns.map((c: any) => [c.name, c.count, c.nulls, c.distinct, c.numeric?.mean, c.numeric?.quantiles.p50, c.categories?.values.slice(0, 3)]);
    assert.deepEqual(stats(profiles[1]), stats(profiles[0]));
    assert.deepEqual(stats(profiles[2]), stats(profiles[0]));
    assert.deepEqual(stats(profiles[3]), stats(profiles[0]));
    assert.equal(profiles[3].source.files, 2);
    const id = profiles[0].columns[0];
    assert.equal(id.numeric.min, 1);
    assert.equal(id.numeric.max, 2000);
    assert.equal(id.numeric.mean, 1000.5);
    assert.equal(id.numeric.quantiles.p50, 1000.5, 'exact counts give the interpolated median, as pandas');
    assert.equal(id.numeric.quantiles.p25, 500.75);
    assert.equal(id.numeric.histogram.counts.reduce((a: number, b: number) => a + b, 0), 2000);
    assert.match(profiles[0].source.digest, /^sha256:[0-9a-f]{64}$/);
  });

  it('prints a table, and markdown with --format markdown', async () => {
    const table = await run(['data', 'profile', 'train.csv']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /2000 rows, 5 columns \(csv\)/);
    assert.match(table.stdout, /^amount\s+number\s+1960\s+40\s/m);
    assert.match(table.stdout, /free \(\d+\)/);
    const markdown = await run(['data', 'profile', 'train.csv', '--format', 'markdown']);
    assert.match(markdown.stdout, /^\| COLUMN \| TYPE \|/m);
    assert.match(markdown.stdout, /^\| plan \| string \| 2000 \| 0 \| 3 \|/m);
  });

  it('names the row of a ragged row, the line of bad UTF-8, a missing header; exit 2', async () => {
    writeFileSync(join(dir, 'ragged.csv'), 'a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n');
    writeFileSync(join(dir, 'latin1.csv'), Buffer.concat([Buffer.from('name,city\nann,paris\nbob,'), Buffer.from([0x4d, 0xfc, 0x6e, 0x63, 0x68, 0x65, 0x6e]), Buffer.from('\n')]));
    writeFileSync(join(dir, 'noheader.csv'), '1,2,3\n4,5,6\n');
    writeFileSync(join(dir, 'bad.jsonl'), '{"a": 1}\n{"a": 2,}\n');
    writeFileSync(join(dir, 'bad.parquet'), 'PAR1 not really parquet');
    writeFileSync(join(dir, 'quotes.csv'), 'a,b\n1,"open\n2,3\n');
    const cases: Array<[string, RegExp]> = [
      ['ragged.csv', /ragged\.csv: row 4 has 2 fields where the header has 3/],
      ['latin1.csv', /latin1\.csv: line 3 is not valid UTF-8/],
      ['noheader.csv', /noheader\.csv: row 1 is not a header: every field is a number/],
      ['bad.jsonl', /bad\.jsonl: line 2 is not valid JSON/],
      ['bad.parquet', /bad\.parquet is not a valid Parquet file/],
      ['quotes.csv', /quotes\.csv: row 2 has a quoted field that is never closed/],
    ];
    for (const [file, message] of cases) {
      const result = await run(['data', 'profile', file]);
      assert.equal(result.code, 2, `${file}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1, result.stderr);
      assert.equal(result.stdout, '');
    }
    const missing = await run(['data', 'profile', 'nope.csv']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.csv does not exist/);
  });
});

const SUITE = `rows: { min: 1000, max: 100000 }
columns:
  id: { type: integer, unique: true, notNull: true }
  amount: { type: number, notNull: 0.95, range: { min: 0, max: 1000 } }
  plan: { allowed: [free, pro, team], regex: '^[a-z]+$' }
  signup: { type: timestamp, freshness: 3650d }
`;

describe('ops data check', () => {
  it('passes a sound file (exit 0) and fails a broken one naming each failed expectation (exit 1)', async () => {
    writeFileSync(join(dir, 'suite.yaml'), SUITE);
    const good = await runJson(['data', 'check', 'train.csv', '--suite', 'suite.yaml']);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(good.json.passed, true);
    assert.ok(good.json.checks.length >= 10);

    const broken = rows(1500, 4).map((r, i) => ({ ...r, id: i === 900 ? 5 : r.id, amount: i < 200 ? null : i === 300 ? -3 : r.amount, plan: i === 1000 ? 'Enterprise' : r.plan }));
    writeFileSync(join(dir, 'broken.csv'), toCsv(broken));
    const bad = await runJson(['data', 'check', 'broken.csv', '--suite', 'suite.yaml']);
    assert.equal(bad.code, 1, bad.stderr);
    const failed = Object.fromEntries(bad.json.checks.filter((c: any) => !c.passed).map((c: any) => [c.check, c.observed]));
    assert.deepEqual(Object.keys(failed).sort(), ['amount: not null in 95.0% of rows', 'amount: range [0, 1000]', 'id: unique', 'plan: matches /^[a-z]+$/', 'plan: values in {free, pro, team}'].sort());
    assert.match(failed['id: unique'], /1 duplicates; first at row 902: "5"/);
    assert.match(failed['plan: values in {free, pro, team}'], /1 other values; first at row 1002: "Enterprise"/);

    const text = await run(['data', 'check', 'broken.csv', '--suite', 'suite.yaml']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^amount: range \[0, 1000\]\s+\[0, 1000\]\s+\[-3, [\d.]+\]\s+FAIL$/m);
    assert.match(text.stdout, /FAILED: 5 of \d+ checks failed/);
    const markdown = await run(['data', 'check', 'broken.csv', '--suite', 'suite.yaml', '--format', 'markdown']);
    assert.equal(markdown.code, 1);
    assert.match(markdown.stdout, /^## Data check of /m);
    assert.match(markdown.stdout, /^\| id: unique \| no duplicates \| 1 duplicates; first at row 902: "5" \| \*\*FAIL\*\* \|$/m);
  });

  it('measures drift against a reference file: the same distribution passes, a shifted one fails with its statistics', async () => {
    const same = await runJson(['data', 'check', 'same.csv', '--against', 'train.csv']);
    assert.equal(same.code, 0, JSON.stringify(same.json?.drift));
    const shifted = await runJson(['data', 'check', 'shifted.csv', '--against', 'train.csv']);
    assert.equal(shifted.code, 1);
    assert.deepEqual(shifted.json.drift.drifted, ['amount']);
    const amount = shifted.json.drift.columns.find((c: any) => c.column === 'amount');
    const psi = amount.tests.find((t: any) => t.test === 'psi');
    const ks = amount.tests.find((t: any) => t.test === 'ks');
    assert.equal(psi.threshold, 0.2);
    assert.ok(psi.statistic > 1);
    assert.ok(ks.statistic > 0.3 && ks.pValue < 1e-10, JSON.stringify(ks)); // uniform of width 40 shifted by 15: D = 0.375
    const plan = shifted.json.drift.columns.find((c: any) => c.column === 'plan');
    assert.deepEqual(plan.tests.map((t: any) => t.test), ['chi-squared', 'jensen-shannon']);
    const text = await run(['data', 'check', 'shifted.csv', '--against', 'train.csv']);
    assert.match(text.stdout, /^amount\s+number\s+psi\s+[\d.]+\s+-\s+>= 0\.2\s+DRIFT$/m);
    assert.match(text.stdout, /FAILED: 1 column drifted \(amount\)/);
  });

  it('reports a bad suite in one line with its file, line and key (exit 2)', async () => {
    writeFileSync(join(dir, 'bad-suite.yaml'), 'columns:\n  amount:\n    range: { min: 0 }\n    notnull: 0.9\n');
    const result = await run(['data', 'check', 'train.csv', '--suite', 'bad-suite.yaml']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad-suite\.yaml:4: columns\.amount\.notnull: unknown key "notnull"/);
  });
});
