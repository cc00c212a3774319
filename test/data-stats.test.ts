import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compareProfiles, DEFAULT_DRIFT_THRESHOLDS } from '../src/core/data/drift.js';
import { profileDataset } from '../src/core/data/index.js';
import { DigestView, HyperLogLog, TDigest, hashNumber, hashString } from '../src/core/data/sketches.js';
import { chiSquaredSurvival, kolmogorovSurvival, ksPValue } from '../src/core/data/stats.js';
import { seededRandom } from '../src/core/forest/forest.js';

function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const dir = mkdtempSync(join(tmpdir(), 'ops-data-stats-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('t-digest', () => {
  it('answers quantiles of 200,000 normal values within 0.5% of rank, exact at the ends', () => {
    const normal = gaussian(seededRandom(7));
    const digest = new TDigest();
    const values = Float64Array.from({ length: 200_000 }, normal);
    for (const v of values) digest.add(v);
    const sorted = values.slice().sort();
    const view = new DigestView(digest.toJSON());
    assert.equal(view.total, 200_000);
    assert.equal(view.quantile(0), sorted[0]);
    assert.equal(view.quantile(1), sorted[sorted.length - 1]);
    for (const q of [0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999]) {
      const estimate = view.quantile(q);
      // The rank the estimate has among the true values.
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid]! < estimate) lo = mid + 1;
        else hi = mid;
      }
      assert.ok(Math.abs(lo / sorted.length - q) < 0.005, `q=${q}: estimate ${estimate} has rank ${lo / sorted.length}`);
      assert.ok(Math.abs(view.cdf(sorted[Math.floor(q * sorted.length)]!) - q) < 0.005, `cdf at the true ${q} quantile`);
    }
    assert.ok(digest.toJSON().centroids.length / 2 < 400, 'the centroid count is bounded by the compression');
  });

  it('merges: two halves merged answer like the whole', () => {
    const normal = gaussian(seededRandom(3));
    const a = new TDigest();
    const b = new TDigest();
    const whole = new TDigest();
    for (let i = 0; i < 50_000; i++) {
      const v = normal();
      (i % 2 ? a : b).add(v);
      whole.add(v);
    }
    a.merge(b);
    const merged = new DigestView(a.toJSON());
    const reference = new DigestView(whole.toJSON());
    assert.equal(merged.total, 50_000);
    for (const q of [0.05, 0.5, 0.95]) assert.ok(Math.abs(merged.quantile(q) - reference.quantile(q)) < 0.02, `q=${q}`);
    const restored = TDigest.fromJSON(a.toJSON());
    assert.equal(new DigestView(restored.toJSON()).quantile(0.5), merged.quantile(0.5));
  });
});

describe('HyperLogLog', () => {
  it('estimates 1,000 to 1,000,000 distinct values within 3%, and merges', () => {
    const hash = new Uint32Array(2);
    for (const n of [1_000, 100_000, 1_000_000]) {
      const hll = new HyperLogLog();
      for (let i = 0; i < n; i++) {
        hashNumber(i * 1.5, hash);
        hll.addHash(hash[0]!, hash[1]!);
        hashNumber(i * 1.5, hash); // a repeat changes nothing
        hll.addHash(hash[0]!, hash[1]!);
      }
      const estimate = hll.estimate();
      assert.ok(Math.abs(estimate - n) / n < 0.03, `${n} distinct: estimated ${estimate}`);
    }
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    for (let i = 0; i < 20_000; i++) {
      hashString(`user-${i}`, hash);
      (i < 12_000 ? a : b).addHash(hash[0]!, hash[1]!);
    }
    a.merge(b);
    assert.ok(Math.abs(a.estimate() - 20_000) / 20_000 < 0.03);
    assert.equal(HyperLogLog.fromJSON(a.toJSON()).estimate(), a.estimate());
  });
});

