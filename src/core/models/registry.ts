import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { AliasEvent, ModelSummary, ModelVersion, Run, StoredDataset, VersionUse } from '../../ledger/index.js';
import type { MetricGate, PromotionGate } from '../config/schema.js';
import type { Context } from '../context.js';
import { NotFoundError, OpsError, quote, UsageError } from '../../errors.js';
import { ArtifactStore, TREE_MEDIA_TYPE, type StoredBlob, type TreeEntry } from './artifacts.js';
import { compareOnHoldout, type SameRows } from './compare.js';
import { checkAlias, checkModelName, resolveVersion, requireModel, type ModelRef } from './refs.js';

export async function registerVersion(ctx: Context, name: string, source: { runId?: number; artifact?: string }): Promise<ModelVersion> {
  checkModelName(name);
  if ((source.runId === undefined) === (source.artifact === undefined)) {
    throw new UsageError('register needs exactly one of --run or --artifact', 'e.g. `ops model register churn --run 42`');
  }
  const ledger = ctx.ledger();
  if (source.runId !== undefined) {
    const run = await ledger.runs.get(source.runId);
    if (!run) throw new NotFoundError(`run ${source.runId} does not exist`, 'list training runs with `ops runs list --kind train`');
    if (run.kind !== 'train') throw new OpsError(`run ${run.id} is a ${run.kind} run, not a training run`, 'list training runs with `ops runs list --kind train`');
    if (run.status !== 'succeeded') throw new OpsError(`run ${run.id} ${run.status}; only a succeeded training run can be registered`, `see why with \`ops runs show ${run.id}\``);
    const tree = run.details?.artifactTree as string | undefined;
    if (!tree) throw new OpsError(`run ${run.id} stored no artifacts`, 'the training command must write its model into $OPS_ARTIFACT_DIR');
    await ArtifactStore.of(ctx).verifyTree(tree);
    return ledger.models.register(
      { model: name, runId: run.id, artifactDigest: tree, params: run.params, metrics: run.metrics as Record<string, number> | null, actor: ctx.actor, source: `run:${run.id}` },
      ctx.clock.now(),
    );
  }
  const path = resolve(ctx.cwd, source.artifact!);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new UsageError(`artifact ${quote(source.artifact)} does not exist`, 'pass a model file or folder to --artifact');
  }
  const store = ArtifactStore.of(ctx);
  let stored: { tree: StoredBlob; files: TreeEntry[] };
  if (isDir) stored = await store.putFolder(path);
  else {
    const files = [{ path: basename(path), ...(await store.putFile(path)) }];
    stored = { tree: await store.putTree(files), files };
  }
  const { tree, files } = stored;
  const now = ctx.clock.now();
  return ledger.transaction(
    async () => {
      await ledger.models.recordTree({ ...tree, mediaType: TREE_MEDIA_TYPE }, files, now);
      return ledger.models.register({ model: name, runId: null, artifactDigest: tree.digest, params: null, metrics: null, actor: ctx.actor, source: path }, now);
    },
    { lock: `model:${name}` },
  );
}

export interface GateCheck {
  metric: string;
  rule: string;
  candidate: number | null;
  baseline: number | null;
  passed: boolean;
  /** What the comparison stands on: both versions scored on the same held-out rows, or their recorded figures. */
  basis?: 'same rows' | 'recorded';
  note?: string;
}

const format = (n: number) => Number(n.toPrecision(6)).toString();

/**
 * MLflow's MetricThreshold semantics: every configured bound must hold. A change rule compares the
 * candidate with the alias's current holder on the same held-out rows when `sameRows` has the
 * metric; otherwise on their recorded figures, and the note says why.
 */
