import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommitLabel, ModelVersion, StoredCommit } from '../../ledger/index.js';
import type { Context } from '../context.js';
import { NotFoundError, quote, UsageError } from '../../errors.js';
import { RandomForest, type ForestParams } from '../forest/forest.js';
import { loadModel, versionFile } from '../models/predict.js';
import { holdoutCsv, HOLDOUT_FILE } from '../models/compare.js';
import { promote, registerVersion, type Promotion } from '../models/registry.js';
import { storeRunArtifacts, type ModelFile } from '../models/train.js';
import { withRun } from '../runs.js';
import { featureColumns, MODEL_FEATURES } from './features.js';
import { fixShare, mine, mineRepository, openRepository, type MiningResult, type Repository, type SzzResult } from './history.js';
import { calibrate, DEPLOY_FEATURES, deployFeatures, describeDeploy, fitCalibration, outsideRange, RECENT_DEPLOYS, trainDeployForest, type Calibration, type DeployModelFile, type DeployTraining } from './deploy.js';
import { baselineWarning, RISK_FOREST_PARAMS, trainHoldout, type HoldoutMetrics } from './evaluate.js';

export const RISK_MODEL = 'risk-scorer';

export { mine, openRepository, runSzz, type MiningResult, type Repository, type SzzResult } from './history.js';

export interface MineReport {
  runId: number;
  mining: MiningResult;
  szz?: SzzResult;
  releaseLabelled?: number;
}

/**
 * `ops risk mine`, recorded as a run of kind "mine": mine new commits, and with `labels` run SZZ
 * on new fixes and label failed releases. SZZ saves its progress in batches, so a mine that is
 * killed resumes where it stopped.
 */
export async function mineRecorded(ctx: Context, dir: string, labels: boolean): Promise<MineReport> {
  const repo = await openRepository(ctx, dir);
  let result: Awaited<ReturnType<typeof mineRepository>> | undefined;
  const outcome = await withRun(ctx, { kind: 'mine', params: { repository: repo.root, labels } }, async () => {
    result = await mineRepository(ctx, repo.root, labels);
    if (labels) {
      const ledger = ctx.ledger();
      await labelScoredCommits(ctx, await ledger.risk.commits(repo.root), new Set((await ledger.risk.labels(repo.root)).map((l) => l.sha)));
    }
    const { mining } = result;
    const szz = result.labels?.szz;
    const metrics = { mined: mining.mined, commits: mining.total, ...(szz ? { szzFixes: szz.fixes, szzLabelled: szz.labelled, szzSeconds: szz.seconds, releaseLabelled: result.labels!.releaseLabelled } : {}) };
    return { status: 'succeeded', exitCode: 0, metrics };
  });
  return { runId: outcome.runId, mining: result!.mining, ...(result!.labels ?? {}) };
}

export interface LabelledHistory {
  repo: Repository;
  mining: MiningResult;
  szz: SzzResult;
  releaseLabelled: number;
  /** Oldest first. */
  commits: StoredCommit[];
  labels: CommitLabel[];
  bug: Set<string>;
}

/** Mine new commits, label them (SZZ, reverts, failed releases), and read back the whole labelled history. */
export async function labelledHistory(ctx: Context, dir: string): Promise<LabelledHistory> {
  const { repo, mining, labels: found } = await mineRepository(ctx, dir, true);
  const { szz, releaseLabelled } = found!;
  const ledger = ctx.ledger();
  const commits = await ledger.risk.commits(repo.root);
  if (commits.length < 10) throw new UsageError(`${repo.root} has ${commits.length} commits; the risk scorer needs at least 10`, 'train it on a repository with more history');
  const { warning } = fixShare(commits);
  if (warning) ctx.output.warn(`${warning} (see \`ops risk labels\`)`);
  const labels = await ledger.risk.labels(repo.root);
  const bug = new Set(labels.map((l) => l.sha));
  await labelScoredCommits(ctx, commits, bug);
  return { repo, mining, szz, releaseLabelled, commits, labels, bug };
}

