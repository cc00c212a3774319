/**
 * `ops risk labels`: what the fix rules and SZZ made of a history, to check and tune them, and how
 * the labels agree with a published labelled data set.
 */
import { quote, UsageError } from '../../errors.js';
import type { Context } from '../context.js';
import { numericColumn, readCsv } from '../models/datasets.js';
import { fixShare, mineRepository } from './history.js';
import type { CommitKind } from './labels.js';

const KINDS: CommitKind[] = ['fix', 'revert', 'bot', 'release', 'merge', 'other'];

export interface LabelSample {
  sha: string;
  subject: string;
  reason: string;
  /** Bug-inducing commits this fix or revert labelled (fixes and reverts only). */
  labelled?: number;
  /** Why SZZ did not blame it, when it did not. */
  skipped?: string;
}

export interface Agreement {
  file: string;
  /** Rows of the data set, and those of its commits that are in the mined history. */
  rows: number;
  common: number;
  /** Bug-inducing in the data set, in ops, in both. */
  published: number;
  ours: number;
  both: number;
  precision: number | null;
  recall: number | null;
  /** Cohen's kappa on the common commits: agreement beyond what the two label shares give by chance. */
  kappa: number | null;
  /** Only labels from fixes committed before this date counted (the data set's collection). */
  fixedBefore: string | null;
}

export interface LabelReport {
  repo: string;
  commits: number;
  classes: Record<CommitKind, number>;
  /** Fixes and reverts among the commits. */
  fixShare: number;
  warning: string | null;
  szz: {
    processed: number;
    /** Distinct commits labelled bug-inducing by SZZ or a revert, and their share. */
    labelled: number;
    share: number;
    skippedLarge: number;
    dropped: { merges: number; notMined: number; afterReport: number };
  };
  samples: Partial<Record<CommitKind, LabelSample[]>>;
  agreement?: Agreement;
}

/** Mine and label (cached), then report: classes, the fix share, SZZ's outcome, samples of each class. */
export async function labelReport(
  ctx: Context,
  dir: string,
  options: { limit: number; kinds?: CommitKind[]; against?: string; fixedBefore?: string },
): Promise<LabelReport> {
  const { repo } = await mineRepository(ctx, dir, true);
  const ledger = ctx.ledger();
  const commits = await ledger.risk.commits(repo.root);
  const outcomes = new Map((await ledger.risk.fixOutcomes(repo.root)).map((o) => [o.sha, o.outcome]));
  const labels = (await ledger.risk.labels(repo.root)).filter((l) => l.source === 'szz' || l.source === 'revert');
  const classes = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<CommitKind, number>;
  for (const c of commits) classes[c.kind as CommitKind]++;
  const { share, warning } = fixShare(commits);

  const notMined = new Set<string>();
  let afterReport = 0;
  let skippedLarge = 0;
  for (const outcome of outcomes.values()) {
    for (const sha of (outcome.notMined as string[] | undefined) ?? []) notMined.add(sha);
    afterReport += ((outcome.afterReport as string[] | undefined) ?? []).length;
    if (outcome.skipped) skippedLarge++;
  }
  const full = [...notMined].filter((s) => /^[0-9a-f]{40}$/.test(s));
  const merges = full.length ? (await ctx.adapters.git.gitOutput(repo.root, ['rev-list', '--no-walk=unsorted', '--merges', ...full]).catch(() => '')).split('\n').filter(Boolean).length : 0;
  const labelled = new Set(labels.map((l) => l.sha)).size;

  const samples: Partial<Record<CommitKind, LabelSample[]>> = {};
  for (const kind of options.kinds ?? KINDS) {
    const of = commits.filter((c) => c.kind === kind);
    // Spread over the history, newest first: a sample of each era of the project.
    const picked = options.limit === 0 || of.length <= options.limit ? of : Array.from({ length: options.limit }, (_, i) => of[Math.floor(((i + 0.5) * of.length) / options.limit)]!);
    samples[kind] = picked.reverse().map((c) => {
      const outcome = outcomes.get(c.sha);
      const sample: LabelSample = { sha: c.sha, subject: c.subject, reason: c.reason };
      if (outcome) {
        if (outcome.skipped) sample.skipped = String(outcome.skipped);
        else sample.labelled = ((outcome.labelled as string[] | undefined) ?? []).length;
      }
      return sample;
    });
  }
  const report: LabelReport = {
    repo: repo.root,
    commits: commits.length,
    classes,
    fixShare: share,
    warning,
    szz: { processed: outcomes.size, labelled, share: commits.length ? labelled / commits.length : 0, skippedLarge, dropped: { merges, notMined: notMined.size - merges, afterReport } },
    samples,
  };
  if (options.against) report.agreement = await agreement(ctx, options.against, commits, labels, options.fixedBefore);
  return report;
}

