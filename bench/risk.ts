import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, median, OPS, pairedReports, PROJECT_ROOT, ratioOf, type Result } from './lib.js';
import { miningRepository } from './mining-repo.js';
import { repositoryBenchmarks } from './risk-repos.js';

const SHARED = process.env.OPS_SHARED_DATA ?? join(PROJECT_ROOT, '..', 'shared', 'data');
const PYTHON = '/usr/bin/python3';

interface ForestReport {
  trainMs: number;
  predictMs: number;
  auc: number;
}

/** Debian's scikit-learn, installed when missing (as root), else a clear error. */
function sklearnPython(): string {
  if (spawnSync(PYTHON, ['-c', 'import sklearn'], { stdio: 'ignore' }).status !== 0) {
    const setup = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'setup.sh'), 'sklearn'], { stdio: 'inherit' });
    if (setup.status !== 0) throw new Error('the forest benchmark needs scikit-learn: `apt-get install python3-sklearn` (as root)');
  }
  return PYTHON;
}

/**
 * The forest against scikit-learn on qt's JIT data: train on the oldest 20,000 rows x 14 features,
 * predict the newest 10,000, AUC on the 3,912 rows after the training part. Same settings on both
 * sides: 100 trees, no depth limit, sqrt(14) features per split, leaves of at least 5, bootstrap.
 */
function forestBenchmarks(): Result[] {
  const csv = join(SHARED, 'jit', 'qt_k_feature.csv');
  if (!existsSync(csv)) throw new Error(`${csv} is missing: the benchmark reads ../shared/data beside the project (or OPS_SHARED_DATA)`);
  const args = [csv, '20000', '10000', '100', '5'];
  const ours = { label: 'ops forest', argv: [process.execPath, join(PROJECT_ROOT, 'dist', 'bench', 'forest-run.js'), ...args] };
  const python = sklearnPython();
  const script = join(PROJECT_ROOT, 'bench', 'forest_sklearn.py');
  const results: Result[] = [];
  for (const jobs of ['1', '2']) {
    const sklearn = { label: `scikit-learn n_jobs=${jobs}`, argv: [python, script, ...args, jobs] };
    const pairs = pairedReports<ForestReport>(ours, sklearn, 5);
    // Single-threaded on both sides is the goal; n_jobs=2 (both cores) is reported beside it.
    const goal = jobs === '1' ? 1.0 : Infinity;
    results.push(ratioOf(`forest training, 20,000 x 14 (sklearn n_jobs=${jobs})`, [ours.label, sklearn.label], pairs, (r) => r.trainMs, goal));
    results.push(ratioOf(`forest prediction, 10,000 rows (sklearn n_jobs=${jobs})`, [ours.label, sklearn.label], pairs, (r) => r.predictMs, goal));
    if (jobs === '1') {
      const [oursAuc, theirs] = [median(pairs.map((p) => p.subject.auc)), median(pairs.map((p) => p.baseline.auc))];
      results.push({ name: 'forest AUC on the same held-out rows', text: `ops ${oursAuc.toFixed(4)} vs scikit-learn ${theirs.toFixed(4)} (goal >= ${(theirs - 0.005).toFixed(4)})`, pass: oursAuc >= theirs - 0.005 });
    }
  }
  return results;
}

interface SzzReport {
  fixes: number;
  labelled: number;
  seconds: number;
  gitSeconds: number;
  processes: number;
  gitCalls: number;
}