/**
 * The scorer's logged predictions (each scored commit, by sha) get the labels the ledger now has:
 * 1 for a commit that SZZ, a revert or a failed release marked bug-inducing, else 0. That is what
 * `ops model monitor risk-scorer@<alias>` scores its accuracy on.
 */
async function labelScoredCommits(ctx: Context, commits: StoredCommit[], bug: Set<string>): Promise<void> {
  const ledger = ctx.ledger();
  const scored = new Set(await ledger.predictions.externalIds(RISK_MODEL));
  const labels = commits.filter((c) => scored.has(c.sha)).map((c) => ({ id: c.sha, label: bug.has(c.sha) ? '1' : '0', model: RISK_MODEL }));
  if (labels.length) await ledger.predictions.label(labels, ctx.clock.now());
}

const modelColumns = (history: LabelledHistory) => featureColumns(MODEL_FEATURES, history.commits, history.commits, history.labels);

/** Train on the oldest 80% of a repository's labelled commits and score the newest 20%. */
export async function evaluateRepository(ctx: Context, dir: string, threshold: number, params: ForestParams = RISK_FOREST_PARAMS): Promise<{ repository: string; metrics: HoldoutMetrics; mining: MiningResult; szz: SzzResult }> {
  const history = await labelledHistory(ctx, dir);
  const y = Float64Array.from(history.commits, (c) => (history.bug.has(c.sha) ? 1 : 0));
  const { metrics } = trainHoldout(modelColumns(history), y, params, threshold, `${history.repo.root}'s commits`, undefined, MODEL_FEATURES);
  return { repository: history.repo.root, metrics, mining: history.mining, szz: history.szz };
}

export interface RiskTraining {
  /** True when a version was already trained on this exact training set: nothing was trained or registered. */
  unchanged: boolean;
  runId: number | null;
  version: ModelVersion;
  metrics: HoldoutMetrics | null;
  /** The deploy-level model's figures (deployAuc on later change sets), or why there is none. */
  deploy: { metrics: Record<string, number>; skipped?: string } | null;
  mining: MiningResult;
  szz: SzzResult;
  releaseLabelled: number;
  rows: number;
  positives: number;
  /** The training set registered as the version's dataset, and how many of its rows each label source marked. */
  trainingSet: { digest: string; path: string; rows: number; szzLabelled: number; revertLabelled: number; releaseLabelled: number; weights: LabelWeights };
  promotion: Promotion | null;
  /** What the user should know: the forest not beating LApredict, a first promotion refused by its gate. */
  warnings: string[];
}

/** Each commit's label sources ("szz", "release", both) and its sample weight: the heaviest of its labels, 1 when clean. */
type LabelWeights = { szz: number; revert: number; release: number };

function labelWeights(commits: StoredCommit[], labels: CommitLabel[], weights: LabelWeights): { sources: string[]; weight: Float64Array } {
  const bySha = new Map<string, Set<string>>();
  for (const label of labels) (bySha.get(label.sha) ?? bySha.set(label.sha, new Set()).get(label.sha)!).add(label.source);
  const sources = commits.map((c) => [...(bySha.get(c.sha) ?? [])].sort().join('+'));
  const weight = Float64Array.from(sources, (s) => (s ? Math.max(...s.split('+').map((k) => weights[k as keyof LabelWeights] ?? 1)) : 1));
  return { sources, weight };
}

function trainingCsv(commits: StoredCommit[], columns: Float64Array[], bug: Set<string>, sources: string[], weight: Float64Array): string {
  const lines = [['sha', 'at', ...MODEL_FEATURES, 'bug', 'label_source', 'weight'].join(',')];
  commits.forEach((c, i) => lines.push([c.sha, c.at, ...columns.map((column) => column[i]), bug.has(c.sha) ? 1 : 0, sources[i] || '', weight[i]].join(',')));
  return `${lines.join('\n')}\n`;
}

