import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../../errors.js';
import { DEFAULT_DRIFT_THRESHOLDS, type DriftThresholds } from './drift.js';
import { hashNumber, hashString } from './sketches.js';
import type { ColumnProfile, ColumnType, DatasetProfile, ValueWatcher } from './profile.js';

/** "2d", "12h", "30m": how old the newest timestamp may be. */
const AGE_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const AGE_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const age = z
  .string()
  .regex(AGE_PATTERN, 'a duration such as "12h", "2d" or "1w"')
  .transform((text) => {
    const [, n, unit] = AGE_PATTERN.exec(text)!;
    return Number(n) * AGE_UNITS_MS[unit as keyof typeof AGE_UNITS_MS];
  });

const columnExpectations = z.strictObject({
  /** Listed columns must be present; `present: false` says a column must not be there. */
  present: z.boolean().default(true),
  type: z.enum(['integer', 'number', 'boolean', 'timestamp', 'string']).optional(),
  /** The share of rows with a value: at least this (true means every row). */
  notNull: z.union([z.boolean(), z.number().min(0).max(1)]).optional(),
  range: z
    .strictObject({ min: z.number().optional(), max: z.number().optional() })
    .refine((r) => r.min !== undefined || r.max !== undefined, 'a range needs min, max or both')
    .optional(),
  allowed: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
  unique: z.boolean().optional(),
  regex: z
    .string()
    .refine((text) => {
      try {
        new RegExp(text, 'u');
        return true;
      } catch {
        return false;
      }
    }, 'a valid regular expression')
    .optional(),
  freshness: age.optional(),
});

const thresholds = z.strictObject({
  psi: z.number().positive().default(DEFAULT_DRIFT_THRESHOLDS.psi),
  ks: z.number().positive().max(1).default(DEFAULT_DRIFT_THRESHOLDS.ks),
  jensenShannon: z.number().positive().max(1).default(DEFAULT_DRIFT_THRESHOLDS.jensenShannon),
  pValue: z.number().positive().max(1).default(DEFAULT_DRIFT_THRESHOLDS.pValue),
});

export const driftThresholdsSchema = thresholds;

export const suiteSchema = z.strictObject({
  rows: z
    .strictObject({ min: z.number().int().nonnegative().optional(), max: z.number().int().nonnegative().optional() })
    .refine((r) => r.min !== undefined || r.max !== undefined, 'a row count range needs min, max or both')
    .optional(),
  columns: z.record(z.string().min(1), columnExpectations).default({}),
  drift: thresholds
    .extend({
      /** Only these columns (default: every column of the reference). */
      columns: z.array(z.string().min(1)).optional(),
      ignore: z.array(z.string().min(1)).default([]),
    })
    .default({}),
});

export type Suite = z.infer<typeof suiteSchema>;
export type ColumnExpectations = z.infer<typeof columnExpectations>;

export function suiteThresholds(suite: Suite | null): DriftThresholds {
  if (!suite) return DEFAULT_DRIFT_THRESHOLDS;
  const { psi, ks, jensenShannon, pValue } = suite.drift;
  return { psi, ks, jensenShannon, pValue };
}

