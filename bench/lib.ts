import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const OPS = [process.execPath, `${PROJECT_ROOT}bin/ops.js`];

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

function timeOnce(command: Command): number {
  const run = runsOf.get(command) ?? 0;
  runsOf.set(command, run + 1);
  const argv = typeof command.argv === 'function' ? command.argv(run) : command.argv;
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd: command.cwd, env: command.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command.label} exited ${result.status}: ${result.stderr?.toString().trim()}`);
  return elapsed;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Run both commands alternately, in pairs, so that machine noise hits both alike. */
export function compare(name: string, subject: Command, baseline: Command, goal: number, runs = 40, warmup = 3): Comparison {
  for (let i = 0; i < warmup; i++) (timeOnce(subject), timeOnce(baseline));
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs on a warmer cache.
    if (i % 2 === 0) (a.push(timeOnce(subject)), b.push(timeOnce(baseline)));
    else (b.push(timeOnce(baseline)), a.push(timeOnce(subject)));
  }
  const subjectMedianMs = median(a);
  const baselineMedianMs = median(b);
  const ratio = median(a.map((value, i) => value / b[i]!));
  return { name, subject: subject.label, baseline: baseline.label, subjectMedianMs, baselineMedianMs, ratio, goal, pass: ratio <= goal };
}

/**
 * Run two commands that time themselves (each prints one JSON line), alternately, `runs` pairs;
 * returns every run's report, for per-pair ratios of any field.
 */
export function pairedReports<T>(subject: Command, baseline: Command, runs: number): Array<{ subject: T; baseline: T }> {
  const once = (command: Command): T => {
    const argv = command.argv as string[];
    const result = spawnSync(argv[0]!, argv.slice(1), { cwd: command.cwd, env: command.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
    if (result.status !== 0) throw new Error(`${command.label} exited ${result.status}: ${result.stderr?.toString().trim()}`);
    return JSON.parse(result.stdout.toString()) as T;
  };
  const pairs: Array<{ subject: T; baseline: T }> = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      const s = once(subject);
      pairs.push({ subject: s, baseline: once(baseline) });
    } else {
      const b = once(baseline);
      pairs.push({ subject: once(subject), baseline: b });
    }
  }
  return pairs;
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