/** Held-out metrics as a version's flat metrics: the baseline's AUCs beside the forest's. */
function recordedMetrics(metrics: HoldoutMetrics): Record<string, number> {
  const { auc, baseline, gainOverBaseline, featureUse, ...rest } = metrics;
  return {
    ...(auc == null ? {} : { auc }),
    ...rest,
    ...(baseline.la == null ? {} : { baselineLaAuc: baseline.la }),
    ...(baseline.logisticLa == null ? {} : { baselineLogisticLaAuc: baseline.logisticLa }),
    ...(gainOverBaseline == null ? {} : { gainOverBaseline }),
  };
}

/**
 * Mine, label (SZZ and failed releases), train on the oldest 80% and evaluate on the newest 20%,
 * then register the model as a new `risk-scorer` version with its training set as lineage. A
 * training set some version was already trained on registers nothing ("unchanged"). The first
 * version, when nothing holds `risk.alias`, is promoted to it through its gates.
 */
export async function trainRisk(ctx: Context, dir: string, options: { promoteTo?: string; reason?: string; force?: boolean }): Promise<RiskTraining> {
  const history = await labelledHistory(ctx, dir);
  const { repo, mining, szz, releaseLabelled, commits, bug } = history;
  const ledger = ctx.ledger();
  const y = Float64Array.from(commits, (c) => (bug.has(c.sha) ? 1 : 0));
  const positives = commits.filter((c) => bug.has(c.sha)).length;
  const weights = ctx.config?.risk.labelWeights ?? { szz: 1, revert: 1, release: 2 };
  const { sources, weight } = labelWeights(commits, history.labels, weights);
  const columns = modelColumns(history);
  const csv = trainingCsv(commits, columns, bug, sources, weight);
  const dataset = `sha256:${createHash('sha256').update(csv).digest('hex')}`;
  const datasetPath = `git:${repo.root}#${commits[0]!.sha.slice(0, 12)}..${commits[commits.length - 1]!.sha.slice(0, 12)}`;
  const trainingSet = {
    digest: dataset,
    path: datasetPath,
    rows: commits.length,
    szzLabelled: sources.filter((s) => s.includes('szz')).length,
    revertLabelled: sources.filter((s) => s.includes('revert')).length,
    releaseLabelled: sources.filter((s) => s.includes('release')).length,
    weights,
  };
  const alias = ctx.config?.risk.alias ?? 'production';
  const warnings: string[] = [];
  const promoteTo = async (): Promise<string | undefined> => options.promoteTo ?? ((await ledger.models.aliasHolder(RISK_MODEL, alias)) == null ? alias : undefined);
  const promoteVersion = async (version: ModelVersion): Promise<Promotion | null> => {
    const target = await promoteTo();
    if (!target || (await ledger.models.aliasHolder(RISK_MODEL, target)) === version.version) return null;
    const first = !options.promoteTo;
    const promotion = await promote(ctx, { name: RISK_MODEL, version: version.version }, target, { reason: options.reason ?? (first ? `first ${RISK_MODEL} version` : undefined), force: options.force });
    if (first && !promotion.promoted) warnings.push(`${RISK_MODEL}@${version.version} was not promoted to ${target}: its gate failed (see \`ops model promote ${RISK_MODEL}@${version.version} ${target}\`)`);
    return promotion;
  };

  const existing = (await ledger.models.versionsTrainedOn(dataset)).filter((v) => v.model === RISK_MODEL).at(-1);
  if (existing) {
    return { unchanged: true, runId: existing.runId, version: existing, metrics: null, deploy: null, mining, szz, releaseLabelled, rows: commits.length, positives, trainingSet, promotion: await promoteVersion(existing), warnings };
  }

  let metrics: HoldoutMetrics | undefined;
  const weighted = weight.some((w) => w !== 1);
  let deploy: DeployTraining | undefined;
  const outcome = await withRun(ctx, { kind: 'train', params: { ...RISK_FOREST_PARAMS, labelWeights: weights } }, async (run) => {
    const holdout = await ctx.output.step(`training on ${Math.floor(commits.length * 0.8)} commits`, async () =>
      trainHoldout(columns, y, RISK_FOREST_PARAMS, 0.5, `${repo.root}'s commits (check risk.fixPattern)`, weighted ? weight : undefined, MODEL_FEATURES),
    );
    metrics = holdout.metrics;
    const commitCalibration = fitCalibration(holdout.scores.subarray(metrics.trainRows), Array.from(y.subarray(metrics.trainRows), (v) => v === 1));
    deploy = trainDeployForest(commits, holdout.scores, bug, metrics.trainRows, await ledger.risk.scoredReleases(), RISK_FOREST_PARAMS);
    if (deploy.skipped) ctx.output.warn(`no deploy-level model: ${deploy.skipped}; deploys are scored by their riskiest commit`);
    const calibrationMetrics = commitCalibration ? { brier: commitCalibration.brierBefore, brierCalibrated: commitCalibration.brierAfter } : {};
    const recorded = { ...recordedMetrics(metrics), ...calibrationMetrics, positives, ...deploy.metrics };
    const model: ModelFile = { format: 'ops-model', version: 1, kind: 'random-forest', task: 'classification', target: 'bug', features: [...MODEL_FEATURES], classes: ['0', '1'], forest: holdout.forest.toJSON() };
    const artifactDir = mkdtempSync(join(tmpdir(), 'ops-risk-'));
    try {
      writeFileSync(join(artifactDir, 'model.json'), JSON.stringify(model));
      if (deploy.model) writeFileSync(join(artifactDir, 'deploy-model.json'), JSON.stringify(deploy.model));
      writeFileSync(join(artifactDir, 'metrics.json'), JSON.stringify(recorded, null, 2));
      if (commitCalibration) writeFileSync(join(artifactDir, 'calibration.json'), JSON.stringify({ commit: commitCalibration }));
      writeFileSync(join(artifactDir, 'training-set.csv'), csv);
      // Its profile by the training set's digest: what `ops model monitor risk-scorer@<alias>` compares recent commits with.
      const { profileDataset } = await import('../data/index.js');
      const profile = await profileDataset({ path: join(artifactDir, 'training-set.csv'), cwd: ctx.cwd, now: () => ctx.clock.now() });
      await ledger.data.saveProfile(dataset, profile.rows, profile, ctx.clock.now());
      // The newest 20%, for a promotion gate to score the alias's holder on the same rows.
      const held = (column: Float64Array) => column.subarray(metrics!.trainRows);
      writeFileSync(join(artifactDir, HOLDOUT_FILE), holdoutCsv([...MODEL_FEATURES], 'bug', columns.map(held), Array.from(held(y), String)));
      await ledger.models.recordDataset({ digest: dataset, path: datasetPath, kind: 'file', sizeBytes: Buffer.byteLength(csv) }, run.id, ctx.clock.now());
      await storeRunArtifacts(ctx, run.id, artifactDir, {
        model: RISK_MODEL,
        trainer: 'risk',
        commitRange: `${commits[0]!.sha}..${commits[commits.length - 1]!.sha}`,
        repository: repo.root,
        target: 'bug',
        features: [...MODEL_FEATURES],
        labels: { szzFixes: szz.fixes, szzLabelled: szz.labelled, releaseLabelled },
        datasets: [dataset],
        tools: { node: process.version },
      });
    } finally {
      rmSync(artifactDir, { recursive: true, force: true });
    }
    return { status: 'succeeded', exitCode: 0, metrics: recorded };
  });
  const baseline = baselineWarning(metrics!);
  if (baseline) warnings.push(baseline);
  const version = await registerVersion(ctx, RISK_MODEL, { runId: outcome.runId });
  const promotion = await promoteVersion(version);
  return { unchanged: false, runId: outcome.runId, version, metrics: metrics!, deploy: { metrics: deploy!.metrics, skipped: deploy!.skipped }, mining, szz, releaseLabelled, rows: commits.length, positives, trainingSet, promotion, warnings };
}

