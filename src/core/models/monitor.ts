import type { Context } from '../context.js';
import type { MonitorConfig } from '../config/schema.js';
import { UsageError, quote } from '../../errors.js';
import type { ModelVersion, StoredPrediction } from '../../ledger/index.js';
import { columnDrift, compareProfiles, type ColumnDrift, type DriftThresholds } from '../data/drift.js';
import { DatasetProfiler, type DatasetProfile } from '../data/profile.js';
import { HOLDOUT_FILE } from './compare.js';
import { loadModel, versionFile } from './predict.js';
import { resolveVersion, type ModelRef } from './refs.js';
import { trainingProfile } from './training-data.js';

const UNITS_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export const DEFAULT_MONITOR: MonitorConfig = { window: '7d', minRows: 50, minLabels: 30, maxDrop: 0.05, psi: 0.2, ks: 0.1, jensenShannon: 0.1, pValue: 0.05 };

export type Window = { kind: 'time'; ms: number; text: string } | { kind: 'last'; rows: number; text: string };

/** "7d", "12h", "30m", "1w", or "last:1000" (the newest predictions). */
export function parseWindow(text: string): Window {
  const last = /^last:(\d+)$/.exec(text);
  if (last && Number(last[1]) > 0) return { kind: 'last', rows: Number(last[1]), text };
  const time = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text);
  if (time && Number(time[1]) > 0) return { kind: 'time', ms: Number(time[1]) * UNITS_MS[time[2] as keyof typeof UNITS_MS], text };
  throw new UsageError(`--window ${quote(text)} is not understood`, 'give a time such as 7d, 12h or 30m, or last:1000 for the newest predictions');
}

export interface PerformanceCheck {
  metric: 'accuracy' | 'r2';
  /** The version's own held-out figure. */
  baseline: number | null;
  current: number | null;
  labelled: number;
  maxDrop: number;
  degraded: boolean;
  note?: string;
}

export interface MonitorReport {
  model: string;
  alias: string | null;
  version: number;
  window: { text: string; since: string | null; rows: number; versionRows: number; labelled: number };
  reference: { digest: string; rows: number };
  thresholds: DriftThresholds & { minRows: number; minLabels: number; maxDrop: number };
  /** Per-feature drift of the window's inputs (every version's) against the training profile. */
  features: ColumnDrift[];
  drifted: string[];
  /** The version's predictions in the window against its predictions on its own held-out rows. */
  prediction: ColumnDrift | null;
  performance: PerformanceCheck | null;
  /** Why a part was not judged (too few rows, no held-out rows, no labels). */
  notes: string[];
  /** What is past its threshold, one line each: drift (features, predictions), then decay. */
  problems: string[];
  driftProblems: string[];
  decayProblem: string | null;
  healthy: boolean;
}

function profileOf(rows: Array<Record<string, unknown>>, columns: string[], label: string): DatasetProfile {
  const profiler = new DatasetProfiler();
  const profilers = columns.map((c) => profiler.column(c));
  for (const [r, row] of rows.entries()) {
    profiler.rows++;
    for (const [i, column] of columns.entries()) profilers[i]!.addValue(row[column], r + 1);
  }
  return profiler.finish({ path: label, format: 'jsonl', files: 0, sizeBytes: 0, digest: '' }, new Date(0).toISOString(), 0);
}

interface HeldOut {
  predictions: Array<string | number>;
  /** The rows' true targets, as the model's labels (classification) or values. */
  targets: Array<string | number>;
}