export function checkGates(gates: MetricGate[], candidate: ModelVersion, baseline: ModelVersion | null, sameRows: SameRows | { reason: string } | null = null): GateCheck[] {
  const checks: GateCheck[] = [];
  for (const gate of gates) {
    const better = gate.greaterIsBetter;
    const value = candidate.metrics?.[gate.metric] ?? null;
    const base = baseline?.metrics?.[gate.metric] ?? null;
    const add = (rule: string, passed: boolean, note?: string) => checks.push({ metric: gate.metric, rule, candidate: value, baseline: base, passed, ...(note ? { note } : {}) });
    if (gate.threshold !== undefined) {
      const rule = `${better ? '>=' : '<='} ${format(gate.threshold)}`;
      if (value == null) add(rule, false, `v${candidate.version} has no ${gate.metric}`);
      else add(rule, better ? value >= gate.threshold : value <= gate.threshold);
    }
    const changes: Array<[string, number, (v: number, b: number) => number]> = [];
    if (gate.minAbsoluteChange !== undefined) changes.push([`${better ? '+' : '-'}${format(gate.minAbsoluteChange)} vs baseline`, gate.minAbsoluteChange, (v, b) => (better ? v - b : b - v)]);
    if (gate.minRelativeChange !== undefined) {
      changes.push([
        `${better ? '+' : '-'}${format(gate.minRelativeChange * 100)}% vs baseline`,
        gate.minRelativeChange,
        (v, b) => (b === 0 ? (better ? v - b : b - v) : (better ? v - b : b - v) / Math.abs(b)),
      ]);
    }
    for (const [rule, minimum, gain] of changes) {
      if (!baseline) {
        if (value == null) add(rule, false, `v${candidate.version} has no ${gate.metric}`);
        else add(rule, true, 'no current holder to compare with');
        continue;
      }
      const same = sameRows && 'rows' in sameRows ? sameRows : null;
      const unavailable = sameRows && 'reason' in sameRows ? sameRows.reason : 'no held-out rows to compare on';
      const mine = same?.candidate[gate.metric];
      const theirs = same?.baseline[gate.metric];
      if (same && mine != null && theirs != null) {
        checks.push({
          metric: gate.metric,
          rule,
          candidate: mine,
          baseline: theirs,
          passed: gain(mine, theirs) >= minimum - 1e-12,
          basis: 'same rows',
          note: `both scored on v${same.rowsOf}'s ${same.rows} held-out rows`,
        });
        continue;
      }
      // Not comparable on the same rows: the recorded figures, and why.
      const why = same ? `${gate.metric} is not computed from rows` : unavailable;
      const basis = { basis: 'recorded' as const };
      if (value == null) checks.push({ metric: gate.metric, rule, candidate: value, baseline: base, passed: false, ...basis, note: `v${candidate.version} has no ${gate.metric}` });
      else if (base == null) checks.push({ metric: gate.metric, rule, candidate: value, baseline: base, passed: true, ...basis, note: `v${baseline.version} has no ${gate.metric} to compare with` });
      else checks.push({ metric: gate.metric, rule, candidate: value, baseline: base, passed: gain(value, base) >= minimum - 1e-12, ...basis, note: `recorded figures, not the same rows: ${why}` });
    }
  }
  return checks;
}

export function gatesFor(ctx: Context, model: string, alias: string): PromotionGate[] {
  const gates = ctx.config?.models.gates ?? {};
  return gates[`${model}@${alias}`] ?? gates[alias] ?? [];
}

const isMetricGate = (gate: PromotionGate): gate is MetricGate => 'metric' in gate;

/** `data: pass`: the suites run on the candidate's training data at `ops model train` all passed (an override is no pass). */
export async function dataGateCheck(ctx: Context, candidate: ModelVersion): Promise<GateCheck> {
  const base = { metric: 'data', rule: 'training data checks pass', candidate: null, baseline: null };
  if (candidate.runId == null) return { ...base, passed: false, note: `v${candidate.version} was registered from a file: no training data was checked` };
  const checks = await ctx.ledger().data.checksOfRun(candidate.runId);
  if (checks.length === 0) return { ...base, passed: false, note: `run ${candidate.runId} checked its data with no suite (train with --suite)` };
  const failed = checks.filter((c) => !c.passed);
  if (failed.length === 0) return { ...base, passed: true, note: `${checks.map((c) => c.suite).join(', ')} passed on run ${candidate.runId}'s data` };
  const first = failed[0]!;
  return { ...base, passed: false, note: `${first.suite} failed (${first.failed.slice(0, 3).join('; ')})${first.override ? `, used anyway: ${first.override}` : ''}` };
}

export interface Promotion {
  model: string;
  alias: string;
  candidate: number;
  baseline: number | null;
  checks: GateCheck[];
  promoted: boolean;
  forced: boolean;
  event: AliasEvent | null;
}

/**
 * Point `alias` at a version if its gates pass (or `force` with a reason). A change rule compares
 * with the alias's current holder, scored on the candidate's held-out rows beforehand; the gate
 * decides on the holder read in the same transaction that moves the alias (one that moved
 * meanwhile is compared on its recorded figures, and the check says so).
 */
