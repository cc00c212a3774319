/**
 * A repository's history as the risk scorer sees it: its commits mined (features cached in the
 * ledger by sha) and labelled (SZZ on fixes, reverts, failed releases), and what was found.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { CommitLabel, FixOutcome, StoredCommit } from '../../ledger/index.js';
import { quote, UsageError } from '../../errors.js';
import type { Context } from '../context.js';
import { implausibleFixShare, type FixRules } from './labels.js';
import { emptyMiningState, logArguments, mineCommit, MINING_VERSION, parseRecord, recordSeparator, type MinedCommit, type MiningState } from './mine.js';
import { blameable, blameCandidates, blamedCommits, codeLines, lineRanges, MAX_FIX_FILES, parsePatch } from './szz.js';

export interface Repository {
  root: string;
  head: string;
}

async function git(ctx: Context, root: string, args: string[]): Promise<string> {
  return ctx.adapters.git.gitOutput(root, args);
}

/** The repository at `dir`: a clear error outside one, or in a shallow clone (history is missing). */
export async function openRepository(ctx: Context, dir: string): Promise<Repository> {
  let root: string;
  try {
    root = (await git(ctx, dir, ['rev-parse', '--show-toplevel'])).trim();
  } catch {
    throw new UsageError(`${dir} is not a git repository`, 'run ops risk in a git work tree, or pass --repo <path>');
  }
  if ((await git(ctx, root, ['rev-parse', '--is-shallow-repository'])).trim() === 'true') {
    throw new UsageError(`${root} is a shallow clone: mining needs the whole history`, 'run `git fetch --unshallow` (in CI: fetch-depth: 0)');
  }
  let head: string;
  try {
    head = (await git(ctx, root, ['rev-parse', '--verify', 'HEAD'])).trim();
  } catch {
    throw new UsageError(`${root} has no commits yet`, 'commit something first');
  }
  return { root, head };
}

/** `risk.fixPattern` and `risk.ticketKeys`, as the classifier takes them. */
export function fixRules(ctx: Context): FixRules {
  const pattern = ctx.config?.risk.fixPattern;
  return { pattern: pattern ? new RegExp(pattern) : null, ticketKeys: ctx.config?.risk.ticketKeys ?? [] };
}

const rulesDigest = (rules: FixRules) => createHash('sha256').update(JSON.stringify([MINING_VERSION, rules.pattern?.source ?? null, rules.ticketKeys])).digest('hex').slice(0, 16);

export interface MiningResult {
  repo: string;
  head: string;
  mined: number;
  total: number;
  cached: boolean;
}

/**
 * Mine the commits the ledger does not have yet: `<last head>..HEAD` when the last head is still an
 * ancestor and the fix rules are the same, everything otherwise (history rewritten, other rules,
 * a ledger mined by another version). One streamed `git log` call either way.
 */
export async function mine(ctx: Context, repo: Repository): Promise<MiningResult> {
  const ledger = ctx.ledger();
  const rules = fixRules(ctx);
  const digest = rulesDigest(rules);
  const saved = await ledger.risk.miningState(repo.root);
  let state: MiningState = emptyMiningState(digest);
  let range: string | null = null;
  if (saved?.head) {
    const previous = JSON.parse(saved.state) as MiningState;
    if (previous.version === MINING_VERSION && previous.rules === digest) {
      if (saved.head === repo.head) return { repo: repo.root, head: repo.head, mined: 0, total: previous.count, cached: true };
      const ancestor = await git(ctx, repo.root, ['merge-base', '--is-ancestor', saved.head, repo.head]).then(() => true, () => false);
      if (ancestor) {
        state = previous;
        range = `${saved.head}..${repo.head}`;
      }
    }
  }
  const mined: MinedCommit[] = [];
  const marker = randomBytes(8).toString('hex');
  for await (const record of ctx.adapters.git.gitRecords(repo.root, logArguments(range ?? repo.head, marker), recordSeparator(marker))) {
    mined.push(mineCommit(parseRecord(record), state, rules));
  }
  state.head = repo.head;
  const start = state.count - mined.length;
  await ledger.risk.saveMined(repo.root, mined.map((c, i) => ({ ...c, seq: start + i })), repo.head, JSON.stringify(state), range === null, ctx.clock.now());
  return { repo: repo.root, head: repo.head, mined: mined.length, total: state.count, cached: false };
}

