import { basename } from 'node:path';
import { UsageError } from '../../errors.js';
import { DEFAULT_FOREST_PARAMS, RandomForest, type ForestParams } from '../forest/forest.js';
import { binaryMetrics } from '../forest/metrics.js';
import { numericColumn, readCsv } from '../models/datasets.js';
import { baselineAuc, laBaseline, type Baseline } from './baseline.js';
import { FEATURE_NAMES } from './mine.js';


/** Forest settings for the risk scorer: leaves of at least 5 commits smooth the probabilities. */
export const RISK_FOREST_PARAMS: ForestParams = { ...DEFAULT_FOREST_PARAMS, minSamplesLeaf: 5 };

export interface HoldoutMetrics {
  rows: number;
  trainRows: number;
  testRows: number;
  /** Bug-inducing rows in the test part. */
  testPositives: number;
  auc: number | null;
  threshold: number;
  f1: number;
  precision: number;
  recall: number;
  /** Share of the test part's bug-inducing rows among its riskiest 20%. */
  caughtInRiskiest20: number;
  /** LApredict on the same held-out rows. */
  baseline: Baseline;
  /** The forest's AUC minus the better baseline's (null without an AUC). */
  gainOverBaseline: number | null;
  /** Which features the forest used, most first. */
  featureUse: FeatureUse[];
}

export interface FeatureUse {
  feature: string;
  /** Share of the forest's splits on it. */
  splits: number;
  /** Mean absolute change it made to the held-out rows' predicted risk (per-feature contributions). */
  contribution: number;
}

/** How much each feature served the forest: its share of splits, and its mean contribution on `rows`. */
export function featureUse(forest: RandomForest, names: readonly string[], rows: Float64Array[]): FeatureUse[] {
  const splits = new Float64Array(names.length);
  let total = 0;
  for (const tree of forest.trees) {
    for (const f of tree.feature) {
      if (f >= 0) {
        splits[f]!++;
        total++;
      }
    }
  }
  const contribution = new Float64Array(names.length);
  const n = rows[0]?.length ?? 0;
  const row = new Float64Array(names.length);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < names.length; f++) row[f] = rows[f]![r]!;
    const { byFeature } = forest.contributions(row, 1);
    for (let f = 0; f < names.length; f++) contribution[f]! += Math.abs(byFeature[f]!);
  }
  return names
    .map((feature, f) => ({ feature, splits: total ? splits[f]! / total : 0, contribution: n ? contribution[f]! / n : 0 }))
    .sort((a, b) => b.contribution - a.contribution || b.splits - a.splits);
}

/**
 * Train on the oldest 80% of time-ordered rows, score the newest 20%. `columns` start with the
 * FEATURE_NAMES, rows oldest first; `y` is 1 for bug-inducing. LApredict is scored beside it.
 */
export function trainHoldout(
  columns: Float64Array[],
  y: Float64Array,
  params: ForestParams,
  threshold: number,
  what: string,
  sampleWeight?: Float64Array,
  names: readonly string[] = FEATURE_NAMES,
): { forest: RandomForest; metrics: HoldoutMetrics; scores: Float64Array } {
  const rows = y.length;
  const cut = Math.floor(rows * 0.8);
  let trainPositives = 0;
  for (let i = 0; i < cut; i++) trainPositives += y[i]!;
  if (trainPositives === 0 || trainPositives === cut) {
    throw new UsageError(`the oldest 80% of ${what} are all labelled alike (${trainPositives} bug-inducing of ${cut})`, 'the risk scorer needs both bug-inducing and clean rows to learn from');
  }
  const { forest, outOfBag } = RandomForest.trainWithOutOfBag('classification', { columns: columns.map((c) => c.subarray(0, cut)), y: y.subarray(0, cut), sampleWeight: sampleWeight?.subarray(0, cut) }, 2, params);
  const predicted = forest.predict(columns.map((c) => c.subarray(cut)));
  const scores = Float64Array.from({ length: rows - cut }, (_, i) => predicted[i * 2 + 1]!);
  // Every row's risk as a model could have known it: out of bag for the training part.
  const allScores = new Float64Array(rows);
  for (let i = 0; i < cut; i++) allScores[i] = Number.isNaN(outOfBag[i * 2 + 1]!) ? trainPositives / cut : outOfBag[i * 2 + 1]!;
  allScores.set(scores, cut);
  const positive = Array.from(y.subarray(cut), (v) => v === 1);
  const { auc, f1, precision, recall } = binaryMetrics(scores, positive, threshold);
  const testPositives = positive.filter(Boolean).length;
  const flagged = Math.ceil(scores.length * 0.2);
  const riskiest = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, flagged);
  const caught = riskiest.filter((i) => positive[i]).length;
  const la = columns[names.indexOf('la')];
  const baseline = la ? laBaseline(la.subarray(0, cut), y.subarray(0, cut), la.subarray(cut), positive) : { la: null, logisticLa: null };
  const best = baselineAuc(baseline);
  return {
    forest,
    scores: allScores,
    metrics: { rows, trainRows: cut, testRows: rows - cut, testPositives, auc, threshold, f1, precision, recall, caughtInRiskiest20: testPositives ? caught / testPositives : 0,
      baseline,
      gainOverBaseline: auc != null && best != null ? auc - best : null,
      featureUse: featureUse(forest, names, columns.map((c) => c.subarray(cut))),
    },
  };
}

