import type { Context } from '../context.js';
import type { ModelVersion } from '../../ledger/index.js';
import { OpsError } from '../../errors.js';
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
export function versionFile(ctx: Context, version: ModelVersion, path: string): Buffer | undefined {
  const store = ArtifactStore.beside(ctx.ledgerPath);
  const entry = version.artifactDigest ? store.readTree(version.artifactDigest).files.find((f) => f.path === path) : undefined;
  return entry ? store.read(entry.digest) : undefined;
}

/** The built-in model of a version, read (and hash-checked) from the artifact store. */
export async function loadModel(ctx: Context, ref: ModelRef): Promise<LoadedModel> {
  const version = await resolveVersion(ctx.ledger(), ref);
  const label = `${version.model}@${version.version}`;
  const bytes = versionFile(ctx, version, 'model.json');
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

/** Predict every row of a CSV: the class and its probabilities, or the value. */
export async function predictCsv(ctx: Context, ref: ModelRef, data: string): Promise<Predictions> {
  const { label, file, forest } = await loadModel(ctx, ref);
  const table = await readCsv(data, ctx.cwd);
  const hint = `the model reads the columns ${file.features.join(', ')}`;
  const columns = file.features.map((name) => numericColumn(table, columnIndex(table, name, 'a feature of the model'), hint));
  const output = forest.predict(columns);
  if (file.task === 'regression') return { model: label, columns: ['prediction'], rows: Array.from(output, (v) => [v]) };
  const k = file.classes.length;
  const rows = table.rows.map((_, r) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (output[r * k + c]! > output[r * k + best]!) best = c;
    return [file.classes[best]!, ...Array.from({ length: k }, (_, c) => output[r * k + c]!)];
  });
  return { model: label, columns: ['prediction', ...file.classes.map((c) => `p_${c}`)], rows };
}