export async function promote(ctx: Context, ref: ModelRef, aliasName: string, options: { reason?: string; force?: boolean }): Promise<Promotion> {
  const alias = checkAlias(aliasName);
  if (options.force && !options.reason) throw new UsageError('--force needs --reason', 'say why the gate is overridden, e.g. --reason "hotfix approved by on-call"');
  const ledger = ctx.ledger();
  const candidate = await resolveVersion(ledger, ref);
  if (candidate.artifactDigest) await ArtifactStore.of(ctx).verifyTree(candidate.artifactDigest);
  const configured = gatesFor(ctx, candidate.model, alias);
  const gates = configured.filter(isMetricGate);
  const dataCheck = configured.some((g) => !isMetricGate(g)) ? await dataGateCheck(ctx, candidate) : null;
  const holder = await ledger.models.aliasHolder(candidate.model, alias);
  const holderVersion = holder == null ? null : (await ledger.models.version(candidate.model, holder)) ?? null;
  const compared =
    holder === candidate.version
      ? { reason: `v${holder} already holds ${alias}` }
      : holderVersion && gates.some((g) => g.minAbsoluteChange !== undefined || g.minRelativeChange !== undefined)
        ? await compareOnHoldout(ctx, candidate, holderVersion)
        : null;
  const result = await ledger.models.moveAlias(
    { model: candidate.model, alias, actor: ctx.actor, reason: options.reason ?? null },
    async (current) => {
      const baseline = current == null ? null : (await ledger.models.version(candidate.model, current)) ?? null;
      const sameRows = current === holder ? compared : { reason: `the alias moved to v${current} while v${holder} was being compared` };
      const checks = [...(dataCheck ? [dataCheck] : []), ...checkGates(gates, candidate, baseline, sameRows)];
      const passed = checks.every((c) => c.passed);
      const forced = !passed && Boolean(options.force);
      return { baseline: current, checks, forced, toVersion: passed || forced ? candidate.version : null };
    },
    ctx.clock.now(),
  );
  return {
    model: candidate.model,
    alias,
    candidate: candidate.version,
    baseline: result.baseline,
    checks: result.checks,
    promoted: result.toVersion !== null,
    forced: result.forced,
    event: result.event,
  };
}

/** Move the alias back to the version that held it before its last move (or to `to`). */
export async function rollbackAlias(ctx: Context, model: string, aliasName: string, options: { to?: number; reason?: string }): Promise<AliasEvent> {
  const alias = checkAlias(aliasName);
  const ledger = ctx.ledger();
  await requireModel(ledger, model);
  if (options.to !== undefined) await resolveVersion(ledger, { name: model, version: options.to });
  const result = await ledger.models.moveAlias(
    { model, alias, actor: ctx.actor, reason: options.reason ?? `rollback of ${alias}` },
    async (current) => {
      if (current == null) throw new NotFoundError(`model "${model}" has no alias "${alias}"`, `see its aliases with \`ops model show ${model}\``);
      if (options.to !== undefined) return { toVersion: options.to, current };
      const [last] = await ledger.models.aliasEvents(model, alias, 1);
      const previous = last?.fromVersion ?? null;
      if (previous == null) throw new NotFoundError(`${model}@${alias} has no earlier holder to roll back to`, `it has pointed at v${current} since it was first set`);
      return { toVersion: previous, current };
    },
    ctx.clock.now(),
  );
  if (!result.event) throw new OpsError(`${model}@${alias} already points at v${result.current}`, 'pick another version with --to');
  return result.event;
}

export function listModels(ctx: Context): Promise<ModelSummary[]> {
  return ctx.ledger().models.list();
}

export interface VersionDetails extends ModelVersion {
  run: Run | null;
  datasets: StoredDataset[];
  /** The suites its training data was checked with (`ops model train --suite`), failed checks and any override's reason. */
  dataChecks: Array<{ digest: string; suite: string; passed: boolean; failed: string[]; override: string | null; at: string }>;
  files: TreeEntry[];
}

export async function versionDetails(ctx: Context, version: ModelVersion): Promise<VersionDetails> {
  const ledger = ctx.ledger();
  const run = version.runId == null ? null : (await ledger.runs.get(version.runId)) ?? null;
  const files = version.artifactDigest ? (await ArtifactStore.of(ctx).readTree(version.artifactDigest)).files : [];
  const checks = version.runId == null ? [] : await ledger.data.checksOfRun(version.runId);
  return {
    ...version,
    run,
    datasets: version.runId == null ? [] : await ledger.models.runDatasets(version.runId),
    dataChecks: checks.map((c) => ({ digest: c.digest, suite: c.suite, passed: c.passed, failed: c.failed, override: c.override, at: c.createdAt })),
    files,
  };
}

export async function showModel(ctx: Context, name: string, limit: number): Promise<{ model: ModelSummary; versions: ModelVersion[] }> {
  const ledger = ctx.ledger();
  await requireModel(ledger, name);
  return { model: (await ledger.models.list()).find((m) => m.name === name)!, versions: await ledger.models.versions(name, limit) };
}

