import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import type { Context } from '../context.js';
import { OpsError, quote, UsageError } from '../../errors.js';
import { DEFAULT_FOREST_PARAMS, RandomForest, seededRandom, type ForestParams, type SerializedForest, type Task } from '../forest/forest.js';
import { childOutput, withRun, type ActiveRun } from '../runs.js';
import { ArtifactStore, TREE_MEDIA_TYPE } from './artifacts.js';
import { evaluateForest, holdoutCsv, HOLDOUT_FILE } from './compare.js';
import { digestDataset, type DatasetDigest } from '../data/files.js';
import { columnIndex, numericColumn, readCsv, type Table } from './datasets.js';
import { checkModelName } from './refs.js';
import { checkTrainingData, recordTrainingData, type CheckedDataset, type TrainingDataOptions } from './training-data.js';

/** The file a built-in training run stores: what `ops model predict` and the risk scorer load. */
export interface ModelFile {
  format: 'ops-model';
  version: 1;
  kind: 'random-forest';
  task: Task;
  target: string;
  features: string[];
  /** Class labels in index order (classification). */
  classes: string[];
  forest: SerializedForest;
}

export type Split = { kind: 'time'; column: string; testFraction: number } | { kind: 'random'; testFraction: number };

export interface BuiltinTraining extends TrainingDataOptions {
  data: string;
  target: string;
  features?: string[];
  params: Record<string, string>;
  split?: string;
  task?: 'auto' | Task;
}

export interface TrainingResult {
  runId: number;
  status: string;
  exitCode: number;
  metrics: Record<string, number> | null;
  artifacts: Array<{ path: string; digest: string; sizeBytes: number }>;
  datasets: DatasetDigest[];
  /** Each dataset's suite outcome (with --suite). */
  dataChecks: Array<{ path: string; digest: string; suite: string; passed: boolean; failed: string[]; override: string | null }>;
  error?: string;
}

const dataChecksOf = (checked: CheckedDataset[]) =>
  checked.flatMap(({ dataset, check }) => (check ? [{ path: dataset.path, digest: dataset.digest, suite: check.suite, passed: check.passed, failed: check.failed, override: check.override }] : []));

const FOREST_PARAM_NAMES = Object.keys(DEFAULT_FOREST_PARAMS) as Array<keyof ForestParams>;

