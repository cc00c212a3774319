import { statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { compareProfiles, type DriftReport } from './drift.js';
import { digestDataset, listFiles } from './files.js';
import { DatasetProfiler, type DataFormat, type DatasetProfile } from './profile.js';
import { FORMATS_BY_EXTENSION, formatOf, scanFile } from './readers.js';
import { evaluateSuite, suiteThresholds, SuiteWatchers, type CheckResult, type Suite } from './suite.js';

export const DATA_FORMATS: DataFormat[] = ['csv', 'jsonl', 'parquet'];

export interface ProfileRequest {
  path: string;
  cwd: string;
  format?: DataFormat;
  /** Per-value expectations to run during the same pass. */
  watchers?: SuiteWatchers;
  now: () => number;
}

/** The files of a dataset (a file, or every data file of one format under a folder) and that format. */
async function datasetFiles(path: string, cwd: string, given?: DataFormat): Promise<{ absolute: string; files: string[]; format: DataFormat }> {
  const absolute = resolve(cwd, path);
  const info = statSync(absolute, { throwIfNoEntry: false });
  if (!info) throw new UsageError(`${path} does not exist`, 'give a CSV, JSON Lines or Parquet file, or a folder of them');
  const extensions = Object.keys(FORMATS_BY_EXTENSION).join(', ');
  if (info.isFile()) {
    const format = formatOf(absolute, given);
    if (!format) throw new UsageError(`cannot tell the format of ${path} from its name`, `name it ${extensions}, or pass --format csv|jsonl|parquet`);
    return { absolute, files: [absolute], format };
  }
  if (!info.isDirectory()) throw new UsageError(`${path} is neither a file nor a folder`, 'give a data file or a folder of them');
  const files = (await listFiles(absolute)).filter((f) => formatOf(f, given) && (!given || formatOf(f) === given || !formatOf(f)));
  const formats = [...new Set(files.map((f) => formatOf(f, given)!))];
  if (files.length === 0) throw new UsageError(`${path} holds no data files`, `a dataset folder holds files named ${extensions}`);
  if (formats.length > 1) throw new UsageError(`${path} mixes ${formats.join(' and ')} files`, 'one dataset is one format: pass --format to pick one');
  return { absolute, files, format: formats[0]! };
}

/** Profile a dataset in one streaming pass; a folder's files are one dataset, read in path order. */
export async function profileDataset(request: ProfileRequest): Promise<DatasetProfile> {
  const started = request.now();
  const { absolute, files, format } = await datasetFiles(request.path, request.cwd, request.format);
  const watchers = request.watchers;
  const profiler = new DatasetProfiler(watchers ? (column) => watchers.for(column) : undefined);
  for (const file of files) {
    const label = relative(request.cwd, file) || file;
    await scanFile(file, label.startsWith('..') ? file : label, format, profiler);
  }
  const digest = await digestDataset(absolute, request.cwd);
  return profiler.finish({ path: absolute, format, files: files.length, sizeBytes: digest.sizeBytes, digest: digest.digest }, new Date(started).toISOString(), request.now() - started);
}

export interface CheckReport {
  dataset: { path: string; digest: string; rows: number; format: DataFormat };
  /** What drift was measured against. */
  reference: { label: string; digest: string; rows: number } | null;
  checks: CheckResult[];
  drift: DriftReport | null;
  passed: boolean;
  profile: DatasetProfile;
}

export interface CheckRequest {
  path: string;
  cwd: string;
  format?: DataFormat;
  suite: Suite | null;
  /** The reference profile and what to call it, when drift is wanted. */
  reference: { label: string; profile: DatasetProfile } | null;
  now: () => number;
}

/** Expectations and drift of a dataset: one pass over its rows, then profiles compared. */
export async function checkDataset(request: CheckRequest): Promise<CheckReport> {
  const watchers = new SuiteWatchers(request.suite);
  const profile = await profileDataset({ path: request.path, cwd: request.cwd, format: request.format, watchers, now: request.now });
  const checks = request.suite ? evaluateSuite(request.suite, profile, watchers, request.now()) : [];
  let drift: DriftReport | null = null;
  if (request.reference) {
    const ignore = new Set(request.suite?.drift.ignore ?? []);
    const only = (request.suite?.drift.columns ?? request.reference.profile.columns.map((c) => c.name)).filter((c) => !ignore.has(c));
    drift = compareProfiles(request.reference.profile, profile, suiteThresholds(request.suite), only);
  }
  const reference = request.reference ? { label: request.reference.label, digest: request.reference.profile.source.digest, rows: request.reference.profile.rows } : null;
  return {
    dataset: { path: profile.source.path, digest: profile.source.digest, rows: profile.rows, format: profile.source.format },
    reference,
    checks,
    drift,
    passed: checks.every((c) => c.passed) && (drift?.drifted.length ?? 0) === 0,
    profile,
  };
}
