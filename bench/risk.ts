import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, median, OPS, pairedReports, PROJECT_ROOT, ratioOf, type Result } from './lib.js';
import { miningRepository } from './mining-repo.js';

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

/**
 * Mining the 14 features of 20,000 commits (a fresh ledger each run) against the raw `git log
 * --numstat` of the same history; a rerun on a mined ledger against the same; SZZ throughput.
 */
function miningBenchmarks(): Result[] {
  const repo = miningRepository();
  const scratch = mkdtempSync(join(tmpdir(), 'ops-bench-mining-'));
  try {
    const gitLog = { label: 'git log --numstat', argv: ['git', 'log', '--numstat'], cwd: repo };
    const fresh = { label: 'ops risk mine (empty ledger)', argv: (run: number) => [...OPS, 'risk', 'mine', '--ledger', join(scratch, `fresh-${run}.db`)], cwd: repo };
    const results: Result[] = [compare('risk feature extraction, 20,000 commits', fresh, gitLog, 1.5, 5, 1)];
    const mined = join(scratch, 'mined.db');
    // compare()'s warm-up run mines this ledger; the timed runs find nothing new.
    const cached = { label: 'ops risk mine (mined ledger)', argv: [...OPS, 'risk', 'mine', '--ledger', mined], cwd: repo };
    results.push(compare('risk feature extraction rerun, nothing new', cached, gitLog, 0.2, 5, 1));
    const labelled = spawnSync(OPS[0]!, [...OPS.slice(1), 'risk', 'mine', '--labels', '--json', '--ledger', mined], { cwd: repo, maxBuffer: 1 << 24 });
    if (labelled.status !== 0) throw new Error(`ops risk mine --labels failed: ${labelled.stderr.toString()}`);
    const { szz } = JSON.parse(labelled.stdout.toString()) as { szz: { fixes: number; labelled: number; seconds: number } };
    results.push({
      name: 'SZZ on the 20,000-commit repository',
      text: `${szz.fixes.toLocaleString('en-US')} fixes blamed in ${szz.seconds.toFixed(1)} s: ${(szz.fixes / szz.seconds).toFixed(1)} fix commits/s, ${(20_000 / szz.seconds).toFixed(0)} commits/s of history; ${szz.labelled.toLocaleString('en-US')} commits labelled bug-inducing (reported, no goal)`,
      pass: true,
    });
    return results;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function riskBenchmarks(): Result[] {
  return [...forestBenchmarks(), ...miningBenchmarks()];
}
