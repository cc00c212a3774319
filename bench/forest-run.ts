// The project's side of the forest benchmark; bench/forest_sklearn.py is scikit-learn's. Same CSV,
// split and settings; prints one JSON line: training and prediction times (ms) and the held-out AUC.
import { readFileSync } from 'node:fs';
import { RandomForest } from '../src/core/forest/forest.js';
import { auc } from '../src/core/forest/metrics.js';
import { RISK_FOREST_PARAMS } from '../src/core/risk/evaluate.js';
import { median } from './lib.js';

const FEATURES = ['ns', 'nd', 'nf', 'entrophy', 'la', 'ld', 'lt', 'fix', 'ndev', 'age', 'nuc', 'exp', 'rexp', 'sexp'];
const [path, trainRows, predictRows, trees, minLeaf] = [process.argv[2]!, ...process.argv.slice(3, 7).map(Number)] as [string, number, number, number, number];

const [head, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
const header = head!.split(',');
const cells = lines.map((line) => line.split(','));
const column = (name: string, from: number, to = cells.length) => Float64Array.from(cells.slice(from, to), (row) => Number(row[header.indexOf(name)]));
const features = (from: number, to?: number) => FEATURES.map((name) => column(name, from, to));

let started = performance.now();
const forest = RandomForest.train('classification', { columns: features(0, trainRows), y: column('bug', 0, trainRows) }, 2, {
  ...RISK_FOREST_PARAMS,
  nTrees: trees,
  minSamplesLeaf: minLeaf,
});
const trainMs = performance.now() - started;

const batch = features(cells.length - predictRows);
const times: number[] = [];
for (let i = 0; i < 6; i++) {
  started = performance.now();
  forest.predict(batch);
  times.push(performance.now() - started);
}
const scores = forest.predict(features(trainRows));
const positive = Array.from(column('bug', trainRows), (v) => v === 1);
// The first call compiles the loop; both sides report the median of the five after it.
process.stdout.write(`${JSON.stringify({ trainMs, predictMs: median(times.slice(1)), auc: auc(Float64Array.from(positive, (_, i) => scores[i * 2 + 1]!), positive) })}\n`);