export interface SzzResult {
  /** Fix commits processed by this run (reverts not included). */
  fixes: number;
  /** Reverts processed: each labels the commit it reverts. */
  reverts: number;
  /** Fixes not blamed: more than MAX_FIX_FILES code files changed. */
  skippedLarge: number;
  /** Distinct mined commits this run labelled bug-inducing (by SZZ or a revert). */
  labelled: number;
  /** Blamed commits not labelled, by why: merges and other commits mining does not keep, written after the bug's report. */
  dropped: { merges: number; notMined: number; afterReport: number };
  seconds: number;
  /** The sum of the wall times of SZZ's git calls, and the git processes run side by side. */
  gitSeconds: number;
  processes: number;
  gitCalls: number;
}

/** Fixes blamed per saved batch: a killed run loses at most one batch of work. */
export const SZZ_BATCH = 32;

/** `risk.bugReports`: a CSV of `id,reported` (an issue like #12 or a ticket like OPS-12, a date), or none. */
function bugReportDates(ctx: Context): Map<string, number> {
  const file = ctx.config?.risk.bugReports;
  const dates = new Map<string, number>();
  if (!file) return dates;
  const path = resolve(ctx.root, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`risk.bugReports: cannot read ${path}`, 'give a CSV of id,reported (e.g. "#12,2024-03-01"), relative to the project root');
  }
  for (const [n, line] of text.split(/\r?\n/).entries()) {
    const [id, reported] = line.split(',').map((cell) => cell.trim());
    if (!id || (n === 0 && /^id$/i.test(id))) continue;
    const at = /^\d+$/.test(reported ?? '') ? Number(reported) : Date.parse(reported ?? '') / 1000;
    if (!Number.isFinite(at)) throw new UsageError(`risk.bugReports: line ${n + 1} of ${path} has no date (${quote(line)})`, 'each line is id,reported with an ISO date or unix seconds');
    dates.set(/^\d+$/.test(id) ? `#${id}` : id, at);
  }
  return dates;
}

/**
 * Label bug-inducing commits from the fixes and reverts not processed yet: a revert labels the
 * commit it reverts; a fix goes through SZZ (see szz.ts). Git runs one process per core; results
 * are saved every SZZ_BATCH fixes, so a killed run resumes where it stopped.
 */