/** What the version's model predicts on its own held-out rows: the reference for prediction drift and performance. */
async function heldOutPredictions(ctx: Context, version: ModelVersion): Promise<HeldOut | string> {
  const holdout = await versionFile(ctx, version, HOLDOUT_FILE);
  if (!holdout) return `v${version.version} stored no ${HOLDOUT_FILE}`;
  const model = await loadModel(ctx, { name: version.model, version: version.version }).catch(() => null);
  if (!model) return `v${version.version} holds no built-in model to score its held-out rows`;
  const { parse } = await import('csv-parse/sync');
  const [header, ...rows] = parse(holdout.toString('utf8'), { skip_empty_lines: true }) as string[][];
  const index = model.file.features.map((f) => header!.indexOf(f));
  if (index.some((i) => i < 0)) return `${HOLDOUT_FILE} of v${version.version} lacks a feature column`;
  const columns = index.map((i) => Float64Array.from(rows, (row) => Number(row[i])));
  const target = header!.indexOf(model.file.target);
  const output = model.forest.predict(columns);
  if (model.file.task === 'regression') return { predictions: Array.from(output), targets: rows.map((row) => Number(row[target])) };
  const k = model.file.classes.length;
  const predictions = rows.map((_, r) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (output[r * k + c]! > output[r * k + best]!) best = c;
    return model.file.classes[best]!;
  });
  return { predictions, targets: rows.map((row) => row[target] ?? '') };
}

/** Accuracy of predicted labels, or R2 of predicted values, against the true ones. */
function score(metric: 'accuracy' | 'r2', predicted: Array<unknown>, actual: Array<unknown>): number {
  if (metric === 'accuracy') return predicted.filter((p, i) => String(p) === String(actual[i])).length / predicted.length;
  const y = actual.map(Number);
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  const total = y.reduce((s, v) => s + (v - mean) ** 2, 0);
  const residual = predicted.reduce<number>((s, p, i) => s + (y[i]! - Number(p)) ** 2, 0);
  return total === 0 ? (residual === 0 ? 1 : 0) : 1 - residual / total;
}

/**
 * The labelled rows' accuracy (R2) against the version's held-out figure: the recorded one, else
 * the same metric computed on its held-out rows now (a risk scorer records AUC and F1, not accuracy).
 */
function performance(rows: StoredPrediction[], version: ModelVersion, task: 'classification' | 'regression', heldOut: HeldOut | null, config: MonitorConfig): PerformanceCheck | string {
  const labelled = rows.filter((r) => r.label !== undefined && r.label !== null);
  const metric = task === 'regression' ? 'r2' : 'accuracy';
  const recorded = version.metrics?.[metric];
  const baseline = recorded ?? (heldOut && heldOut.targets.length ? Number(score(metric, heldOut.predictions, heldOut.targets).toPrecision(6)) : null);
  const base = { metric, baseline, labelled: labelled.length, maxDrop: config.maxDrop } as const;
  if (labelled.length < config.minLabels) return `${labelled.length} labelled predictions of v${version.version} in the window, fewer than minLabels ${config.minLabels}: performance not judged`;
  const current = Number(score(metric, labelled.map((r) => r.output), labelled.map((r) => r.label)).toPrecision(6));
  if (baseline === null) return { ...base, current, degraded: false, note: `v${version.version} recorded no ${metric} and has no held-out rows to compute it on` };
  return { ...base, current, degraded: baseline - current > config.maxDrop + 1e-12, ...(recorded === undefined ? { note: `held-out ${metric} computed now on v${version.version}'s ${heldOut!.targets.length} held-out rows` } : {}) };
}

/** The tests that flagged a column, each with its statistic against its threshold. */
const describeTest = (d: ColumnDrift) =>
  d.tests
    .filter((t) => t.drifted)
    .map((t) => (t.test === 'chi-squared' ? `chi-squared ${t.statistic} (p ${t.pValue} < ${t.threshold})` : `${t.test} ${t.statistic} >= ${t.threshold}${t.pValue !== null ? ` (p ${t.pValue})` : ''}`))
    .join(', ') || d.note || 'drifted';

/**
 * Compare a window of logged predictions with the version's training data: each feature's drift
 * (the inputs of every version of the model: the data the alias now faces), the drift of this
 * version's predictions from its predictions on its held-out rows, and its accuracy on the labelled
 * rows against its own held-out figure.
 */