/** One line on how the forest did against LApredict, or null when it beat it. */
export function baselineWarning(metrics: HoldoutMetrics): string | null {
  const { auc, baseline, gainOverBaseline } = metrics;
  if (auc == null || gainOverBaseline == null || gainOverBaseline > 0) return null;
  return `the forest (AUC ${auc.toFixed(3)}) does not beat the LApredict baseline on the same held-out rows (lines added alone: ${baseline.la?.toFixed(3) ?? 'n/a'}, logistic regression on them: ${baseline.logisticLa?.toFixed(3) ?? 'n/a'}): on this history its risk says little more than the size of a change`;
}

/** Column names in the published JIT data sets that differ from ours. */
const COLUMN_ALIASES: Partial<Record<string, string[]>> = { entropy: ['entropy', 'entrophy'] };

export interface CsvEvaluation {
  dataset: string;
  file: string;
  metrics: HoldoutMetrics;
}

/**
 * Evaluate on a data set in the layout of the published JIT sets: `date` (unix seconds), `bug` (0/1)
 * and the 14 features by name. Only those columns are read, so the label's copy `__` never leaks.
 */
export async function evaluateCsv(path: string, cwd: string, params: ForestParams, threshold: number): Promise<CsvEvaluation> {
  const table = await readCsv(path, cwd, '--csv');
  const find = (name: string) => (COLUMN_ALIASES[name] ?? [name]).map((n) => table.header.indexOf(n)).find((i) => i >= 0) ?? -1;
  const wanted = ['date', 'bug', ...FEATURE_NAMES];
  const missing = wanted.filter((name) => find(name) < 0);
  if (missing.length) {
    throw new UsageError(`${path} lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, `a JIT data set needs ${wanted.join(', ')} (entropy may be spelled entrophy)`);
  }
  const hint = 'every row needs numbers in date, bug and the feature columns';
  const date = numericColumn(table, find('date'), hint);
  const bug = numericColumn(table, find('bug'), hint);
  const bad = bug.findIndex((v) => v !== 0 && v !== 1);
  if (bad >= 0) throw new UsageError(`column "bug" of ${path} must be 0 or 1: row ${bad + 2} has ${bug[bad]}`, 'label bug-inducing rows 1, the others 0');
  // Oldest first; equal dates keep the file's order.
  const order = Array.from(date.keys()).sort((a, b) => date[a]! - date[b]! || a - b);
  const columns = FEATURE_NAMES.map((name) => {
    const column = numericColumn(table, find(name), hint);
    return Float64Array.from(order, (i) => column[i]!);
  });
  const y = Float64Array.from(order, (i) => bug[i]!);
  const { metrics } = trainHoldout(columns, y, params, threshold, `${path}'s rows`);
  return { dataset: basename(path).replace(/(_k_feature)?\.csv$/i, ''), file: table.file, metrics };
}