/**
 * Precision, recall and Cohen's kappa of ops's bug-inducing labels against a published data set's
 * (`_id` or `commit_id` or `sha`, and `bug`), on the commits both have. With `fixedBefore`, only labels from
 * fixes and reverts committed before that date count, as the data set could know no later fix.
 */
async function agreement(
  ctx: Context,
  file: string,
  commits: Array<{ sha: string; at: number }>,
  labels: Array<{ sha: string; evidence: string }>,
  fixedBefore?: string,
): Promise<Agreement> {
  const table = await readCsv(file, ctx.cwd, '--against');
  const idColumn = ['_id', 'commit_id', 'commit_hash', 'sha', 'hash'].map((n) => table.header.indexOf(n)).find((i) => i >= 0);
  const bugColumn = ['bug', 'buggy', 'contains_bug', 'is_buggy'].map((n) => table.header.indexOf(n)).find((i) => i >= 0);
  if (idColumn === undefined || bugColumn === undefined) throw new UsageError(`${file} needs a commit id column (_id, commit_id or sha) and a label column (bug)`, 'give a data set in the layout of ../shared/data/jit');
  const bug = numericColumn(table, bugColumn, 'the label column must be 0 or 1');
  const published = new Map(table.rows.map((row, i) => [String(row[idColumn]), bug[i] === 1]));
  let cutoff = Infinity;
  if (fixedBefore) {
    cutoff = Date.parse(fixedBefore) / 1000;
    if (!Number.isFinite(cutoff)) throw new UsageError(`--fixed-before ${quote(fixedBefore)} is not a date`, 'e.g. --fixed-before 2020-06-01');
  }
  const at = new Map(commits.map((c) => [c.sha, c.at]));
  const knownInTime = (evidence: string) => cutoff === Infinity || (at.get(evidence.split(' ')[1] ?? '') ?? Infinity) < cutoff;
  const ours = new Set(labels.filter((l) => knownInTime(l.evidence)).map((l) => l.sha));
  let common = 0;
  let both = 0;
  let publishedBug = 0;
  let oursBug = 0;
  for (const c of commits) {
    const theirs = published.get(c.sha);
    if (theirs === undefined) continue;
    common++;
    const mine = ours.has(c.sha);
    if (theirs) publishedBug++;
    if (mine) oursBug++;
    if (theirs && mine) both++;
  }
  if (common === 0) throw new UsageError(`no commit of ${file} is in the mined history`, 'compare with the data set of this repository (its commit ids)');
  const observed = (common - publishedBug - oursBug + 2 * both) / common;
  const chance = (publishedBug / common) * (oursBug / common) + (1 - publishedBug / common) * (1 - oursBug / common);
  return {
    file: table.file,
    rows: table.rows.length,
    common,
    published: publishedBug,
    ours: oursBug,
    both,
    precision: oursBug ? both / oursBug : null,
    recall: publishedBug ? both / publishedBug : null,
    kappa: chance < 1 ? (observed - chance) / (1 - chance) : null,
    fixedBefore: fixedBefore ?? null,
  };
}