/** Read and validate a suite file (YAML or JSON); a mistake is one line with the file, line and key. */
export async function loadSuite(path: string, cwd: string): Promise<Suite> {
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read suite ${path}`, 'check the path given to --suite');
  }
  const shown = relative(cwd, file) || file;
  let raw: unknown;
  try {
    const yaml = await import('js-yaml');
    raw = yaml.load(text, { filename: file }) ?? {};
  } catch (err) {
    const { mark, reason } = err as { mark?: { line: number }; reason?: string };
    throw new UsageError(`${shown}${mark ? `:${mark.line + 1}` : ''}: invalid YAML: ${reason ?? (err as Error).message}`, 'fix the syntax and rerun');
  }
  const result = suiteSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path_ = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const { lineOf } = await import('../config/locate.js');
  const line = lineOf(file, path_);
  const where = path_.map(String).join('.') || '(top level)';
  const text_ = issue.code === 'unrecognized_keys' ? `unknown key "${issue.keys[0]}"` : issue.message.toLowerCase();
  throw new UsageError(
    `${shown}${line ? `:${line}` : ''}: ${where}: ${text_}`,
    'expectations per column: present, type, notNull, range, allowed, unique, regex, freshness; top level: rows, columns, drift',
  );
}

/** A value that failed a per-value expectation: the first one seen, and how many did. */
interface Violations {
  count: number;
  firstRow: number | null;
  firstValue: string | null;
}

/** Watchers for the expectations that need every value (allowed, regex, unique), run during the pass. */
export class SuiteWatchers {
  readonly allowed = new Map<string, Violations>();
  readonly regex = new Map<string, Violations>();
  readonly duplicates = new Map<string, Violations>();

  constructor(private readonly suite: Suite | null) {}

  private note(map: Map<string, Violations>, column: string, value: string | number | boolean, row: number): void {
    const v = map.get(column)!;
    v.count++;
    if (v.firstRow === null) {
      v.firstRow = row;
      v.firstValue = String(value);
    }
  }

  for(column: string): ValueWatcher[] {
    const expect = this.suite?.columns[column];
    if (!expect) return [];
    const watchers: ValueWatcher[] = [];
    if (expect.allowed) {
      const allowed = new Set(expect.allowed.map(String));
      this.allowed.set(column, { count: 0, firstRow: null, firstValue: null });
      watchers.push({ see: (value, row) => void (allowed.has(String(value)) || this.note(this.allowed, column, value, row)) });
    }
    if (expect.regex) {
      const pattern = new RegExp(expect.regex, 'u');
      this.regex.set(column, { count: 0, firstRow: null, firstValue: null });
      watchers.push({ see: (value, row) => void (pattern.test(String(value)) || this.note(this.regex, column, value, row)) });
    }
    if (expect.unique) {
      // Exact: a set of 64-bit hashes of the values seen (the one expectation whose memory grows with the data).
      const seen = new Set<number>();
      const hash = new Uint32Array(2);
      this.duplicates.set(column, { count: 0, firstRow: null, firstValue: null });
      watchers.push({
        see: (value, row) => {
          if (typeof value === 'number') hashNumber(value, hash);
          else hashString(String(value), hash);
          const key = hash[0]! * 4294967296 + hash[1]!;
          if (seen.has(key)) this.note(this.duplicates, column, value, row);
          else seen.add(key);
        },
      });
    }
    return watchers;
  }
}

export interface CheckResult {
  /** What was expected, in words: `age: range [0, 120]`. */
  check: string;
  column: string | null;
  kind: 'rows' | 'present' | 'absent' | 'type' | 'notNull' | 'range' | 'allowed' | 'unique' | 'regex' | 'freshness';
  passed: boolean;
  expected: string;
  observed: string;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : Number(n.toPrecision(6)).toString());
const share = (n: number) => `${(100 * n).toFixed(n > 0.999 && n < 1 ? 3 : 1)}%`;
const violation = (v: Violations, what: string) => (v.count === 0 ? 'none' : `${v.count} ${what}; first at row ${v.firstRow}: ${JSON.stringify(v.firstValue)}`);

const TYPE_SATISFIES: Record<string, ColumnType[]> = {
  integer: ['integer'],
  number: ['integer', 'number'],
  boolean: ['boolean'],
  timestamp: ['timestamp'],
  string: ['string', 'boolean', 'timestamp', 'integer', 'number'],
};

/** Evaluate a suite against a profile (and the watchers that saw every value). */
export function evaluateSuite(suite: Suite, profile: DatasetProfile, watchers: SuiteWatchers, now: number): CheckResult[] {
  const results: CheckResult[] = [];
  const byName = new Map(profile.columns.map((c) => [c.name, c]));
  if (suite.rows) {
    const { min, max } = suite.rows;
    const passed = (min === undefined || profile.rows >= min) && (max === undefined || profile.rows <= max);
    const expected = min !== undefined && max !== undefined ? `${min} to ${max}` : min !== undefined ? `at least ${min}` : `at most ${max}`;
    results.push({ check: `row count ${expected}`, column: null, kind: 'rows', passed, expected, observed: String(profile.rows) });
  }
  for (const [name, expect] of Object.entries(suite.columns)) {
    const column = byName.get(name);
    if (!expect.present) {
      results.push({ check: `${name}: absent`, column: name, kind: 'absent', passed: !column, expected: 'absent', observed: column ? 'present' : 'absent' });
      continue;
    }
    results.push({ check: `${name}: present`, column: name, kind: 'present', passed: Boolean(column), expected: 'present', observed: column ? 'present' : 'missing' });
    if (!column) continue;
    results.push(...columnChecks(name, expect, column, profile.rows, watchers, now));
  }
  return results;
}

function columnChecks(name: string, expect: ColumnExpectations, column: ColumnProfile, rows: number, watchers: SuiteWatchers, now: number): CheckResult[] {
  const out: CheckResult[] = [];
  const add = (kind: CheckResult['kind'], check: string, passed: boolean, expected: string, observed: string) => out.push({ check: `${name}: ${check}`, column: name, kind, passed, expected, observed });
  if (expect.type) {
    // An empty column satisfies any type: notNull says whether it may be empty.
    const passed = column.type === 'empty' || TYPE_SATISFIES[expect.type]!.includes(column.type);
    add('type', `type ${expect.type}`, passed, expect.type, column.type);
  }
  if (expect.notNull !== undefined && expect.notNull !== false) {
    const minimum = expect.notNull === true ? 1 : expect.notNull;
    const observed = rows === 0 ? 1 : column.count / rows;
    add('notNull', `not null in ${share(minimum)} of rows`, observed >= minimum, `>= ${share(minimum)}`, `${share(observed)} (${column.nulls} null)`);
  }
  if (expect.range) {
    const { min, max } = expect.range;
    const expected = `[${min ?? '-inf'}, ${max ?? 'inf'}]`;
    if (!column.numeric) add('range', `range ${expected}`, column.count === 0, expected, column.count === 0 ? 'no values' : `not numeric (${column.type})`);
    else {
      const passed = (min === undefined || column.numeric.min >= min) && (max === undefined || column.numeric.max <= max);
      add('range', `range ${expected}`, passed, expected, `[${fmt(column.numeric.min)}, ${fmt(column.numeric.max)}]`);
    }
  }
  if (expect.allowed) {
    const v = watchers.allowed.get(name)!;
    add('allowed', `values in {${expect.allowed.slice(0, 6).join(', ')}${expect.allowed.length > 6 ? ', ...' : ''}}`, v.count === 0, `${expect.allowed.length} allowed values`, violation(v, 'other values'));
  }
  if (expect.regex) {
    const v = watchers.regex.get(name)!;
    add('regex', `matches /${expect.regex}/`, v.count === 0, `/${expect.regex}/`, violation(v, 'values do not match'));
  }
  if (expect.unique) {
    const v = watchers.duplicates.get(name)!;
    add('unique', 'unique', v.count === 0, 'no duplicates', violation(v, 'duplicates'));
  }
  if (expect.freshness !== undefined) {
    const limit = `${fmt(expect.freshness / 3_600_000)}h`;
    if (!column.timestamps) add('freshness', `newest value within ${limit}`, false, `within ${limit}`, column.count === 0 ? 'no values' : `not a timestamp column (${column.type})`);
    else {
      const ageMs = now - Date.parse(column.timestamps.max);
      add('freshness', `newest value within ${limit}`, ageMs <= expect.freshness, `within ${limit}`, `${column.timestamps.max} (${fmt(ageMs / 3_600_000)}h old)`);
    }
  }
  return out;
}
