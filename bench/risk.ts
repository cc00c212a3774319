import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { median, pairedReports, PROJECT_ROOT, ratioOf, type Result } from './lib.js';

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

export function riskBenchmarks(): Result[] {
  return [...forestBenchmarks()];
}