export async function runSzz(ctx: Context, repo: Repository): Promise<SzzResult> {
  const ledger = ctx.ledger();
  const started = performance.now();
  const done = await ledger.risk.processedFixes(repo.root);
  const commits = await ledger.risk.commits(repo.root);
  const bySha = new Map(commits.map((c) => [c.sha, c]));
  const pending = commits.filter((c) => (c.kind === 'fix' || c.kind === 'revert') && !done.has(c.sha));
  const reverts = pending.filter((c) => c.kind === 'revert');
  const fixes = pending.filter((c) => c.kind === 'fix');
  const labelled = new Set<string>();
  const dropped = { merges: 0, notMined: 0, afterReport: 0 };
  // Blamed or reverted shas mining does not have; reverts naming a subject no commit has.
  const unknown = new Set<string>();
  let unresolved = 0;

  // A revert names its target: it is labelled directly.
  const revertLabels: CommitLabel[] = [];
  const revertOutcomes: FixOutcome[] = [];
  const bySubject = new Map<string, StoredCommit[]>();
  for (const c of commits) (bySubject.get(c.subject) ?? bySubject.set(c.subject, []).get(c.subject)!).push(c);
  for (const revert of reverts) {
    const { reverts: sha, revertsSubject } = revert.details ?? {};
    const target = sha
      ? (bySha.get(sha) ?? (sha.length < 40 ? commits.find((c) => c.sha.startsWith(sha)) : undefined))
      : bySubject.get(revertsSubject ?? '')?.filter((c) => c.at <= revert.at && c.sha !== revert.sha).at(-1);
    if (target) {
      revertLabels.push({ sha: target.sha, source: 'revert', evidence: `revert ${revert.sha}` });
      labelled.add(target.sha);
      revertOutcomes.push({ sha: revert.sha, outcome: { labelled: [target.sha] } });
    } else {
      if (sha) unknown.add(sha);
      else unresolved++;
      revertOutcomes.push({ sha: revert.sha, outcome: { labelled: [], notMined: [sha ?? revertsSubject ?? ''] } });
    }
  }
  if (revertOutcomes.length) await ledger.risk.saveSzz(repo.root, revertOutcomes, revertLabels, ctx.clock.now());

  const reported = bugReportDates(ctx);
  const processes = new ctx.adapters.git.GitProcesses(repo.root, Math.max(1, availableParallelism()));
  let skippedLarge = 0;
  try {
    const blameFix = async (fix: StoredCommit, patch: string): Promise<{ outcome: FixOutcome; labels: CommitLabel[] }> => {
      const files = parsePatch(patch).filter((f) => blameable(f.newPath ?? f.oldPath ?? ''));
      const changed = files.filter((f) => f.removed.length || f.added.length).length;
      if (changed > MAX_FIX_FILES) {
        skippedLarge++;
        return { outcome: { sha: fix.sha, outcome: { skipped: `too large: ${changed} code files changed (more than ${MAX_FIX_FILES})` } }, labels: [] };
      }
      const reportedAt = Math.min(...(fix.details?.references ?? []).map((r) => reported.get(r) ?? Infinity));
      const blamed = new Map<string, number>();
      await Promise.all(
        files
          .filter((f) => f.oldPath && f.removed.length)
          .map(async (f) => {
            const content = await processes.read(`${fix.sha}^:${f.oldPath}`);
            if (!content) return;
            const code = codeLines(f.oldPath!, content.toString('utf8'));
            const lines = blameCandidates(f, (line) => code[line - 1] === true);
            if (!lines.length) return;
            const output = await processes.run(['blame', '--incremental', '-w', '-M', '-C', ...lineRanges(lines), `${fix.sha}^`, '--', f.oldPath!]).catch(() => '');
            for (const [sha, count] of blamedCommits(output)) blamed.set(sha, (blamed.get(sha) ?? 0) + count);
          }),
      );
      const labels: CommitLabel[] = [];
      const outcome = { labelled: [] as string[], notMined: [] as string[], afterReport: [] as string[] };
      for (const sha of blamed.keys()) {
        const candidate = bySha.get(sha);
        if (!candidate) {
          outcome.notMined.push(sha);
          unknown.add(sha);
        } else if (candidate.at > reportedAt) {
          outcome.afterReport.push(sha);
          dropped.afterReport++;
        } else {
          labels.push({ sha, source: 'szz', evidence: `fix ${fix.sha}` });
          outcome.labelled.push(sha);
          labelled.add(sha);
        }
      }
      return { outcome: { sha: fix.sha, outcome }, labels };
    };

    const batches: StoredCommit[][] = [];
    for (let i = 0; i < fixes.length; i += SZZ_BATCH) batches.push(fixes.slice(i, i + SZZ_BATCH));
    // Two batches in flight: the next one's diffs are read while this one's lines are blamed.
    const inFlight: Array<Promise<void>> = [];
    for (const batch of batches) {
      const work = (async () => {
        const patches = new Map<string, string>();
        const marker = randomBytes(8).toString('hex');
        const output = await processes.run(['log', '--no-walk=unsorted', '-p', '-U0', '-w', '-M', '--no-color', '--no-ext-diff', `--format=%x00%x1e${marker}%x1e%H`, ...batch.map((f) => f.sha)]);
        for (const record of output.split(recordSeparator(marker)).slice(1)) {
          const newline = record.indexOf('\n');
          patches.set(newline < 0 ? record : record.slice(0, newline), newline < 0 ? '' : record.slice(newline + 1));
        }
        const results = await Promise.all(batch.map((fix) => blameFix(fix, patches.get(fix.sha) ?? '')));
        await ledger.risk.saveSzz(repo.root, results.map((r) => r.outcome), results.flatMap((r) => r.labels), ctx.clock.now());
      })();
      inFlight.push(work);
      if (inFlight.length >= 2) await inFlight.shift();
    }
    await Promise.all(inFlight);

    // Blame lands on merges (their conflict resolutions) and on commits before the mined history.
    if (unknown.size) {
      const full = [...unknown].filter((s) => /^[0-9a-f]{40}$/.test(s));
      const merges = full.length ? (await processes.run(['rev-list', '--no-walk=unsorted', '--merges', ...full]).catch(() => '')).split('\n').filter(Boolean) : [];
      dropped.merges = merges.length;
    }
    dropped.notMined = unknown.size - dropped.merges + unresolved;
  } finally {
    processes.close();
  }
  return {
    fixes: fixes.length,
    reverts: reverts.length,
    skippedLarge,
    labelled: labelled.size,
    dropped,
    seconds: (performance.now() - started) / 1000,
    gitSeconds: processes.busyMs / 1000,
    processes: processes.size,
    gitCalls: processes.calls,
  };
}

