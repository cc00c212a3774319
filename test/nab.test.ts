import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nabScore, probationPeriod, scaledSigmoid, windowRows } from '../src/core/watch/nab.js';

const scores = (rows: number, detections: number[]) => {
  const s = new Float64Array(rows);
  for (const row of detections) s[row] = 1;
  return s;
};
const standard = (detections: number[]) => nabScore([{ scores: scores(1000, detections), windows: [[500, 599]] }]).find((p) => p.profile === 'standard')!;

describe('NAB scoring', () => {
  it('gives the null detector 0 and the perfect one 100', () => {
    assert.equal(standard([]).score, 0);
    assert.equal(standard([500]).score, 100);
    assert.equal(probationPeriod(1000), 150);
    assert.equal(probationPeriod(22_000), 750);
  });

  it('pays a late detection less, charges a false positive by the profile, and ignores the probation period', () => {
    const late = standard([550]);
    // Halfway into a 100-row window: scaledSigmoid(-0.5) = 0.8483; null -1, perfect 0.9866.
    assert.equal(scaledSigmoid(-0.5).toFixed(4), '0.8483');
    assert.equal(late.score.toFixed(2), ((100 * (scaledSigmoid(-0.5) + 1)) / (scaledSigmoid(-1) + 1)).toFixed(2));
    const withFalse = standard([300, 550]);
    assert.equal(withFalse.raw.toFixed(4), (scaledSigmoid(-0.5) - 0.11).toFixed(4));
    assert.equal(withFalse.fp, 1);
    const lowFp = nabScore([{ scores: scores(1000, [300, 550]), windows: [[500, 599]] }]).find((p) => p.profile === 'reward_low_FP_rate')!;
    assert.equal(lowFp.raw.toFixed(4), (scaledSigmoid(-0.5) - 0.22).toFixed(4));
    // Row 100 is in the probation period (the first 150 rows): not scored at all.
    assert.equal(standard([100, 550]).raw, late.raw);
  });

  it('finds window rows from NAB timestamps', () => {
    const start = Date.parse('2014-04-10T07:00:00Z');
    const timestamps = Array.from({ length: 10 }, (_, i) => start + i * 300_000);
    assert.deepEqual(windowRows(timestamps, [['2014-04-10 07:05:00.000000', '2014-04-10 07:20:00.000000']]), [[1, 4]]);
  });
});