export interface CommitRisk {
  sha: string;
  subject: string;
  /** Calibrated on the held-out commits when the version has a calibration; else the forest's score. */
  probability: number;
  /** The forest's own output (what the deploy model reads). */
  score: number;
  reasons: Array<{ feature: string; value: number; contribution: number; text: string }>;
}

export interface RiskScore {
  id: number;
  range: string;
  probability: number;
  level: 'low' | 'medium' | 'high';
  reasons: string[];
  model: string;
  /** The change set's deploy-level features, when the model has a deploy stage. */
  deployFeatures?: Record<string, number>;
  /** Whether the probability went through the version's calibration (held-out Platt scaling). */
  calibrated: boolean;
  /** Why to take the probability with care: a change set outside the deploy model's training range. */
  warnings: string[];
  commits: CommitRisk[];
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
const days = (value: number) => (value < 2 ? `${(value * 24).toFixed(0)} hours` : `${value.toFixed(0)} days`);

/** A feature's value in words, for a reason. */
function describe(feature: string, value: number): string {
  switch (feature) {
    case 'ns': return `touches ${plural(value, 'subsystem')}`;
    case 'nd': return `spans ${plural(value, 'directory').replace('directorys', 'directories')}`;
    case 'nf': return `touches ${plural(value, 'file')}`;
    case 'entropy': return `spreads its changes across files (entropy ${value.toFixed(2)})`;
    case 'la': return `adds ${plural(value, 'line')}`;
    case 'ld': return `deletes ${plural(value, 'line')}`;
    case 'lt': return `changes files of ${plural(value, 'line')} in all`;
    case 'fix': return value ? 'is a bug fix' : 'is not a bug fix';
    case 'ndev': return `touches files changed by ${plural(value, 'developer')} before`;
    case 'age': return `touches files last changed ${value.toFixed(0)} days before`;
    case 'nuc': return `touches files with ${plural(value, 'earlier change')}`;
    case 'exp': return value < 10 ? `author new to the project (${plural(value, 'earlier change')})` : `author with ${plural(value, 'earlier change')}`;
    case 'rexp': return `author's recent experience ${value.toFixed(1)}`;
    case 'sexp': return value < 3 ? `author new to this subsystem (${plural(value, 'earlier change')} there)` : `author with ${plural(value, 'change')} in this subsystem`;
    case 'pfix': return `touches files with ${value.toLocaleString('en-US')} earlier fix${value === 1 ? '' : 'es'}`;
    case 'ltc': return value < 0 ? 'adds new files only' : `touches a file changed ${days(value)} before`;
    case 'lfix': return value < 0 ? 'adds new files only' : `touches a file last fixed (or created) ${days(value)} before`;
    case 'own': return value < 0 ? 'adds new files only' : `author wrote ${(value * 100).toFixed(0)}% of the earlier changes to these files`;
    case 'top': return value < 0 ? 'adds new files only' : `these files' main author wrote ${(value * 100).toFixed(0)}% of their changes`;
    case 'minor': return `touches files with ${plural(value, 'minor contributor')}`;
    case 'arate': return `${(value * 100).toFixed(0)}% of the author's recent commits were bug-inducing`;
    default: return /^t[ar]\d+$/.test(feature) ? `the words of the code it ${feature.startsWith('ta') ? 'adds' : 'removes'} (token group ${feature.slice(2)}: ${plural(value, 'token')})` : `${feature} = ${value}`;
  }
}

/**
 * What a deploy would ship: the commits from what the service's live release there runs (its
 * image's commit) to `to`, the commit of the image being deployed (default: the work tree's HEAD).
 */
export async function deployRange(ctx: Context, service: string, env: string, to?: string): Promise<{ range: string } | { reason: string }> {
  const head = to ?? (await ctx.adapters.git.gitState(ctx.root).catch(() => null))?.sha;
  if (!head) return { reason: 'not in a git work tree with commits' };
  const live = (await ctx.ledger().releases.current(service, env))?.gitSha;
  if (live === head) return { reason: `no commit since the live release (${head.slice(0, 8)})` };
  // `X^!` is X alone: a first deploy is scored on its newest commit.
  return { range: live ? `${live}..${head}` : `${head}^!` };
}

export function riskLevel(ctx: Context, probability: number): 'low' | 'medium' | 'high' {
  const { warn, block } = ctx.config?.risk ?? { warn: 0.5, block: 0.8 };
  return probability >= block ? 'high' : probability >= warn ? 'medium' : 'low';
}

/**
 * Score the commits of `range` (A..B) with the `risk-scorer` version at the configured alias:
 * the deploy's probability is its riskiest commit's; reasons come from that commit's per-feature
 * contributions, largest first. The score is stored in the ledger.
 */
export async function scoreRange(ctx: Context, dir: string, range: string, scope: { service?: string; env?: string }): Promise<RiskScore> {
  const repo = await openRepository(ctx, dir);
  const alias = ctx.config?.risk.alias ?? 'production';
  const ledger = ctx.ledger();
  if (!(await ledger.models.modelExists(RISK_MODEL)) || (await ledger.models.aliasHolder(RISK_MODEL, alias)) == null) {
    throw new NotFoundError(`no ${RISK_MODEL} version holds the alias ${quote(alias)}`, `train one with \`ops risk train --promote ${alias}\``);
  }
  await mine(ctx, repo);
  let shas: string[];
  try {
    shas = (await ctx.adapters.git.gitOutput(repo.root, ['rev-list', '--no-merges', range])).split('\n').filter(Boolean);
  } catch {
    throw new UsageError(`${quote(range)} is not a commit range of ${repo.root}`, 'give A..B with commits that exist, e.g. --range v1.2.0..HEAD');
  }
  if (shas.length === 0) throw new UsageError(`the range ${quote(range)} has no commits`, 'nothing new to score; check the range');
  const { label, version, file, forest } = await loadModel(ctx, { name: RISK_MODEL, alias });
  const history = await ledger.risk.commits(repo.root);
  const wanted = new Set(shas);
  const commits = history.filter((c) => wanted.has(c.sha));
  // In the order the model was trained with: a model from before a feature existed still scores.
  const columns = featureColumns(file.features, commits, history, await ledger.risk.labels(repo.root));
  const predicted = forest.predict(columns);
  const commitCalibration = (JSON.parse((await versionFile(ctx, version, 'calibration.json'))?.toString('utf8') ?? '{}') as { commit?: Calibration }).commit;
  const scored: CommitRisk[] = commits
    .map((c, i) => {
      const row = columns.map((column) => column[i]!);
      const { byFeature } = forest.contributions(row, 1);
      const reasons = file.features
        .map((feature, f) => ({ feature, value: row[f]!, contribution: byFeature[f]!, text: describe(feature, row[f]!) }))
        .filter((r) => r.contribution > 0)
        .sort((a, b) => b.contribution - a.contribution)
        .slice(0, 3);
      const score = predicted[i * 2 + 1]!;
      return { sha: c.sha, subject: c.subject, probability: calibrate(commitCalibration, score), score, reasons };
    })
    .sort((a, b) => b.probability - a.probability);
  // Each scored commit is a prediction of this version (by sha, once), for `ops model monitor`.
  await ledger.predictions.append(
    commits.map((c, i) => ({
      model: RISK_MODEL,
      version: version.version,
      externalId: c.sha,
      inputs: Object.fromEntries(file.features.map((feature, f) => [feature, columns[f]![i]!])),
      output: predicted[i * 2 + 1]! > predicted[i * 2]! ? '1' : '0',
      source: 'predict' as const,
      atMs: ctx.clock.now(),
    })),
  );
  const riskiest = scored[0]!;
  const deploy = await deployRisk(ctx, version, commits, Float64Array.from(commits, (_, i) => predicted[i * 2 + 1]!), scope);
  // Without a deploy-level model (too little history when it was trained), the riskiest commit speaks.
  const probability = deploy?.probability ?? riskiest.probability;
  const reasons = deploy?.reasons ?? riskiest.reasons.map((r) => `${riskiest.sha.slice(0, 8)} ${r.text}`);
  const calibrated = deploy ? deploy.calibrated : commitCalibration !== undefined;
  const warnings = deploy?.outside.length
    ? [`this change set is outside what the deploy model was trained on (${deploy.outside.join('; ')}): its ${(probability * 100).toFixed(0)}% is an extrapolation`]
    : [];
  for (const warning of warnings) ctx.output.warn(warning);
  const level = riskLevel(ctx, probability);
  const id = await ledger.risk.recordScore(
    {
      service: scope.service ?? null,
      env: scope.env ?? null,
      commitRange: range,
      probability,
      level,
      reasons,
      modelVersionId: version.id,
      details: { model: label, deployFeatures: deploy?.features, calibrated, warnings, commits: scored.map((c) => ({ sha: c.sha, probability: c.probability })) },
    },
    null,
    ctx.clock.now(),
  );
  return { id, range, probability, level, reasons, model: label, deployFeatures: deploy?.named, calibrated, warnings, commits: scored };
}

/**
 * The deploy-level forest's probability for these commits shipped now, with reasons from its
 * per-feature contributions; null when the version has no deploy model.
 */
async function deployRisk(
  ctx: Context,
  version: ModelVersion,
  commits: StoredCommit[],
  risks: Float64Array,
  scope: { service?: string; env?: string },
): Promise<{ probability: number; calibrated: boolean; outside: string[]; reasons: string[]; features: number[]; named: Record<string, number> } | null> {
  const bytes = await versionFile(ctx, version, 'deploy-model.json');
  if (!bytes) return null;
  const model = JSON.parse(bytes.toString('utf8')) as DeployModelFile;
  const forest = RandomForest.fromJSON(model.forest);
  const history = scope.service && scope.env ? (await ctx.ledger().releases.history(scope.service, scope.env, RECENT_DEPLOYS + 1)).filter((r) => r.status !== 'pending').slice(0, RECENT_DEPLOYS) : [];
  const failedRecently = history.filter((r) => r.status === 'failed' || r.status === 'rolled_back').length;
  const current = deployFeatures({
    commits,
    risks,
    at: ctx.clock.now() / 1000,
    previousAt: history.length ? Date.parse(history[0]!.createdAt) / 1000 : null,
    recentFailureRate: history.length ? failedRecently / history.length : 0,
    openIncidents: scope.service && scope.env ? await ctx.ledger().incidents.openAt(scope.service, scope.env, ctx.clock.now()) : 0,
  });
  const named = Object.fromEntries(DEPLOY_FEATURES.map((name, f) => [name, current[f]!]));
  // In the order the model was trained with: a model from before a feature was added still scores.
  const features = model.features.map((name) => named[name] ?? 0);
  const probability = calibrate(model.calibration, forest.predict(features.map((v) => Float64Array.of(v)))[1]!);
  const { byFeature } = forest.contributions(features, 1);
  const reasons = model.features.map((name, f) => ({ name, contribution: byFeature[f]!, text: describeDeploy(name, features[f]!, { service: scope.service, failedRecently }) }))
    .filter((r) => r.contribution > 0)
    .sort((a, b) => b.contribution - a.contribution)
    .slice(0, 3)
    .map((r) => r.text);
  return { probability, calibrated: model.calibration !== undefined, outside: outsideRange(model, named), reasons, features: current, named };
}
