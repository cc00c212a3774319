import type { ModelVersion } from '../../ledger/index.js';
import type { Context } from '../context.js';
import { RandomForest, type Task } from '../forest/forest.js';
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../forest/metrics.js';
import { versionFile } from './predict.js';
import type { ModelFile } from './train.js';

/**
 * A version's held-out rows, stored with its artifacts: a CSV of the model's feature columns and its
 * target (the class label, or the value). A promotion gate scores the alias's current holder on the
 * candidate's rows, so both are measured on the same data.
 */
export const HOLDOUT_FILE = 'holdout.csv';

/** The metrics ops computes for a forest on rows (what a built-in training run records). `y` holds class indices. */
export function evaluateForest(forest: RandomForest, task: Task, classes: string[], columns: Float64Array[], y: Float64Array): Record<string, number> {
  const predicted = forest.predict(columns);
  if (task === 'regression') return regressionMetrics(predicted, y);
  if (classes.length === 2) {
    const scores = Float64Array.from({ length: y.length }, (_, i) => predicted[i * 2 + 1]!);
    const metrics = binaryMetrics(scores, Array.from(y, (v) => v === 1));
    const { auc, ...rest } = metrics;
    return auc == null ? rest : { auc, ...rest };
  }
  const k = classes.length;
  const best = Float64Array.from({ length: y.length }, (_, i) => {
    let top = 0;
    for (let c = 1; c < k; c++) if (predicted[i * k + c]! > predicted[i * k + top]!) top = c;
    return top;
  });
  return multiclassMetrics(best, y, k);
}

/** The held-out rows as CSV: one column per feature, then the target (a label, or a value). */
export function holdoutCsv(features: string[], target: string, columns: ArrayLike<number>[], targets: ArrayLike<string | number>): string {
  const lines = [[...features, target].join(',')];
  for (let r = 0; r < targets.length; r++) lines.push([...columns.map((c) => c[r]), targets[r]].join(','));
  return `${lines.join('\n')}\n`;
}

/** Both versions' metrics on the candidate's held-out rows. */
export interface SameRows {
  /** The version whose held-out rows they are (the candidate). */
  rowsOf: number;
  rows: number;
  candidate: Record<string, number>;
  baseline: Record<string, number>;
}

async function modelOf(ctx: Context, version: ModelVersion): Promise<ModelFile | string> {
  const bytes = await versionFile(ctx, version, 'model.json');
  if (!bytes) return `v${version.version} has no built-in model (model.json) to score them with`;
  const file = JSON.parse(bytes.toString('utf8')) as ModelFile;
  return file.format === 'ops-model' ? file : `v${version.version}'s model.json is not an ops model`;
}

/**
 * Score the alias's current holder and the candidate on the candidate's held-out rows with the same
 * metrics, or say plainly why they cannot be (no rows stored, a model ops cannot run, other features
 * or classes).
 */
export async function compareOnHoldout(ctx: Context, candidate: ModelVersion, baseline: ModelVersion): Promise<SameRows | { reason: string }> {
  const bytes = await versionFile(ctx, candidate, HOLDOUT_FILE);
  if (!bytes) return { reason: `v${candidate.version} stored no held-out rows (${HOLDOUT_FILE})` };
  const models = [await modelOf(ctx, candidate), await modelOf(ctx, baseline)] as const;
  const [mine, theirs] = models;
  if (typeof mine === 'string') return { reason: mine };
  if (typeof theirs === 'string') return { reason: theirs };
  if (mine.task !== theirs.task || mine.target !== theirs.target || mine.classes.join('\n') !== theirs.classes.join('\n')) {
    return { reason: `v${baseline.version} predicts ${theirs.target} (${theirs.task}${theirs.classes.length ? `: ${theirs.classes.join(', ')}` : ''}), v${candidate.version} ${mine.target} (${mine.task}${mine.classes.length ? `: ${mine.classes.join(', ')}` : ''})` };
  }
  const { parse } = await import('csv-parse/sync');
  let records: string[][];
  try {
    records = parse(bytes.toString('utf8'), { skip_empty_lines: true, trim: true }) as string[][];
  } catch (err) {
    return { reason: `v${candidate.version}'s ${HOLDOUT_FILE} is not valid CSV: ${(err as Error).message}` };
  }
  const [header = [], ...rows] = records;
  const missing = [...new Set([...mine.features, ...theirs.features, mine.target])].filter((name) => !header.includes(name));
  if (missing.length) return { reason: `v${candidate.version}'s held-out rows lack ${missing.join(', ')}` };
  if (rows.length === 0) return { reason: `v${candidate.version}'s ${HOLDOUT_FILE} has no rows` };
  const column = (name: string) => {
    const i = header.indexOf(name);
    return Float64Array.from(rows, (row) => Number(row[i]));
  };
  const targets = rows.map((row) => row[header.indexOf(mine.target)]!);
  const y = mine.task === 'regression' ? Float64Array.from(targets, Number) : Float64Array.from(targets, (label) => mine.classes.indexOf(label));
  const bad = [...mine.features, ...theirs.features].find((name) => column(name).some((v) => !Number.isFinite(v)));
  if (bad) return { reason: `v${candidate.version}'s held-out column ${bad} is not numeric` };
  const unknown = mine.task === 'regression' ? -1 : y.findIndex((v) => v < 0);
  if (unknown >= 0) return { reason: `v${candidate.version}'s held-out row ${unknown + 2} has class ${targets[unknown]}, unknown to the models` };
  const score = (file: ModelFile) => evaluateForest(RandomForest.fromJSON(file.forest), file.task, file.classes, file.features.map(column), y);
  return { rowsOf: candidate.version, rows: rows.length, candidate: score(mine), baseline: score(theirs) };
}