describe('p-values', () => {
  it('match the published tables', () => {
    // chi-squared critical values: 3.841 (1 dof) and 18.307 (10 dof) at 0.05; 6.635 (1 dof) at 0.01.
    assert.ok(Math.abs(chiSquaredSurvival(3.841, 1) - 0.05) < 1e-3);
    assert.ok(Math.abs(chiSquaredSurvival(18.307, 10) - 0.05) < 1e-3);
    assert.ok(Math.abs(chiSquaredSurvival(6.635, 1) - 0.01) < 1e-3);
    assert.ok(Math.abs(chiSquaredSurvival(2, 2) - Math.exp(-1)) < 1e-9, 'two dof: exp(-x/2)');
    // Kolmogorov: Q(1.358) = 0.05, Q(1.628) = 0.01.
    assert.ok(Math.abs(kolmogorovSurvival(1.358) - 0.05) < 1e-3);
    assert.ok(Math.abs(kolmogorovSurvival(1.628) - 0.01) < 1e-3);
    assert.equal(kolmogorovSurvival(0.1), 1);
    // scipy.stats.ks_2samp's asymptotic p for D = 0.1, n = m = 500 is about 0.0125.
    assert.ok(Math.abs(ksPValue(0.1, 500, 500) - 0.0125) < 0.002);
  });
});

/** A CSV file of one normal column (and a categorical one) written for real. */
function writeSample(name: string, seed: number, rows: number, shift: number, categoryShift = false): string {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  const lines = ['x,plan'];
  for (let i = 0; i < rows; i++) {
    const u = random();
    const plan = categoryShift ? (u < 0.2 ? 'free' : u < 0.5 ? 'pro' : 'team') : u < 0.6 ? 'free' : u < 0.9 ? 'pro' : 'team';
    lines.push(`${(10 + 2 * (normal() + shift)).toFixed(5)},${plan}`);
  }
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('drift, a known answer over 20 seeds', () => {
  it('flags a column shifted by one standard deviation every time, an unshifted sample of the same distribution never', async (t) => {
    const rows = 2_000;
    let detected = 0;
    let falsePositives = 0;
    const statistics: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const now = () => Date.now();
      const reference = await profileDataset({ path: writeSample(`ref-${seed}.csv`, seed, rows, 0), cwd: dir, now });
      const same = await profileDataset({ path: writeSample(`same-${seed}.csv`, 1000 + seed, rows, 0), cwd: dir, now });
      const shifted = await profileDataset({ path: writeSample(`shift-${seed}.csv`, 2000 + seed, rows, 1), cwd: dir, now });
      const noDrift = compareProfiles(reference, same, DEFAULT_DRIFT_THRESHOLDS, ['x']).columns[0]!;
      const drift = compareProfiles(reference, shifted, DEFAULT_DRIFT_THRESHOLDS, ['x']).columns[0]!;
      if (drift.drifted) detected++;
      if (noDrift.drifted) falsePositives++;
      const stat = (c: typeof drift, test: string) => c.tests.find((x) => x.test === test)!.statistic;
      statistics.push(`seed ${seed}: shifted psi ${stat(drift, 'psi')} ks ${stat(drift, 'ks')}; same psi ${stat(noDrift, 'psi')} ks ${stat(noDrift, 'ks')}`);
    }
    t.diagnostic(`${rows} rows per sample, thresholds psi >= ${DEFAULT_DRIFT_THRESHOLDS.psi}, ks D >= ${DEFAULT_DRIFT_THRESHOLDS.ks} with p < ${DEFAULT_DRIFT_THRESHOLDS.pValue}`);
    t.diagnostic(`shifted by 1 sd: ${detected}/20 flagged; unshifted: ${falsePositives}/20 false positives`);
    for (const line of statistics.slice(0, 3)) t.diagnostic(line);
    assert.equal(detected, 20, statistics.join('\n'));
    assert.equal(falsePositives, 0, statistics.join('\n'));
  });

  it('flags a changed category mix by chi-squared and Jensen-Shannon, not the same mix', async () => {
    const now = () => Date.now();
    const reference = await profileDataset({ path: writeSample('cat-ref.csv', 1, 3000, 0), cwd: dir, now });
    const same = await profileDataset({ path: writeSample('cat-same.csv', 2, 3000, 0), cwd: dir, now });
    const changed = await profileDataset({ path: writeSample('cat-changed.csv', 3, 3000, 0, true), cwd: dir, now });
    const quiet = compareProfiles(reference, same, DEFAULT_DRIFT_THRESHOLDS, ['plan']).columns[0]!;
    const loud = compareProfiles(reference, changed, DEFAULT_DRIFT_THRESHOLDS, ['plan']).columns[0]!;
    assert.equal(quiet.drifted, false, JSON.stringify(quiet));
    assert.equal(loud.drifted, true, JSON.stringify(loud));
    assert.deepEqual(loud.tests.map((x) => x.test), ['chi-squared', 'jensen-shannon']);
    assert.ok(loud.tests[0]!.pValue! < 1e-10);
    assert.ok(loud.tests[1]!.statistic > 0.2);
  });
});