/** `--param key=value` pairs, each value kept as text (parsed by whoever knows the key). */
export function parseParams(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--param ${quote(pair)} is not key=value`, 'write it like --param nTrees=200');
    params[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return params;
}

export async function forestParams(given: Record<string, string>): Promise<ForestParams> {
  const params: ForestParams = { ...DEFAULT_FOREST_PARAMS };
  for (const [key, text] of Object.entries(given)) {
    if (!(FOREST_PARAM_NAMES as string[]).includes(key)) {
      const { closest } = await import('fastest-levenshtein');
      throw new UsageError(`unknown parameter ${quote(key)}`, `did you mean ${closest(key, FOREST_PARAM_NAMES)}? parameters: ${FOREST_PARAM_NAMES.join(', ')}`);
    }
    const bad = (expected: string) => new UsageError(`parameter ${key}=${quote(text)} is not ${expected}`, `e.g. --param ${key}=${DEFAULT_FOREST_PARAMS[key as keyof ForestParams]}`);
    if (key === 'bootstrap') {
      if (text !== 'true' && text !== 'false') throw bad('true or false');
      params.bootstrap = text === 'true';
    } else if (key === 'maxFeatures') {
      const fraction = Number(text);
      if (text === 'sqrt' || text === 'log2' || text === 'all') params.maxFeatures = text;
      else if (Number.isFinite(fraction) && fraction > 0 && fraction <= 1) params.maxFeatures = fraction;
      else throw bad('sqrt, log2, all or a fraction in (0, 1]');
    } else {
      const value = Number(text);
      const minimum = key === 'maxDepth' || key === 'seed' ? 0 : key === 'minSamplesSplit' || key === 'maxBins' ? 2 : 1;
      if (!Number.isInteger(value) || value < minimum || (key === 'maxBins' && value > 256)) {
        throw bad(key === 'maxBins' ? 'a whole number from 2 to 256' : `a whole number of at least ${minimum}`);
      }
      (params as unknown as Record<string, number>)[key] = value;
    }
  }
  return params;
}

export function parseSplit(text: string | undefined): Split {
  if (text === undefined) return { kind: 'random', testFraction: 0.2 };
  const fraction = (value: string | undefined) => {
    const n = value === undefined ? 0.2 : Number(value);
    if (!(n > 0 && n < 1)) throw new UsageError(`--split ${quote(text)}: the test fraction must be between 0 and 1`, 'e.g. --split random:0.2');
    return n;
  };
  const time = /^time:([^:]+)(?::([\d.]+))?$/.exec(text);
  if (time) return { kind: 'time', column: time[1]!, testFraction: fraction(time[2]) };
  const random = /^random(?::([\d.]+))?$/.exec(text);
  if (random) return { kind: 'random', testFraction: fraction(random[1]) };
  throw new UsageError(`--split ${quote(text)} is not understood`, 'use time:<column> (newest rows test) or random:<fraction>');
}

/** Row order for the split: the test rows are the last `testFraction` of it. */
function splitOrder(table: Table, split: Split, seed: number): number[] {
  const order = table.rows.map((_, i) => i);
  if (split.kind === 'random') {
    const random = seededRandom(seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }
  const column = columnIndex(table, split.column, '--split');
  const keys = table.rows.map((row, r) => {
    const cell = row[column]!;
    const key = /^-?[\d.]+(e[-+]?\d+)?$/i.test(cell) ? Number(cell) : Date.parse(cell);
    if (!Number.isFinite(key)) throw new UsageError(`--split ${quote(split.column)}: row ${r + 2} has ${quote(cell)}, neither a number nor a date`, 'split on a numeric or date column');
    return key;
  });
  return order.sort((a, b) => keys[a]! - keys[b]! || a - b);
}

function pick<T extends ArrayLike<number>>(column: T, rows: number[]): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = column[rows[i]!]!;
  return out;
}

/** Decide and check everything about a built-in run before any of it is recorded. */
async function prepareBuiltin(ctx: Context, spec: BuiltinTraining) {
  const table = await readCsv(spec.data, ctx.cwd);
  const target = columnIndex(table, spec.target, '--target');
  const split = parseSplit(spec.split);
  const splitColumn = split.kind === 'time' ? columnIndex(table, split.column, '--split') : -1;
  const featureNames = spec.features?.length
    ? spec.features
    : table.header.filter((name, i) => name !== '' && i !== target && i !== splitColumn);
  if (featureNames.length === 0) throw new UsageError(`${spec.data} has no feature columns besides the target`, 'name them with --features a,b,c');
  for (const name of featureNames) if (name === spec.target) throw new UsageError(`the target ${quote(name)} cannot also be a feature`, 'remove it from --features');
  const hint = spec.features?.length ? 'fix the data, or leave the column out of --features' : 'choose numeric columns with --features a,b,c';
  const columns = featureNames.map((name) => numericColumn(table, columnIndex(table, name, '--features'), hint));
  const params = await forestParams(spec.params);

  const labels = table.rows.map((row) => row[target]!);
  if (labels.some((l) => l === '')) throw new UsageError(`the target column ${quote(spec.target)} has empty cells`, 'drop those rows or fill them in');
  const numeric = labels.every((l) => Number.isFinite(Number(l)));
  const distinct = [...new Set(labels)];
  const task: Task = spec.task && spec.task !== 'auto' ? spec.task : numeric && distinct.length > 10 ? 'regression' : 'classification';
  let y: Float64Array;
  let classes: string[] = [];
  if (task === 'regression') {
    if (!numeric) throw new UsageError(`the target column ${quote(spec.target)} is not numeric, so it cannot be regressed`, 'use --task classification');
    y = Float64Array.from(labels, Number);
  } else {
    classes = numeric ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
    if (classes.length < 2) throw new UsageError(`the target column ${quote(spec.target)} has a single value (${quote(classes[0])})`, 'a classifier needs at least two classes');
    const index = new Map(classes.map((c, i) => [c, i]));
    y = Float64Array.from(labels, (l) => index.get(l)!);
  }
  const order = splitOrder(table, split, params.seed);
  const testCount = Math.max(1, Math.round(order.length * split.testFraction));
  if (order.length - testCount < 2) throw new UsageError(`${spec.data} has too few rows (${order.length}) to train and test`, 'use more data or a smaller test fraction');
  return { table, featureNames, columns, params, task, y, classes, split, train: order.slice(0, order.length - testCount), test: order.slice(order.length - testCount) };
}

async function toolVersions(ctx: Context, command: string[] | null): Promise<Record<string, string>> {
  const tools: Record<string, string> = { node: process.version };
  const program = command?.[0];
  if (program && /^python[\d.]*$/.test(basename(program))) {
    const result = await ctx.adapters.exec.runTool(program, ['--version']).catch(() => null);
    const version = `${result?.stdout ?? ''}${result?.stderr ?? ''}`.trim();
    if (version) tools.python = version.replace(/^Python\s+/, '');
  }
  return tools;
}

/** Store a run's artifact folder, attach each file to the run, and record its details with the tree. */
export async function storeRunArtifacts(ctx: Context, runId: number, artifactDir: string, details: Record<string, unknown>) {
  const ledger = ctx.ledger();
  const store = ArtifactStore.of(ctx);
  const { tree, files } = await store.putFolder(artifactDir);
  const now = ctx.clock.now();
  await ledger.transaction(async () => {
    await ledger.models.recordTree({ ...tree, mediaType: TREE_MEDIA_TYPE }, files, now);
    for (const file of files) await ledger.models.attachToRun(runId, file.path, file.digest);
    await ledger.runs.setDetails(runId, { ...details, artifactTree: tree.digest });
  });
  return files;
}

function readJsonObject(file: string, what: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new OpsError(`${what} is not valid JSON: ${(err as Error).message}`, 'write one JSON object');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new OpsError(`${what} is not a JSON object`, 'write one JSON object, like {"auc": 0.81}');
  return value as Record<string, unknown>;
}

function checkMetrics(raw: Record<string, unknown> | null, what: string): Record<string, number> | null {
  if (!raw) return null;
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new OpsError(`${what}: ${quote(key)} is not a number (${quote(JSON.stringify(value))})`, 'metrics must be a flat object of numbers');
  }
  return raw as Record<string, number>;
}

async function digestAll(ctx: Context, paths: string[]): Promise<DatasetDigest[]> {
  return Promise.all(paths.map((p) => digestDataset(p, ctx.cwd)));
}

async function recordDatasets(ctx: Context, runId: number, datasets: DatasetDigest[]): Promise<void> {
  const ledger = ctx.ledger();
  for (const dataset of datasets) await ledger.models.recordDataset(dataset, runId, ctx.clock.now());
}

/** Train the project's random forest on a CSV file and store the model as the run's artifact. */
export async function trainBuiltin(ctx: Context, name: string, spec: BuiltinTraining): Promise<TrainingResult> {
  checkModelName(name);
  const prepared = await prepareBuiltin(ctx, spec);
  const [dataset] = await digestAll(ctx, [spec.data]);
  const checked = await checkTrainingData(ctx, [dataset!], spec);
  const tools = await toolVersions(ctx, null);
  // One git status serves the run record and the hash of the uncommitted changes.
  const git = await ctx.adapters.git.gitState(ctx.root);
  let files: Array<{ path: string; digest: string; sizeBytes: number }> = [];
  let metrics: Record<string, number> | null = null;
  const outcome = await withRun(ctx, { kind: 'train', git, params: { ...prepared.params, task: prepared.task } }, async (run) => {
    await recordDatasets(ctx, run.id, [dataset!]);
    await recordTrainingData(ctx, run.id, checked);
    const { columns, y, train, test, params, task, classes, featureNames } = prepared;
    const forest = await ctx.output.step(`training ${params.nTrees} trees on ${train.length} rows x ${featureNames.length} features`, async () =>
      RandomForest.train(task, { columns: columns.map((c) => pick(c, train)), y: pick(y, train) }, classes.length, params),
    );
    const testColumns = columns.map((c) => pick(c, test));
    const testY = pick(y, test);
    metrics = { ...evaluateForest(forest, task, classes, testColumns, testY), trainRows: train.length, testRows: test.length };
    const model: ModelFile = { format: 'ops-model', version: 1, kind: 'random-forest', task, target: spec.target, features: featureNames, classes, forest: forest.toJSON() };
    const dir = mkdtempSync(join(tmpdir(), 'ops-train-'));
    try {
      writeFileSync(join(dir, 'model.json'), JSON.stringify(model));
      writeFileSync(join(dir, 'metrics.json'), JSON.stringify(metrics, null, 2));
      writeFileSync(join(dir, 'params.json'), JSON.stringify({ ...params, task }, null, 2));
      writeFileSync(join(dir, HOLDOUT_FILE), holdoutCsv(featureNames, spec.target, testColumns, task === 'regression' ? testY : Array.from(testY, (c) => classes[c]!)));
      files = await storeRunArtifacts(ctx, run.id, dir, {
        model: name,
        trainer: 'builtin',
        target: spec.target,
        features: featureNames,
        classes,
        split: prepared.split,
        datasets: [dataset!.digest],
        tools,
        dirtyHash: git?.dirtyHash ?? null,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { status: 'succeeded', exitCode: 0, metrics: metrics ?? undefined };
  });
  return { runId: outcome.runId, status: outcome.status, exitCode: outcome.exitCode, metrics, artifacts: files, datasets: [dataset!], dataChecks: dataChecksOf(checked) };
}

const TAIL_LINES = 15;

/**
 * Run any training command with OPS_RUN_ID, OPS_ARTIFACT_DIR, OPS_PARAMS and OPS_DATA in its
 * environment; on exit 0 collect metrics.json, params.json and every file it wrote there.
 */
export async function trainExternal(ctx: Context, name: string, command: string[], options: TrainingDataOptions & { params: Record<string, string>; data: string[] }): Promise<TrainingResult> {
  checkModelName(name);
  if (command.length === 0) throw new UsageError('no training command given', 'put it after --, e.g. `ops model train churn -- python3 train.py`');
  const datasets = await digestAll(ctx, options.data);
  const checked = await checkTrainingData(ctx, datasets, options);
  const tools = await toolVersions(ctx, command);
  const git = await ctx.adapters.git.gitState(ctx.root);
  const artifactDir = mkdtempSync(join(tmpdir(), 'ops-artifacts-'));
  let files: Array<{ path: string; digest: string; sizeBytes: number }> = [];
  let metrics: Record<string, number> | null = null;
  try {
    const outcome = await withRun(ctx, { kind: 'train', git, params: options.params }, async (run: ActiveRun) => {
      await recordDatasets(ctx, run.id, datasets);
      await recordTrainingData(ctx, run.id, checked);
      const details = { model: name, trainer: 'external', command, datasets: datasets.map((d) => d.digest), tools, dirtyHash: git?.dirtyHash ?? null };
      await ctx.ledger().runs.setDetails(run.id, details);
      let tail = '';
      // The command's output is progress, not ops's result: stdout stays for the result (and --json).
      const output = childOutput(ctx, run, (_stream, text) => {
        ctx.output.passthrough('stderr', text);
        tail = (tail + text).split('\n').slice(-TAIL_LINES - 1).join('\n');
      });
      const result = await ctx.adapters.exec.runStreaming(command, {
        cwd: ctx.cwd,
        env: {
          ...ctx.env,
          OPS_RUN_ID: String(run.id),
          OPS_ARTIFACT_DIR: artifactDir,
          OPS_PARAMS: JSON.stringify(options.params),
          OPS_DATA: datasets.map((d) => d.path).join(delimiter),
        },
        cancel: ctx.cancel,
        onOutput: output.write,
      }).finally(output.end);
      if (result.exitCode !== 0) {
        const lastLines = tail.trimEnd();
        return {
          status: 'failed',
          exitCode: result.exitCode,
          error: `${result.failure ?? `${command[0]} exited with code ${result.exitCode}`}${lastLines ? `; last output:\n${lastLines}` : ''}`,
        };
      }
      metrics = checkMetrics(readJsonObject(join(artifactDir, 'metrics.json'), 'metrics.json'), 'metrics.json');
      const written = readJsonObject(join(artifactDir, 'params.json'), 'params.json');
      files = await storeRunArtifacts(ctx, run.id, artifactDir, details);
      const params = written ? { ...options.params, ...written } : options.params;
      return { status: 'succeeded', exitCode: 0, metrics: metrics ?? undefined, params };
    });
    return { runId: outcome.runId, status: outcome.status, exitCode: outcome.exitCode, metrics, artifacts: files, datasets, dataChecks: dataChecksOf(checked), error: outcome.error };
  } finally {
    rmSync(artifactDir, { recursive: true, force: true });
  }
}
