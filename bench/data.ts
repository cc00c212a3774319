import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareProfiles } from '../src/core/data/drift.js';
import type { DatasetProfile } from '../src/core/data/profile.js';
import { seededRandom } from '../src/core/forest/forest.js';
import { cached, compare, median, OPS, PROJECT_ROOT, type Result } from './lib.js';

const PYTHON = '/usr/bin/python3';
/** Twice the least heap a 100,000-row profile needs here (16 MiB aborts): room for the collector's timing. */
const HEAP_CAP_MIB = 32;
const COLORS = ['red', 'green', 'blue', 'yellow', 'black'];
const CITIES = ['paris', 'london', 'berlin', 'madrid', 'rome', 'oslo', 'vienna', 'prague'];

/**
 * rows x 20 columns: 10 normal floats with 1% empty cells, 4 integers of 10 to 10,000 values, 5
 * text columns (5 colours, 8 cities, 2 plans with 2% empty, ~200,000 user ids, a boolean) and a
 * uniform score. `shift` moves the floats' means by that many of their standard deviations.
 */
function writeTable(file: string, rows: number, seed: number, shift: number): void {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const out = openSync(file, 'w');
  const head = [...Array.from({ length: 10 }, (_, i) => `f${i}`), 'i0', 'i1', 'i2', 'i3', 'color', 'city', 'plan', 'user', 'flag', 'score'];
  let buffer = `${head.join(',')}\n`;
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let i = 0; i < 10; i++) row.push(random() < 0.01 ? '' : ((gauss() + shift) * (i + 1) * 10 + i * 100).toFixed(4));
    for (let i = 0; i < 4; i++) row.push(String(Math.floor(random() * 10 ** (i + 1))));
    row.push(COLORS[Math.floor(random() * 5)]!, CITIES[Math.floor(random() * 8)]!, random() < 0.02 ? '' : random() < 0.7 ? 'free' : 'pro', `u${Math.floor(random() * 200_000)}`, random() < 0.5 ? 'true' : 'false', (random() * 100).toFixed(2));
    buffer += `${row.join(',')}\n`;
    if (buffer.length > 1 << 20) {
      writeSync(out, buffer);
      buffer = '';
    }
  }
  writeSync(out, buffer);
  closeSync(out);
}

const table = (rows: number, seed: number, shift: number) => cached(`data-${rows}x20-s${seed}-shift${shift}.csv`, (building) => writeTable(building, rows, seed, shift));

/** Debian's pandas, installed when missing (as root), else a clear error. */
function pandasPython(): string {
  if (spawnSync(PYTHON, ['-c', 'import pandas'], { stdio: 'ignore' }).status !== 0) {
    const setup = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'setup.sh'), 'pandas'], { stdio: 'inherit' });
    if (setup.status !== 0) throw new Error('the profile benchmark needs pandas: `apt-get install python3-pandas` (as root)');
  }
  return PYTHON;
}

/** Peak resident memory of a command, in MiB (GNU time's %M). */
function peakMiB(argv: string[]): number {
  const result = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr.toString().slice(-500)}`);
  const lines = result.stderr.toString().trim().split('\n');
  return Number(lines[lines.length - 1]) / 1024;
}

export function dataBenchmarks(): Result[] {
  const python = pandasPython();
  const big = table(1_000_000, 1, 0);
  const small = table(100_000, 1, 0);
  const shifted = table(1_000_000, 2, 0.5);
  const scratch = mkdtempSync(join(tmpdir(), 'ops-bench-data-'));
  const ledger = join(scratch, 'ledger.db');
  const env = { ...process.env, XDG_CONFIG_HOME: scratch, XDG_CACHE_HOME: scratch };
  const ops = (file: string) => [...OPS, 'data', 'profile', file, '--json', '--ledger', ledger];
  const pandas = (file: string) => [python, join(PROJECT_ROOT, 'bench', 'data_pandas.py'), file];
  const results: Result[] = [];
  try {
    results.push(
      compare(
        'ops data profile of a 1,000,000 x 20 CSV (137 MB) / pandas read_csv + describe(same quantiles) + isna().sum() + nunique(), start-up included',
        { label: 'ops data profile', argv: ops(big), env },
        { label: 'pandas', argv: pandas(big), env },
        1.0,
        5,
        1,
      ),
    );
    const memory = { opsSmall: peakMiB(ops(small)), opsBig: peakMiB(ops(big)), pandasSmall: peakMiB(pandas(small)), pandasBig: peakMiB(pandas(big)) };
    const growth = memory.opsBig / memory.opsSmall;
    results.push({
      name: 'peak memory, 100,000 -> 1,000,000 rows: ops must not grow with the row count (<= 1.25x)',
      text: `ops ${memory.opsSmall.toFixed(0)} -> ${memory.opsBig.toFixed(0)} MiB (${growth.toFixed(2)}x); pandas ${memory.pandasSmall.toFixed(0)} -> ${memory.pandasBig.toFixed(0)} MiB (${(memory.pandasBig / memory.pandasSmall).toFixed(2)}x)`,
      pass: growth <= 1.25,
    });
    // Peak RSS includes the collector's slack, which grows with the allocations; the data kept does not:
    // 30x the rows must profile in the heap that 100,000 rows need.
    const capped = { ...env, NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MIB}` };
    const huge = table(3_000_000, 1, 0);
    const fits = (file: string) => spawnSync(ops(file)[0]!, ops(file).slice(1), { env: capped, stdio: 'ignore' }).status === 0;
    const [smallFits, hugeFits] = [fits(small), fits(huge)];
    results.push({
      name: `live memory: 100,000 and 3,000,000 rows both profile with the V8 heap capped at ${HEAP_CAP_MIB} MiB`,
      text: `100,000 rows ${smallFits ? 'fit' : 'do not fit'}, 3,000,000 rows ${hugeFits ? 'fit' : 'do not fit'}; peak RSS uncapped at 3,000,000 rows ${peakMiB(ops(huge)).toFixed(0)} MiB`,
      pass: smallFits && hugeFits,
    });

    // Drift from two stored 1,000,000-row profiles: parse both (as read from the ledger) and compare every column.
    const profileJson = (file: string) => {
      const result = spawnSync(ops(file)[0]!, ops(file).slice(1), { env, maxBuffer: 1 << 28 });
      if (result.status !== 0) throw new Error(result.stderr.toString());
      return result.stdout.toString();
    };
    const [a, b] = [profileJson(big), profileJson(shifted)];
    const times: number[] = [];
    let drifted = 0;
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      const report = compareProfiles(JSON.parse(a) as DatasetProfile, JSON.parse(b) as DatasetProfile);
      times.push(performance.now() - started);
      drifted = report.drifted.length;
    }
    const ms = median(times);
    results.push({
      name: 'drift check between two 1,000,000-row profiles (20 columns, parsed from JSON and compared) < 100 ms',
      text: `${ms.toFixed(1)} ms median of 30 (profiles of ${(a.length / 1024).toFixed(0)} and ${(b.length / 1024).toFixed(0)} KiB; ${drifted} of 20 columns drifted: the 10 shifted floats)`,
      pass: ms < 100 && drifted === 10,
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return results;
}