export async function monitorModel(ctx: Context, ref: ModelRef, options: { window?: string } = {}): Promise<MonitorReport> {
  const config = ctx.config?.models.monitor ?? DEFAULT_MONITOR;
  const window = parseWindow(options.window ?? config.window);
  const ledger = ctx.ledger();
  const version = await resolveVersion(ledger, ref);
  const { digest, profile: reference } = await trainingProfile(ctx, version);
  const run = version.runId == null ? undefined : await ledger.runs.get(version.runId);
  const target = run?.details?.target as string | undefined;
  const trained = run?.details?.features as string[] | undefined;
  const now = ctx.clock.now();
  const since = window.kind === 'time' ? now - window.ms : undefined;
  const limit = window.kind === 'last' ? window.rows : undefined;
  const rows = await ledger.predictions.window({ model: version.model, sinceMs: since, limit });
  const versionRows = rows.filter((r) => r.version === version.version);
  const seen = new Set(rows.flatMap((r) => Object.keys(r.inputs)));
  const features = (trained ?? reference.columns.map((c) => c.name).filter((c) => c !== target && seen.has(c))).filter((c) => reference.columns.some((r) => r.name === c));
  const thresholds: DriftThresholds = { psi: config.psi, ks: config.ks, jensenShannon: config.jensenShannon, pValue: config.pValue };
  const notes: string[] = [];
  const problems: string[] = [];
  let decayProblem: string | null = null;

  let featureDrift: ColumnDrift[] = [];
  if (rows.length < config.minRows) notes.push(`${rows.length} predictions in the window, fewer than minRows ${config.minRows}: drift not judged`);
  else {
    featureDrift = compareProfiles(reference, profileOf(rows.map((r) => r.inputs), features, 'window'), thresholds, features).columns;
    for (const d of featureDrift.filter((f) => f.drifted)) problems.push(`feature ${d.column} drifted: ${describeTest(d)}`);
  }

  let prediction: ColumnDrift | null = null;
  const task = (run?.params?.task as 'classification' | 'regression' | undefined) ?? (typeof versionRows[0]?.output === 'number' ? 'regression' : 'classification');
  const expected = versionRows.length > 0 ? await heldOutPredictions(ctx, version) : null;
  if (versionRows.length < config.minRows) notes.push(`${versionRows.length} predictions of v${version.version} in the window, fewer than minRows ${config.minRows}: prediction drift not judged`);
  else {
    if (typeof expected === 'string') notes.push(`${expected}: prediction drift not judged`);
    else if (expected) {
      const referencePredictions = profileOf(expected.predictions.map((p) => ({ prediction: p })), ['prediction'], HOLDOUT_FILE).columns[0]!;
      const current = profileOf(versionRows.map((r) => ({ prediction: r.output })), ['prediction'], 'window').columns[0]!;
      prediction = columnDrift(referencePredictions, current, thresholds);
      if (prediction.drifted) problems.push(`predictions drifted: ${describeTest(prediction)}`);
    }
  }

  const perf = performance(versionRows, version, task, typeof expected === 'object' ? expected : null, config);
  if (typeof perf === 'string') notes.push(perf);
  else {
    if (perf.note) notes.push(perf.note);
    if (perf.degraded) decayProblem = `${perf.metric} ${perf.current} on ${perf.labelled} labelled predictions, ${Number((perf.baseline! - perf.current!).toPrecision(4))} below the held-out ${perf.baseline} (maxDrop ${perf.maxDrop})`;
  }

  return {
    model: version.model,
    alias: ref.alias ?? null,
    version: version.version,
    window: { text: window.text, since: since === undefined ? null : new Date(since).toISOString(), rows: rows.length, versionRows: versionRows.length, labelled: versionRows.filter((r) => r.label !== undefined).length },
    reference: { digest, rows: reference.rows },
    thresholds: { ...thresholds, minRows: config.minRows, minLabels: config.minLabels, maxDrop: config.maxDrop },
    features: featureDrift,
    drifted: featureDrift.filter((f) => f.drifted).map((f) => f.column),
    prediction,
    performance: typeof perf === 'string' ? null : perf,
    notes,
    problems: decayProblem ? [...problems, decayProblem] : problems,
    driftProblems: problems,
    decayProblem,
    healthy: problems.length === 0 && !decayProblem,
  };
}
