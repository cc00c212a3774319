import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnomalyDetector } from '../src/core/watch/detector.js';
import { nabScore, probationPeriod, scaledSigmoid, windowRows } from '../src/core/watch/nab.js';
import { runOps, sharedData } from './helpers/ops.js';

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

/** A noisy daily-like wave: deterministic, so the assertions are too. */
function wave(length: number): number[] {
  let seed = 7;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 2;
  return Array.from({ length }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 96) + noise());
}

const scoresOf = (values: number[], expectedLength = values.length) => {
  const detector = new AnomalyDetector({ expectedLength });
  return values.map((v, i) => detector.score(i * 300_000, v));
};

describe('the watch detector', () => {
  it('streams: a prefix scores the same alone as inside the whole series (no look-ahead)', () => {
    const values = wave(2000);
    values[1500] = 95;
    const whole = scoresOf(values);
    assert.deepEqual(scoresOf(values.slice(0, 1600), 2000), whole.slice(0, 1600));
  });

  it('scores a spike and a level shift high, once per episode, and stays low on the normal wave', () => {
    const values = wave(3000);
    values[1500] = 95;
    for (let i = 2200; i < 3000; i++) values[i]! += 40;
    const scores = scoresOf(values);
    assert.ok(scores[1500]! >= 0.8, `spike ${scores[1500]}`);
    assert.ok(scores[2200]! >= 0.8, `shift ${scores[2200]}`);
    const alarms = scores.map((s, i) => [s, i] as const).filter(([s]) => s >= 0.8).map(([, i]) => i);
    assert.deepEqual(alarms, [1500, 2200], 'one alarm per episode, none on the wave itself');
  });
});

describe('the watch detector on short noisy series (Prometheus anomaly mode reads an hour at most)', () => {
  it('does not alarm on plain noise, however short the window', () => {
    let seed = 11;
    const uniform = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    let alarms = 0;
    for (const length of [17, 60, 120, 240]) {
      for (let series = 0; series < 50; series++) {
        const scores = scoresOf(Array.from({ length }, () => 5 + uniform()));
        if (Math.max(...scores.slice(-3)) >= 0.5) alarms++;
      }
    }
    assert.ok(alarms <= 4, `${alarms} of 200 calm series alarmed on their last three points (at most 2% allowed)`);
  });
});

describe('ops watch eval --nab (the Numenta Anomaly Benchmark in ../shared/data/nab)', () => {
  it('scores the detector with NAB\'s three profiles, standard >= 60, and writes NAB\'s results layout', async (t) => {
    const labels = sharedData(t, 'nab/labels/combined_windows.json');
    if (!labels) return;
    const nab = join(labels, '..', '..');
    const out = mkdtempSync(join(tmpdir(), 'ops-nab-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const r = await runOps(['watch', 'eval', '--nab', nab, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const evaluation = JSON.parse(r.stdout);
    assert.deepEqual([evaluation.detector, evaluation.files, evaluation.points], ['opsDetector', 58, 365_558]);
    const score = Object.fromEntries(evaluation.profiles.map((p: { profile: string; score: number }) => [p.profile, p.score]));
    assert.ok(score.standard >= 60, `standard ${score.standard}`);
    assert.ok(score.reward_low_FP_rate > 0 && score.reward_low_FN_rate > score.standard, JSON.stringify(score));
    const taxi = readFileSync(join(out, 'opsDetector', 'realKnownCause', 'opsDetector_nyc_taxi.csv'), 'utf8').trim().split('\n');
    assert.equal(taxi[0], 'timestamp,value,anomaly_score,label');
    assert.equal(taxi.length - 1, 10_320);
    assert.match(taxi[1]!, /^2014-07-01 00:00:00,10844,0,0$/);
    assert.equal(taxi.filter((line) => line.endsWith(',1')).length, 5 * 207, 'five windows of 207 rows (a tenth of the file shared by its five anomalies)');
  });

  it('rejects a folder that is not NAB with one error line', async () => {
    const r = await runOps(['watch', 'eval', '--nab', tmpdir()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr.trim().split('\n').pop()!, /^error: .*\/labels\/combined_windows\.json does not exist; give the NAB folder, which holds data\/ and labels\/$/);
  });
});
