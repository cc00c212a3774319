/**
 * Deploy-level risk: a second forest over a change set's aggregates (its commits' features and
 * commit-level risks) and the operational context it ships in.
 */
import type { StoredCommit } from '../../ledger/index.js';
import { RandomForest, type ForestParams, type SerializedForest } from '../forest/forest.js';
import { auc } from '../forest/metrics.js';
import { logisticRegression1d } from './baseline.js';
import { FEATURE_NAMES } from './mine.js';

export const DEPLOY_FEATURES = [
  'commits',
  'authors',
  'maxRisk',
  'sumRisk',
  'files',
  'subsystems',
  'linesChanged',
  'minSubsystemExperience',
  'hour',
  'weekday',
  'hoursSinceLastDeploy',
  'recentFailureRate',
  'openIncidents',
] as const;

const feature = (name: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(name);
const [NF, NS, LA, LD, SEXP] = [feature('nf'), feature('ns'), feature('la'), feature('ld'), feature('sexp')];

export interface ChangeSet {
  commits: Array<Pick<StoredCommit, 'author' | 'features'>>;
  /** Commit-level risk of each commit, in the same order. */
  risks: ArrayLike<number>;
  /** Unix seconds of the deploy. */
  at: number;
  /** Unix seconds of the deploy before it, if any. */
  previousAt: number | null;
  /** Share of the recent deploys of this service that failed. */
  recentFailureRate: number;
  /** Unresolved incidents of the service in the environment when it ships. */
  openIncidents: number;
}

/** A change set's values in DEPLOY_FEATURES order. */
export function deployFeatures(set: ChangeSet): number[] {
  let maxRisk = 0;
  let sumRisk = 0;
  let files = 0;
  let subsystems = 0;
  let lines = 0;
  let minExperience = Infinity;
  set.commits.forEach((c, i) => {
    const risk = set.risks[i]!;
    maxRisk = Math.max(maxRisk, risk);
    sumRisk += risk;
    files += c.features[NF]!;
    subsystems = Math.max(subsystems, c.features[NS]!);
    lines += c.features[LA]! + c.features[LD]!;
    minExperience = Math.min(minExperience, c.features[SEXP]!);
  });
  const when = new Date(set.at * 1000);
  return [
    set.commits.length,
    new Set(set.commits.map((c) => c.author)).size,
    maxRisk,
    sumRisk,
    files,
    subsystems,
    lines,
    Number.isFinite(minExperience) ? minExperience : 0,
    when.getUTCHours(),
    when.getUTCDay(),
    set.previousAt == null ? 24 * 365 : Math.max(0, set.at - set.previousAt) / 3600,
    set.recentFailureRate,
    set.openIncidents,
  ];
}

/** How many earlier deploys the change-failure rate looks back on. */
export const RECENT_DEPLOYS = 10;

/**
 * Past change sets, as if each day with commits had been one deploy: a day's commits (UTC), risks
 * taken as given (out of bag for training rows), bug-inducing when any of its commits is. The
 * failure rate is over the RECENT_DEPLOYS days before. Oldest first.
 */
export function historicalDeploys(commits: StoredCommit[], risks: ArrayLike<number>, bug: Set<string>): Array<{ features: number[]; failed: boolean; lastIndex: number }> {
  const days: Array<{ from: number; to: number }> = [];
  commits.forEach((c, i) => {
    const day = Math.floor(c.at / 86_400);
    const last = days[days.length - 1];
    if (last && Math.floor(commits[last.from]!.at / 86_400) === day) last.to = i + 1;
    else days.push({ from: i, to: i + 1 });
  });
  const outcomes: boolean[] = [];
  return days.map(({ from, to }, d) => {
    const slice = commits.slice(from, to);
    const recent = outcomes.slice(-RECENT_DEPLOYS);
    const features = deployFeatures({
      commits: slice,
      risks: Array.prototype.slice.call(risks, from, to) as number[],
      at: commits[to - 1]!.at,
      previousAt: d > 0 ? commits[days[d - 1]!.to - 1]!.at : null,
      recentFailureRate: recent.length ? recent.filter(Boolean).length / recent.length : 0,
      // Git history knows no incidents; the ledger's scored releases carry the real count.
      openIncidents: 0,
    });
    const failed = slice.some((c) => bug.has(c.sha));
    outcomes.push(failed);
    return { features, failed, lastIndex: to - 1 };
  });
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** A deploy feature's value in words, for a reason. */
export function describeDeploy(name: string, value: number, context: { service?: string; failedRecently: number }): string {
  switch (name) {
    case 'commits': return `ships ${plural(value, 'commit')}`;
    case 'authors': return `has ${plural(value, 'author')}`;
    case 'maxRisk': return `its riskiest commit scores ${(value * 100).toFixed(0)}%`;
    case 'sumRisk': return `its commits' risks add up to ${value.toFixed(2)}`;
    case 'files': return `touches ${plural(value, 'file')}`;
    case 'subsystems': return `a commit spans ${plural(value, 'subsystem')}`;
    case 'linesChanged': return `changes ${plural(value, 'line')}`;
    case 'minSubsystemExperience': return value < 3 ? `author new to this subsystem (${plural(value, 'earlier change')} there)` : `its least experienced author has ${plural(value, 'change')} in the subsystem`;
    case 'hour': return `deployed at ${String(value).padStart(2, '0')}:00 UTC`;
    case 'weekday': return `deployed on a ${['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][value]}`;
    case 'hoursSinceLastDeploy': return value >= 24 * 365 ? 'first deploy' : `${value < 48 ? `${value.toFixed(0)} hours` : `${(value / 24).toFixed(0)} days`} since the last deploy`;
    case 'recentFailureRate': return context.failedRecently > 0
      ? `${plural(context.failedRecently, 'failed deploy')} of ${context.service ?? 'this service'} in its last ${RECENT_DEPLOYS}`
      : `no failed deploy of ${context.service ?? 'this service'} lately`;
    case 'openIncidents': return value > 0 ? `${plural(value, 'open incident')} on ${context.service ?? 'this service'}` : 'no open incident';
    default: return `${name} = ${value}`;
  }
}

export interface DeployModelFile {
  format: 'ops-deploy-risk';
  version: 1;
  features: string[];
  forest: SerializedForest;
  /** The [min, max] of the size features over the change sets it was trained on. */
  range?: Record<string, [number, number]>;
  /** Platt scaling of the forest's output, fitted on the held-out change sets; absent when they were too few. */
  calibration?: Calibration;
}

/** Platt scaling: p = 1 / (1 + exp(-(intercept + slope * score))). */
export interface Calibration {
  intercept: number;
  slope: number;
  /** Brier scores on the held-out change sets before and after. */
  brierBefore: number;
  brierAfter: number;
  rows: number;
}

/** The features whose training range is checked: how big a change set is. */
export const RANGE_FEATURES = ['commits', 'authors', 'files', 'subsystems', 'linesChanged'] as const;

const brier = (p: ArrayLike<number>, y: boolean[]) => y.reduce((sum, v, i) => sum + ((v ? 1 : 0) - p[i]!) ** 2, 0) / Math.max(1, y.length);

export function calibrate(calibration: Calibration | undefined, score: number): number {
  return calibration ? 1 / (1 + Math.exp(-(calibration.intercept + calibration.slope * score))) : score;
}

/**
 * Fit Platt scaling on held-out scores (the forest's leaves of 5 and its bootstrap pull
 * probabilities towards the middle); none with fewer than 20 rows or one outcome only.
 */
export function fitCalibration(scores: ArrayLike<number>, outcomes: boolean[]): Calibration | undefined {
  const positives = outcomes.filter(Boolean).length;
  if (outcomes.length < 20 || positives === 0 || positives === outcomes.length) return undefined;
  const { intercept, slope } = logisticRegression1d(scores, Float64Array.from(outcomes, (v) => (v ? 1 : 0)));
  if (!(slope > 0)) return undefined;
  const calibration = { intercept, slope, brierBefore: brier(scores, outcomes), brierAfter: 0, rows: outcomes.length };
  calibration.brierAfter = brier(Array.from(scores as ArrayLike<number>, (s) => calibrate(calibration, s)), outcomes);
  return calibration;
}

/** What of a change set lies outside the deploy model's training range, in words (empty: inside). */
export function outsideRange(model: Pick<DeployModelFile, 'range'>, named: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [name, [min, max]] of Object.entries(model.range ?? {})) {
    const value = named[name];
    if (value === undefined || (value >= min && value <= max)) continue;
    out.push(`${name} ${value.toLocaleString('en-US')} (trained on ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')})`);
  }
  return out;
}

export interface DeployTraining {
  model: DeployModelFile | null;
  /** Why there is no deploy model (too little history), when there is none. */
  skipped?: string;
  metrics: Record<string, number>;
}

/**
 * Train the deploy forest on past change sets whose commits all precede `cut` (the commit-level
 * training part) plus the ledger's scored releases, and measure its AUC on the later change sets.
 */
export function trainDeployForest(
  commits: StoredCommit[],
  risks: ArrayLike<number>,
  bug: Set<string>,
  cut: number,
  releases: Array<{ failed: boolean; features: number[] }>,
  params: ForestParams,
): DeployTraining {
  const deploys = historicalDeploys(commits, risks, bug);
  const training = [...deploys.filter((d) => d.lastIndex < cut), ...releases];
  const testing = deploys.filter((d) => d.lastIndex >= cut);
  const failures = training.filter((d) => d.failed).length;
  const metrics: Record<string, number> = { deployTrainRows: training.length, deployTestRows: testing.length, deployReleaseRows: releases.length };
  if (training.length < 10 || failures === 0 || failures === training.length) {
    return { model: null, skipped: `${training.length} past deploys (${failures} failed): a deploy model needs 10 or more, of both outcomes`, metrics };
  }
  // Releases scored before a feature existed lack it: 0 (no open incident was recorded then).
  const columns = (rows: Array<{ features: number[] }>) => DEPLOY_FEATURES.map((_, f) => Float64Array.from(rows, (r) => r.features[f] ?? 0));
  const forest = RandomForest.train('classification', { columns: columns(training), y: Float64Array.from(training, (d) => (d.failed ? 1 : 0)) }, 2, params);
  let calibration: Calibration | undefined;
  if (testing.length) {
    const predicted = forest.predict(columns(testing));
    const scores = Float64Array.from(testing, (_, i) => predicted[i * 2 + 1]!);
    const outcomes = testing.map((d) => d.failed);
    const testAuc = auc(scores, outcomes);
    if (testAuc != null) metrics.deployAuc = testAuc;
    calibration = fitCalibration(scores, outcomes);
    if (calibration) Object.assign(metrics, { deployBrier: calibration.brierBefore, deployBrierCalibrated: calibration.brierAfter });
  }
  const range: Record<string, [number, number]> = {};
  for (const name of RANGE_FEATURES) {
    const f = DEPLOY_FEATURES.indexOf(name);
    const values = training.map((d) => d.features[f] ?? 0);
    range[name] = [Math.min(...values), Math.max(...values)];
  }
  return { model: { format: 'ops-deploy-risk', version: 1, features: [...DEPLOY_FEATURES], forest: forest.toJSON(), range, ...(calibration ? { calibration } : {}) }, metrics };
}