export interface AliasTenure extends AliasEvent {
  /** When the next move took the alias away from `toVersion` (null: it still holds it). */
  until: string | null;
}

/** Alias moves, newest first, each with the time its version held the alias until. */
export async function aliasHistory(ctx: Context, name: string, alias: string | undefined, limit: number): Promise<AliasTenure[]> {
  const ledger = ctx.ledger();
  await requireModel(ledger, name);
  if (alias) checkAlias(alias);
  const events = await ledger.models.aliasEvents(name, alias, limit);
  const nextAt = new Map<string, string>();
  return events.map((event) => {
    const until = nextAt.get(event.alias) ?? null;
    nextAt.set(event.alias, event.at);
    return { ...event, until };
  });
}

export interface Lineage {
  version: ModelVersion;
  upstream: { run: Run | null; datasets: StoredDataset[]; commit: { sha: string | null; branch: string | null; dirty: boolean | null; dirtyHash: string | null } | null };
  downstream: VersionUse;
}

export async function lineage(ctx: Context, ref: ModelRef, limit: number): Promise<Lineage> {
  const ledger = ctx.ledger();
  const version = await resolveVersion(ledger, ref);
  const run = version.runId == null ? null : (await ledger.runs.get(version.runId)) ?? null;
  return {
    version,
    upstream: {
      run,
      datasets: run ? await ledger.models.runDatasets(run.id) : [],
      commit: run ? { ...run.git, dirtyHash: (run.details?.dirtyHash as string | null | undefined) ?? null } : null,
    },
    downstream: await ledger.models.uses(version.id, limit),
  };
}

export async function datasetLineage(ctx: Context, digest: string): Promise<{ dataset: StoredDataset; versions: ModelVersion[] }> {
  const ledger = ctx.ledger();
  const prefix = digest.replace(/^sha256:/, '');
  if (!/^[0-9a-f]{6,64}$/.test(prefix)) throw new UsageError(`${quote(digest)} is not a dataset digest`, 'give sha256:<hex> or at least its first 6 hex digits');
  const matches = await ledger.models.datasetsByPrefix(prefix);
  if (matches.length === 0) throw new NotFoundError(`no dataset with digest ${quote(digest)} is recorded`, 'datasets are recorded by `ops model train`');
  if (matches.length > 1) throw new UsageError(`digest ${quote(digest)} is ambiguous (${matches.length} datasets)`, 'give more of its digits');
  return { dataset: matches[0]!, versions: await ledger.models.versionsTrainedOn(matches[0]!.digest) };
}

export interface DiffRow {
  key: string;
  a: unknown;
  b: unknown;
  delta?: number;
  same: boolean;
}

export interface VersionDiff {
  a: string;
  b: string;
  params: DiffRow[];
  metrics: DiffRow[];
  datasets: DiffRow[];
}

function diffRecords(a: Record<string, unknown>, b: Record<string, unknown>, numeric: boolean): DiffRow[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.map((key) => {
    const left = a[key] ?? null;
    const right = b[key] ?? null;
    const row: DiffRow = { key, a: left, b: right, same: JSON.stringify(left) === JSON.stringify(right) };
    if (numeric && typeof left === 'number' && typeof right === 'number') row.delta = right - left;
    return row;
  });
}

export async function diffVersions(ctx: Context, refA: ModelRef, refB: ModelRef): Promise<VersionDiff> {
  const ledger = ctx.ledger();
  const a = await resolveVersion(ledger, refA);
  const b = await resolveVersion(ledger, refB);
  const datasets = async (v: ModelVersion) =>
    Object.fromEntries((v.runId == null ? [] : await ledger.models.runDatasets(v.runId)).map((d) => [d.path, d.digest]));
  return {
    a: `${a.model}@${a.version}`,
    b: `${b.model}@${b.version}`,
    params: diffRecords(a.params ?? {}, b.params ?? {}, false),
    metrics: diffRecords(a.metrics ?? {}, b.metrics ?? {}, true),
    datasets: diffRecords(await datasets(a), await datasets(b), false),
  };
}

/** Re-hash every file of a version; a mismatch is a CorruptArtifactError naming the file. */
export async function verifyVersion(ctx: Context, ref: ModelRef): Promise<{ version: ModelVersion; files: TreeEntry[] }> {
  const version = await resolveVersion(ctx.ledger(), ref);
  if (!version.artifactDigest) return { version, files: [] };
  return { version, files: await ArtifactStore.of(ctx).verifyTree(version.artifactDigest) };
}
