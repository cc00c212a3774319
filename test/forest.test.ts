import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RandomForestClassifier } from 'ml-random-forest';
import { binFeature, DEFAULT_FOREST_PARAMS, RandomForest, seededRandom } from '../src/core/forest/forest.js';
import { auc, binaryMetrics, regressionMetrics } from '../src/core/forest/metrics.js';

/** Two noisy features decide the class through a non-linear boundary; a third is noise. */
function circles(n: number, seed: number) {
  const random = seededRandom(seed);
  const columns = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = random() * 4 - 2;
    const b = random() * 4 - 2;
    columns[0]![i] = a;
    columns[1]![i] = b;
    columns[2]![i] = random();
    y[i] = a * a + b * b + (random() - 0.5) * 0.6 < 2 ? 1 : 0;
  }
  return { columns, y };
}

const rowsOf = (columns: Float64Array[]) => Array.from({ length: columns[0]!.length }, (_, i) => columns.map((c) => c[i]!));

describe('random forest', () => {
  it('draws bootstrap rows in proportion to their sample weight', () => {
    // Pure noise: one feature that says nothing, labels alternating. Unweighted, a row is 1 half the
    // time; with the positives weighing 4, four in five bootstrap draws are positives.
    const n = 400;
    const data = { columns: [Float64Array.from({ length: n }, (_, i) => i % 7)], y: Float64Array.from({ length: n }, (_, i) => i % 2) };
    const params = { ...DEFAULT_FOREST_PARAMS, nTrees: 40, seed: 11 };
    const meanP1 = (forest: RandomForest) => {
      const p = forest.predict([Float64Array.from({ length: 7 }, (_, i) => i)]);
      return Array.from({ length: 7 }, (_, i) => p[i * 2 + 1]!).reduce((a, b) => a + b) / 7;
    };
    const plain = meanP1(RandomForest.train('classification', data, 2, params));
    const weighted = meanP1(RandomForest.train('classification', { ...data, sampleWeight: Float64Array.from(data.y, (y) => (y ? 4 : 1)) }, 2, params));
    assert.ok(Math.abs(plain - 0.5) < 0.05, `unweighted ${plain}`);
    assert.ok(Math.abs(weighted - 0.8) < 0.05, `weighted ${weighted}`);
    const ones = RandomForest.train('classification', { ...data, sampleWeight: new Float64Array(n).fill(1) }, 2, { ...params, bootstrap: false });
    assert.deepEqual(ones.predict(data.columns), RandomForest.train('classification', data, 2, { ...params, bootstrap: false }).predict(data.columns), 'weights of 1 without bootstrap: the same forest');
    assert.throws(() => RandomForest.train('classification', { ...data, sampleWeight: new Float64Array(3) }, 2, params), /one non-negative number per row/);
  });

  it('bins exactly below maxBins distinct values and by quantiles above, never splitting equal values', () => {
    const few = binFeature(Float64Array.from([3, 1, 2, 2, 3, 1]), 255);
    assert.deepEqual(Array.from(few.thresholds), [1.5, 2.5]);
    assert.deepEqual(Array.from(few.bins), [2, 0, 1, 1, 2, 0]);
    const values = Float64Array.from({ length: 10_000 }, (_, i) => i % 1000);
    const many = binFeature(values, 16);
    assert.ok(many.thresholds.length <= 15 && many.thresholds.length >= 12, `${many.thresholds.length} cuts`);
    for (let i = 0; i < values.length; i++) {
      const b = many.bins[i]!;
      assert.ok(b === many.thresholds.length || values[i]! <= many.thresholds[b]!);
      assert.ok(b === 0 || values[i]! > many.thresholds[b - 1]!);
    }
  });

  it('scores training rows out of bag: the same trees, and no peeking at the rows a tree learned', () => {
    const train = circles(1500, 3);
    const params = { ...DEFAULT_FOREST_PARAMS, nTrees: 60 };
    const plain = RandomForest.train('classification', train, 2, params);
    const { forest, outOfBag } = RandomForest.trainWithOutOfBag('classification', train, 2, params);
    assert.deepEqual(forest.toJSON(), plain.toJSON());
    const positive = Array.from(train.y, (v) => v === 1);
    const inBagScores = forest.predict(train.columns);
    const inSample = auc(Float64Array.from(positive, (_, i) => inBagScores[i * 2 + 1]!), positive)!;
    const oob = auc(Float64Array.from(positive, (_, i) => outOfBag[i * 2 + 1]!), positive)!;
    const fresh = circles(1500, 4);
    const heldOut = forest.predict(fresh.columns);
    const truth = Array.from(fresh.y, (v) => v === 1);
    const heldOutAuc = auc(Float64Array.from(truth, (_, i) => heldOut[i * 2 + 1]!), truth)!;
    // In-sample scores are flattered (near 1); out-of-bag ones look like new data's.
    assert.ok(inSample > 0.995, `in-sample ${inSample}`);
    assert.ok(Math.abs(oob - heldOutAuc) < 0.02, `out of bag ${oob}, held out ${heldOutAuc}`);
    for (let r = 0; r < 1500; r++) assert.ok(Math.abs(outOfBag[r * 2]! + outOfBag[r * 2 + 1]! - 1) < 1e-9);
  });

  it('agrees with ml-random-forest (the reference) on small data', () => {
    const train = circles(400, 7);
    const test = circles(300, 8);
    const ours = RandomForest.train('classification', train, 2, { ...DEFAULT_FOREST_PARAMS, nTrees: 50, seed: 3 });
    const probabilities = ours.predict(test.columns);
    const ourLabels = Array.from({ length: 300 }, (_, i) => (probabilities[i * 2 + 1]! >= 0.5 ? 1 : 0));

    const reference = new RandomForestClassifier({ nEstimators: 50, seed: 3, maxFeatures: 1.0, replacement: true });
    reference.train(rowsOf(train.columns), Array.from(train.y));
    const referenceLabels = reference.predict(rowsOf(test.columns));

    const accuracy = (labels: number[]) => labels.filter((l, i) => l === test.y[i]).length / labels.length;
    const agreement = ourLabels.filter((l, i) => l === referenceLabels[i]).length / ourLabels.length;
    assert.ok(accuracy(ourLabels) >= 0.85, `ours ${accuracy(ourLabels)}`);
    assert.ok(Math.abs(accuracy(ourLabels) - accuracy(referenceLabels)) <= 0.05, `ours ${accuracy(ourLabels)} vs reference ${accuracy(referenceLabels)}`);
    assert.ok(agreement >= 0.88, `the two agree on ${agreement} of the rows`);
  });

  it('is deterministic for a seed and loads back from JSON to bit-identical predictions', () => {
    const data = circles(500, 11);
    const test = circles(200, 12);
    const params = { ...DEFAULT_FOREST_PARAMS, nTrees: 30, seed: 42 };
    const first = RandomForest.train('classification', data, 2, params);
    const again = RandomForest.train('classification', data, 2, params);
    const loaded = RandomForest.fromJSON(JSON.parse(JSON.stringify(first.toJSON())));
    const bytes = (f: RandomForest) => Buffer.from(f.predict(test.columns).buffer);
    assert.ok(bytes(first).equals(bytes(again)));
    assert.ok(bytes(first).equals(bytes(loaded)));
    const other = RandomForest.train('classification', data, 2, { ...params, seed: 43 });
    assert.ok(!bytes(first).equals(bytes(other)));
  });

  it('regresses a smooth function', () => {
    const random = seededRandom(5);
    const make = (n: number) => {
      const x = Float64Array.from({ length: n }, () => random() * 6 - 3);
      return { columns: [x], y: Float64Array.from(x, (v) => v * v) };
    };
    const train = make(1000);
    const test = make(200);
    const forest = RandomForest.train('regression', train, 0, { ...DEFAULT_FOREST_PARAMS, nTrees: 30, maxFeatures: 'all' });
    const metrics = regressionMetrics(forest.predict(test.columns), test.y);
    assert.ok(metrics.r2 > 0.98, `r2 ${metrics.r2}`);
    assert.ok(metrics.rmse < 0.4, `rmse ${metrics.rmse}`);
  });

  it('scores AUC with ties counted half, as scikit-learn does', () => {
    // sklearn.metrics.roc_auc_score([0, 0, 1, 1, 1], [0.1, 0.4, 0.35, 0.8, 0.4]) == 0.75
    assert.equal(auc([0.1, 0.4, 0.35, 0.8, 0.4], [false, false, true, true, true]), 0.75);
    assert.equal(auc([0.2, 0.3], [true, true]), null);
    const m = binaryMetrics([0.9, 0.8, 0.2, 0.6], [true, false, false, true]);
    assert.deepEqual({ precision: m.precision, recall: m.recall, accuracy: m.accuracy }, { precision: 2 / 3, recall: 1, accuracy: 0.75 });
  });
});
