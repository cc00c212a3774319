import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { Ledger } from '../src/ledger/index.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const OPS = [process.execPath, `${PROJECT_ROOT}bin/ops.js`];
export const CACHE = join(PROJECT_ROOT, 'bench', '.cache');

/**
 * A fixture under bench/.cache, built once: `build` fills `<name>.building`, which is renamed into
 * place only when complete, so an interrupted build is never taken for a finished one.
 */
export function cached(name: string, build: (building: string) => void): string {
  const path = join(CACHE, name);
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const building = `${path}.building`;
  rmSync(building, { recursive: true, force: true });
  build(building);
  renameSync(building, path);
  return path;
}

/**
 * A cached SQLite ledger file at the latest schema, filled through its better-sqlite3 handle by
 * `fill` (fast bulk inserts) and checkpointed so that it is one self-contained file.
 */
export function cachedLedger(name: string, fill: (db: Database.Database) => void): string {
  return cached(name, (building) => {
    const ledger = Ledger.open(building);
    const db = ledger.sqlite!;
    fill(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  });
}

export interface Command {
  label: string;
  /** Fixed, or made per run (run n), for commands that change state (a deploy of image A, then B). */
  argv: string[] | ((run: number) => string[]);
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Comparison {
  name: string;
  subject: string;
  baseline: string;
  subjectMedianMs: number;
  baselineMedianMs: number;
  /** Median of the per-pair ratios: each pair ran back to back, so both saw the same machine load. */
  ratio: number;
  /** Infinity: reported for comparison, with no goal. */
  goal: number;
  pass: boolean;
}

/** A goal that is not a time ratio (an accuracy, a throughput), reported beside the comparisons. */
export interface Measurement {
  name: string;
  text: string;
  pass: boolean;
}

export type Result = Comparison | Measurement;

const runsOf = new WeakMap<Command, number>();

/** Run a command once; its wall time, and its stdout when `keepOutput` (else it is discarded). */
function runOnce(command: Command, keepOutput: boolean): { ms: number; stdout: string } {
  const run = runsOf.get(command) ?? 0;
  runsOf.set(command, run + 1);
  const argv = typeof command.argv === 'function' ? command.argv(run) : command.argv;
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0]!, argv.slice(1), {
    cwd: command.cwd,
    env: command.env ?? process.env,
    stdio: ['ignore', keepOutput ? 'pipe' : 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command.label} exited ${result.status}: ${result.stderr?.toString().trim()}`);
  return { ms, stdout: keepOutput ? result.stdout.toString() : '' };
}

/** `runs` pairs of measurements, alternating which command goes first so neither always runs on a warmer cache. */
function inPairs<T>(subject: Command, baseline: Command, runs: number, measure: (command: Command) => T): Array<{ subject: T; baseline: T }> {
  const pairs: Array<{ subject: T; baseline: T }> = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      const first = measure(subject);
      pairs.push({ subject: first, baseline: measure(baseline) });
    } else {
      const first = measure(baseline);
      pairs.push({ subject: measure(subject), baseline: first });
    }
  }
  return pairs;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Run both commands alternately, in pairs, so that machine noise hits both alike: the median of per-pair time ratios. */
export function compare(name: string, subject: Command, baseline: Command, goal: number, runs = 40, warmup = 3): Comparison {
  const time = (command: Command) => runOnce(command, false).ms;
  inPairs(subject, baseline, warmup, time);
  return ratioOf(name, [subject.label, baseline.label], inPairs(subject, baseline, runs, time), (ms) => ms, goal);
}

/**
 * Run two commands that time themselves (each prints one JSON line), alternately, `runs` pairs;
 * returns every run's report, for per-pair ratios of any field.
 */
export function pairedReports<T>(subject: Command, baseline: Command, runs: number): Array<{ subject: T; baseline: T }> {
  return inPairs(subject, baseline, runs, (command) => JSON.parse(runOnce(command, true).stdout) as T);
}

/** A Comparison from self-reported times: the median of per-pair ratios of one field. */
export function ratioOf<T>(name: string, labels: [string, string], pairs: Array<{ subject: T; baseline: T }>, field: (report: T) => number, goal: number): Comparison {
  const ratio = median(pairs.map((p) => field(p.subject) / field(p.baseline)));
  return {
    name,
    subject: labels[0],
    baseline: labels[1],
    subjectMedianMs: median(pairs.map((p) => field(p.subject))),
    baselineMedianMs: median(pairs.map((p) => field(p.baseline))),
    ratio,
    goal,
    pass: ratio <= goal,
  };
}

export function report(results: Result[]): void {
  for (const r of results) {
    if (!('ratio' in r)) {
      process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'}  ${r.name}: ${r.text}\n`);
      continue;
    }
    process.stdout.write(
      `${r.goal === Infinity ? 'INFO' : r.pass ? 'PASS' : 'FAIL'}  ${r.name}: ${r.subject} ${r.subjectMedianMs.toFixed(1)} ms vs ${r.baseline} ${r.baselineMedianMs.toFixed(1)} ms, median of paired ratios ${r.ratio.toFixed(2)} (${r.goal === Infinity ? 'no goal' : `goal <= ${r.goal}`})\n`,
    );
  }
}