const runJson = <T>(argv: string[], cwd: string): T => {
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd, maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${argv.slice(1, 4).join(' ')} failed: ${result.stderr.toString()}`);
  return JSON.parse(result.stdout.toString()) as T;
};

/**
 * Mining 20,000 commits (a fresh ledger each run) against the raw `git log` of the same history;
 * a rerun on a mined ledger; SZZ now (a pool of git processes, one per core) against the SZZ of
 * before (bench/szz-before.ts) on the same fixes, and against the sum of its own git calls.
 */
function miningBenchmarks(): Result[] {
  const repo = miningRepository();
  const scratch = mkdtempSync(join(tmpdir(), 'ops-bench-mining-'));
  try {
    const gitLog = { label: 'git log --numstat', argv: ['git', 'log', '--numstat'], cwd: repo };
    const gitPatch = { label: 'git log --patch -U0 --raw --numstat (the call mining makes)', argv: ['git', 'log', '--reverse', '--no-merges', '-M', '--raw', '--numstat', '--patch', '-U0', '-z'], cwd: repo };
    const fresh = { label: 'ops risk mine (empty ledger)', argv: (run: number) => [...OPS, 'risk', 'mine', '--ledger', join(scratch, `fresh-${run}.db`)], cwd: repo };
    const results: Result[] = [compare('risk feature extraction, 20,000 commits', fresh, gitLog, 1.5, 5, 1)];
    results.push(compare('risk feature extraction / its own git call, no goal', fresh, gitPatch, Infinity, 5, 1));
    const mined = join(scratch, 'mined.db');
    // compare()'s warm-up run mines this ledger; the timed runs find nothing new.
    const cached = { label: 'ops risk mine (mined ledger)', argv: [...OPS, 'risk', 'mine', '--ledger', mined], cwd: repo };
    results.push(compare('risk feature extraction rerun, nothing new', cached, gitLog, 0.2, 5, 1));

    const { szz } = runJson<{ szz: SzzReport }>([...OPS, 'risk', 'mine', '--labels', '--json', '--ledger', mined], repo);
    const perCore = szz.gitSeconds / szz.processes;
    results.push({
      name: 'SZZ on the 20,000-commit repository / the sum of its git calls over the cores used <= 1.5',
      text: `${szz.fixes.toLocaleString('en-US')} fixes in ${szz.seconds.toFixed(1)} s (${(szz.fixes / szz.seconds).toFixed(1)} fixes/s); its ${szz.gitCalls.toLocaleString('en-US')} git calls took ${szz.gitSeconds.toFixed(1)} s, ${perCore.toFixed(1)} s on each of ${szz.processes} cores: ratio ${(szz.seconds / perCore).toFixed(2)}`,
      pass: szz.seconds / perCore <= 1.5,
    });
    // The same fixes through the SZZ of before, right after.
    const db = new Database(mined, { readonly: true });
    const fixes = (db.prepare(`SELECT sha FROM commit_features WHERE repo = ? AND kind = 'fix' ORDER BY at, seq`).all(realpathSync(repo)) as Array<{ sha: string }>).map((r) => r.sha);
    db.close();
    writeFileSync(join(scratch, 'fixes.txt'), `${fixes.join('\n')}\n`);
    const before = runJson<{ fixes: number; seconds: number }>([process.execPath, join(PROJECT_ROOT, 'dist', 'bench', 'szz-before.js'), repo, join(scratch, 'fixes.txt')], repo);
    results.push({
      name: 'SZZ fixes/s, before (one git show and blame per file, through execa) and now (a git process per core, cat-file, MA-SZZ filters)',
      text: `before ${(before.fixes / before.seconds).toFixed(1)} fixes/s (${before.seconds.toFixed(1)} s), now ${(szz.fixes / szz.seconds).toFixed(1)} fixes/s (${szz.seconds.toFixed(1)} s): ${(before.seconds / szz.seconds).toFixed(2)}x (reported, no goal)`,
      pass: true,
    });
    return results;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * `ops risk train` end to end on a real repository (OPS_BENCH_REPO, a clone of about 5,000
 * commits), each run on a fresh ledger, against an earlier build of ops (OPS_BEFORE: its bin/ops.js)
 * when given. Skipped, loudly, without OPS_BENCH_REPO.
 */
function trainBenchmarks(): Result[] {
  const repo = process.env.OPS_BENCH_REPO;
  if (!repo) {
    process.stderr.write('\n!!! SKIPPED: risk train on a real repository: set OPS_BENCH_REPO to a clone of about 5,000 commits (and OPS_BEFORE to an earlier bin/ops.js to compare)\n\n');
    return [];
  }
  const scratch = mkdtempSync(join(tmpdir(), 'ops-bench-train-'));
  try {
    const train = (label: string, bin: string) => ({ label, argv: (run: number) => [process.execPath, bin, 'risk', 'train', '--json', '--ledger', join(scratch, `${label.replace(/\W/g, '')}-${run}.db`)], cwd: repo });
    const now = train('ops risk train (now)', OPS[1]!);
    const commits = spawnSync('git', ['rev-list', '--count', '--no-merges', 'HEAD'], { cwd: repo }).stdout.toString().trim();
    if (!process.env.OPS_BEFORE) {
      const times = [0, 1, 2].map((run) => {
        const started = performance.now();
        runJson(now.argv(run), repo);
        return performance.now() - started;
      });
      return [{ name: `ops risk train on ${repo} (${commits} commits), fresh ledger`, text: `median ${(median(times) / 1000).toFixed(1)} s of 3 runs (reported, no goal)`, pass: true }];
    }
    return [compare(`ops risk train on ${repo} (${commits} commits), fresh ledger: now / before, no goal`, now, train('ops risk train (before)', process.env.OPS_BEFORE), Infinity, 3, 0)];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function riskBenchmarks(): Result[] {
  const only = process.env.OPS_BENCH_RISK;
  return [...(only && only !== 'forest' ? [] : forestBenchmarks()), ...(only && only !== 'mining' ? [] : miningBenchmarks()), ...(only && only !== 'train' ? [] : trainBenchmarks()), ...(only && only !== 'repos' ? [] : repositoryBenchmarks())];
}
