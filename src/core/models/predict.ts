import type { Context } from '../context.js';
import type { ModelVersion } from '../../ledger/index.js';
import { OpsError, UsageError } from '../../errors.js';
import { RandomForest } from '../forest/forest.js';
import { ArtifactStore } from './artifacts.js';
import { columnIndex, numericColumn, readCsv } from './datasets.js';
import { resolveVersion, type ModelRef } from './refs.js';
import type { ModelFile } from './train.js';

export interface LoadedModel {
  label: string;
  version: ModelVersion;
  file: ModelFile;
  forest: RandomForest;
}

/** One file of a version's stored artifacts (hash-checked), or undefined when it has none by that path. */
export async function versionFile(ctx: Context, version: ModelVersion, path: string): Promise<Buffer | undefined> {
  const store = ArtifactStore.of(ctx);
  const entry = version.artifactDigest ? (await store.readTree(version.artifactDigest)).files.find((f) => f.path === path) : undefined;
  return entry ? store.read(entry.digest) : undefined;
}

/** The built-in model of a version, read (and hash-checked) from the artifact store. */
export async function loadModel(ctx: Context, ref: ModelRef): Promise<LoadedModel> {
  const version = await resolveVersion(ctx.ledger(), ref);
  const label = `${version.model}@${version.version}`;
  const bytes = await versionFile(ctx, version, 'model.json');
  if (!bytes) throw new OpsError(`${label} has no model.json`, 'only models trained by `ops model train --data` can predict here');
  const file = JSON.parse(bytes.toString('utf8')) as ModelFile;
  if (file.format !== 'ops-model') throw new OpsError(`${label}'s model.json is not an ops model`);
  return { label, version, file, forest: RandomForest.fromJSON(file.forest) };
}

export interface Predictions {
  model: string;
  columns: string[];
  rows: Array<Array<string | number>>;
}

export interface PredictOptions {
  /** Record each row's inputs and prediction in the ledger, for `ops model monitor`. */
  log?: boolean;
  /** The column holding each row's id, for delayed labels (`ops model label`). */
  idColumn?: string;
}

/** Predict every row of a CSV: the class and its probabilities, or the value. */
export async function predictCsv(ctx: Context, ref: ModelRef, data: string, options: PredictOptions = {}): Promise<Predictions & { logged: number | null }> {
  const { label, file, forest, version } = await loadModel(ctx, ref);
  const table = await readCsv(data, ctx.cwd);
  const hint = `the model reads the columns ${file.features.join(', ')}`;
  const columns = file.features.map((name) => numericColumn(table, columnIndex(table, name, 'a feature of the model'), hint));
  const idIndex = options.idColumn === undefined ? -1 : columnIndex(table, options.idColumn, '--id-column');
  if (options.idColumn !== undefined && !options.log) throw new UsageError('--id-column needs --log', 'ids are kept with logged predictions, for `ops model label`');
  const output = forest.predict(columns);
  let result: Predictions;
  if (file.task === 'regression') result = { model: label, columns: ['prediction'], rows: Array.from(output, (v) => [v]) };
  else {
    const k = file.classes.length;
    const rows = table.rows.map((_, r) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (output[r * k + c]! > output[r * k + best]!) best = c;
      return [file.classes[best]!, ...Array.from({ length: k }, (_, c) => output[r * k + c]!)];
    });
    result = { model: label, columns: ['prediction', ...file.classes.map((c) => `p_${c}`)], rows };
  }
  if (!options.log) return { ...result, logged: null };
  const at = ctx.clock.now();
  const logged = await ctx.ledger().predictions.append(
    result.rows.map((row, r) => ({
      model: version.model,
      version: version.version,
      externalId: idIndex < 0 ? null : table.rows[r]![idIndex]! || null,
      inputs: Object.fromEntries(file.features.map((name, f) => [name, columns[f]![r]!])),
      output: row[0]!,
      source: 'predict' as const,
      atMs: at,
    })),
  );
  return { ...result, logged };
}
