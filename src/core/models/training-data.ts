import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Context } from '../context.js';
import { GateBlockedError, NotFoundError, quote, UsageError } from '../../errors.js';
import type { ModelVersion, NewDataCheck } from '../../ledger/index.js';
import type { DatasetProfile } from '../data/profile.js';
import { formatOf } from '../data/readers.js';
import { listFiles, type DatasetDigest } from '../data/files.js';
import type { CheckResult } from '../data/suite.js';
import { parseModelRef, resolveVersion } from './refs.js';

export interface TrainingDataOptions {
  /** A suite (YAML) every dataset must pass. */
  suite?: string;
  /** Why a dataset whose suite fails is used all the same (recorded with the check). */
  allowBadData?: string;
}

/** A dataset's profile and, with a suite, what its checks found: recorded with the run. */
export interface CheckedDataset {
  dataset: DatasetDigest;
  profile: DatasetProfile | null;
  check: Omit<NewDataCheck, 'runId'> | null;
}

/** Is this dataset one `ops data` reads (a data file, or a folder of only such files)? A folder of images is recorded by digest only. */
async function profilable(dataset: DatasetDigest): Promise<boolean> {
  if (dataset.kind === 'file') return formatOf(dataset.path) !== undefined;
  const files = await listFiles(dataset.path);
  return files.length > 0 && files.every((f) => formatOf(f) !== undefined);
}

/**
 * Profile each training dataset and run the suite on it before anything is recorded; a dataset
 * whose suite fails stops the training (exit 3) unless `--allow-bad-data` says why it is used.
 */
export async function checkTrainingData(ctx: Context, datasets: DatasetDigest[], options: TrainingDataOptions): Promise<CheckedDataset[]> {
  if (options.allowBadData !== undefined && !options.suite) throw new UsageError('--allow-bad-data needs --suite', 'name the suite the data is checked with, e.g. --suite checks/churn.yaml');
  if (options.allowBadData !== undefined && !options.allowBadData.trim()) throw new UsageError('--allow-bad-data needs a reason', 'say why the data is used anyway, e.g. --allow-bad-data "nulls in tickets are known, fixed upstream"');
  const { checkDataset, profileDataset } = await import('../data/index.js');
  const { loadSuite } = await import('../data/suite.js');
  const suite = options.suite ? await loadSuite(options.suite, ctx.cwd) : null;
  const now = () => ctx.clock.now();
  const out: CheckedDataset[] = [];
  for (const dataset of datasets) {
    if (!(await profilable(dataset))) {
      if (suite) throw new UsageError(`${dataset.path} is not a CSV, JSON Lines or Parquet dataset, so --suite cannot check it`, 'leave out --suite, or pass data files');
      out.push({ dataset, profile: null, check: null });
      continue;
    }
    if (!suite) {
      out.push({ dataset, profile: await ctx.output.step(`profiling ${dataset.path}`, () => profileDataset({ path: dataset.path, cwd: ctx.cwd, now })), check: null });
      continue;
    }
    const report = await ctx.output.step(`checking ${dataset.path}`, () => checkDataset({ path: dataset.path, cwd: ctx.cwd, suite, reference: null, now }));
    const failed = report.checks.filter((c) => !c.passed);
    const check = {
      digest: dataset.digest,
      suite: options.suite!,
      passed: failed.length === 0,
      failed: failed.map(describeFailure),
      checks: report.checks,
      override: failed.length > 0 ? (options.allowBadData ?? null) : null,
    };
    if (failed.length > 0 && options.allowBadData === undefined) {
      throw new GateBlockedError(
        `${dataset.path} fails ${failed.length} check${failed.length === 1 ? '' : 's'} of ${options.suite}: ${failed.slice(0, 3).map(describeFailure).join('; ')}${failed.length > 3 ? '; ...' : ''}`,
        'fix the data (see `ops data check`), or train anyway with --allow-bad-data "<reason>" (recorded)',
      ).withResult({ dataset: dataset.path, digest: dataset.digest, suite: options.suite, checks: report.checks });
    }
    if (failed.length > 0) ctx.output.warn(`${dataset.path} fails ${options.suite} (${failed.length} checks); used anyway: ${options.allowBadData}`);
    out.push({ dataset, profile: report.profile, check });
  }
  return out;
}

const describeFailure = (c: CheckResult) => `${c.check} (observed ${c.observed})`;

/** Record each dataset's profile (once per digest) and check against the run. */
export async function recordTrainingData(ctx: Context, runId: number, checked: CheckedDataset[]): Promise<void> {
  const ledger = ctx.ledger();
  const now = ctx.clock.now();
  for (const { dataset, profile, check } of checked) {
    if (profile) await ledger.data.saveProfile(dataset.digest, profile.rows, profile, now);
    if (check) await ledger.data.recordCheck({ ...check, runId }, now);
  }
}

/** The profile of the data a version was trained on (its run's first profiled dataset). */
export async function trainingProfile(ctx: Context, version: ModelVersion): Promise<{ digest: string; profile: DatasetProfile }> {
  const label = `${version.model}@${version.version}`;
  if (version.runId == null) throw new NotFoundError(`${label} was registered from a file, so no training data is recorded`, 'train it with `ops model train --data`');
  const ledger = ctx.ledger();
  for (const dataset of await ledger.models.runDatasets(version.runId)) {
    const stored = await ledger.data.profile<DatasetProfile>(dataset.digest);
    if (stored) return { digest: dataset.digest, profile: stored.profile };
  }
  throw new NotFoundError(`run ${version.runId} of ${label} recorded no data profile`, 'retrain it with `ops model train --data <csv|jsonl|parquet>`');
}

/** `--against`: a data file, a profiled dataset's digest (or its first digits), or model@alias (its training data). */
export async function referenceProfile(ctx: Context, against: string): Promise<{ label: string; profile: DatasetProfile }> {
  const now = () => ctx.clock.now();
  if (existsSync(resolve(ctx.cwd, against))) {
    const { profileDataset } = await import('../data/index.js');
    return { label: against, profile: await ctx.output.step(`profiling ${against}`, () => profileDataset({ path: against, cwd: ctx.cwd, now })) };
  }
  const ledger = ctx.ledger();
  if (/^(sha256:)?[0-9a-f]{6,64}$/.test(against)) {
    const digests = await ledger.data.profileDigests(against.replace(/^sha256:/, ''));
    if (digests.length === 0) throw new NotFoundError(`no profile of dataset ${quote(against)} is recorded`, 'profiles are recorded by `ops model train --data` and `ops data profile --record`');
    if (digests.length > 1) throw new UsageError(`digest ${quote(against)} is ambiguous (${digests.length} profiles)`, 'give more of its digits');
    return { label: digests[0]!, profile: (await ledger.data.profile<DatasetProfile>(digests[0]!))!.profile };
  }
  if (against.includes('@')) {
    const version = await resolveVersion(ledger, parseModelRef(against));
    const { profile } = await trainingProfile(ctx, version);
    return { label: `${against} (v${version.version}'s training data)`, profile };
  }
  throw new UsageError(`--against ${quote(against)} is neither a file, a dataset digest nor model@alias`, 'e.g. --against data/train.csv, --against sha256:9f86d081 or --against churn@production');
}