/** Commits shipped in failed or rolled-back releases: the range each release added over the one before. */
export async function labelFromReleases(ctx: Context, repo: Repository): Promise<number> {
  const ledger = ctx.ledger();
  const labels: CommitLabel[] = [];
  for (const release of await ledger.risk.failedReleases()) {
    const range = release.previousSha ? [`${release.previousSha}..${release.sha}`] : ['-1', release.sha];
    const shas = (await git(ctx, repo.root, ['rev-list', '--no-merges', ...range]).catch(() => '')).split('\n').filter(Boolean);
    for (const sha of shas) labels.push({ sha, source: 'release', evidence: `release ${release.id} (${release.service} r${release.revision} to ${release.env}) ${release.status}` });
  }
  await ledger.transaction(() => ledger.risk.addLabels(repo.root, labels, ctx.clock.now()));
  return new Set(labels.map((l) => l.sha)).size;
}

/** Mine new commits, and with `labels` run SZZ on new fixes and label failed releases. */
export async function mineRepository(
  ctx: Context,
  dir: string,
  labels: boolean,
): Promise<{ repo: Repository; mining: MiningResult; labels: { szz: SzzResult; releaseLabelled: number } | null }> {
  const repo = await openRepository(ctx, dir);
  const mining = await ctx.output.step('mining commits', async () => mine(ctx, repo));
  if (!labels) return { repo, mining, labels: null };
  const szz = await ctx.output.step('finding bug-inducing commits (SZZ)', async () => runSzz(ctx, repo));
  if (szz.dropped.merges) ctx.output.warn(`SZZ blamed ${szz.dropped.merges} merge commit${szz.dropped.merges === 1 ? '' : 's'} (lines written while merging), which mining does not keep: not labelled`);
  return { repo, mining, labels: { szz, releaseLabelled: await labelFromReleases(ctx, repo) } };
}

/** The share of fixes among the mined commits, with a warning when it is implausible. */
export function fixShare(commits: StoredCommit[]): { fixes: number; share: number; warning: string | null } {
  const fixes = commits.filter((c) => c.kind === 'fix' || c.kind === 'revert').length;
  return { fixes, share: commits.length ? fixes / commits.length : 0, warning: implausibleFixShare(fixes, commits.length) };
}
