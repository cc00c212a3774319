import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Context } from '../context.js';
import { GateBlockedError, NotFoundError, OpsError, UsageError } from '../../errors.js';
import type { ModelVersion } from '../../ledger/index.js';
import { DEFAULT_MONITOR, parseWindow } from './monitor.js';
import { promote, registerVersion, type Promotion } from './registry.js';
import { checkAlias, resolveVersion, type ModelRef } from './refs.js';
import type { TrainingResult } from './train.js';

export interface Retraining {
  model: string;
  alias: string;
  from: number;
  /** The recent data: the window's labelled predictions, written as a CSV the new run is trained on. */
  data: { path: string; rows: number };
  training: TrainingResult;
  registered: ModelVersion;
  promotion: Promotion;
}

const csvCell = (value: unknown) => {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/**
 * Retrain the version an alias holds on recent data (the window's labelled predictions of every
 * version: their inputs and true outcomes), with its recipe (target, features, parameters, split
 * and the suite its data passed), register the new version and promote it through the alias's gates.
 */
export async function retrainModel(ctx: Context, ref: ModelRef, options: { window?: string; reason?: string }): Promise<Retraining> {
  if (!ref.alias || ref.alias === 'latest') throw new UsageError('retrain names the alias to promote to', 'e.g. `ops model retrain churn@production`');
  const alias = checkAlias(ref.alias);
  const config = ctx.config?.models.monitor ?? DEFAULT_MONITOR;
  const window = parseWindow(options.window ?? config.window);
  const ledger = ctx.ledger();
  const version = await resolveVersion(ledger, ref);
  const label = `${version.model}@${alias} (v${version.version})`;
  const run = version.runId == null ? undefined : await ledger.runs.get(version.runId);
  const details = run?.details ?? {};
  if (details.trainer !== 'builtin') {
    throw new UsageError(`${label} was not trained by the built-in trainer, so ops cannot repeat its recipe`, 'run its training command on recent data, then `ops model promote`');
  }
  const target = details.target as string;
  const features = details.features as string[];
  const now = ctx.clock.now();
  const predictions = await ledger.predictions.window({ model: version.model, sinceMs: window.kind === 'time' ? now - window.ms : undefined, limit: window.kind === 'last' ? window.rows : undefined });
  const rows = predictions.filter((p) => p.label !== undefined && p.label !== null && features.every((f) => p.inputs[f] !== undefined && p.inputs[f] !== null)).reverse();
  if (rows.length < config.minRows) {
    throw new NotFoundError(
      `${label} has ${rows.length} labelled predictions with every feature in ${window.text}, fewer than minRows ${config.minRows}: too few to retrain on`,
      'attach outcomes with `ops model label <file>`, or widen --window',
    );
  }
  const dir = join(ctx.root, '.ops', 'datasets');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${version.model}-recent-${new Date(now).toISOString().replace(/[:.]/g, '')}.csv`);
  writeFileSync(file, `${[[...features, target].map(csvCell).join(','), ...rows.map((p) => [...features.map((f) => p.inputs[f]), p.label].map(csvCell).join(','))].join('\n')}\n`);

  const split = details.split as { kind: 'time' | 'random'; column?: string; testFraction: number } | undefined;
  const params = Object.fromEntries(Object.entries(run!.params ?? {}).filter(([k]) => k !== 'task').map(([k, v]) => [k, String(v)]));
  const suites = [...new Set((await ledger.data.checksOfRun(run!.id)).map((c) => c.suite))];
  const { trainBuiltin } = await import('./train.js');
  const data = relative(ctx.cwd, file) || file;
  const training = await trainBuiltin(ctx, version.model, {
    data,
    target,
    features,
    params,
    // A time split's column is not among the logged inputs: the newest rows are the last ones written.
    split: split ? `random:${split.testFraction}` : undefined,
    task: (run!.params?.task as 'classification' | 'regression' | undefined) ?? 'auto',
    suite: suites[0],
  });
  if (training.status !== 'succeeded') throw new OpsError(`retraining ${label} failed: ${training.error ?? training.status}`, `see \`ops runs show ${training.runId}\``);
  const registered = await registerVersion(ctx, version.model, { runId: training.runId });
  const promotion = await promote(ctx, { name: version.model, version: registered.version }, alias, { reason: options.reason ?? `retrained on ${rows.length} recent labelled predictions` });
  const result: Retraining = { model: version.model, alias, from: version.version, data: { path: file, rows: rows.length }, training, registered, promotion };
  if (!promotion.promoted) {
    throw new GateBlockedError(`${version.model}@${registered.version}, retrained on ${rows.length} recent rows, is blocked by the gate of ${alias}`, `${version.model}@${alias} stays at v${version.version}; see \`ops model diff ${version.model}@${version.version} ${version.model}@${registered.version}\``).withResult(result);
  }
  return result;
}
