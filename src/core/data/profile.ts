import { DigestView, HyperLogLog, NumberCounter, TDigest, hashNumber, hashString, type SerializedDigest } from './sketches.js';

export type ColumnType = 'integer' | 'number' | 'boolean' | 'timestamp' | 'string' | 'empty';

/** Distinct values are counted exactly up to this many per column, then by HyperLogLog. */
export const EXACT_DISTINCT_LIMIT = 10_000;
/** Categories kept with their counts in a profile (the most frequent first): what drift compares. */
export const STORED_CATEGORIES = 1_000;
/** Counters of the frequent-items sketch (Misra-Gries) once a column has too many distinct values. */
const HEAVY_HITTERS = 1_000;
const HISTOGRAM_BINS = 20;
export const QUANTILES = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;
export type QuantileName = keyof typeof QUANTILES;

export interface NumericSummary {
  min: number;
  max: number;
  mean: number;
  /** Sample standard deviation (n - 1), as pandas' describe. */
  std: number | null;
  quantiles: Record<QuantileName, number>;
  histogram: { edges: number[]; counts: number[] };
  digest: SerializedDigest;
}

export interface CategorySummary {
  /** [value, count], most frequent first; at most STORED_CATEGORIES. */
  values: Array<[string, number]>;
  /** Every category is listed with its exact count (none left in `other`). */
  complete: boolean;
  /** Non-null values not listed. */
  other: number;
}

export interface ColumnProfile {
  name: string;
  type: ColumnType;
  /** Non-null values. */
  count: number;
  nulls: number;
  distinct: number;
  distinctExact: boolean;
  numeric?: NumericSummary;
  categories?: CategorySummary;
  timestamps?: { min: string; max: string };
  lengths?: { min: number; max: number };
}

export interface DatasetProfile {
  format: 'ops-profile';
  version: 1;
  source: { path: string; format: DataFormat; files: number; sizeBytes: number; digest: string };
  rows: number;
  columns: ColumnProfile[];
  profiledAt: string;
  durationMs: number;
}

export type DataFormat = 'csv' | 'jsonl' | 'parquet';

/** pandas' default NA strings, so that a profile and `pandas.read_csv` agree on what is missing. */
export const NULL_TOKENS = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}(?:([T ])\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Epoch milliseconds of an ISO-8601 date or date-time (UTC when it names no zone), or NaN. */
export function parseTimestamp(text: string): number {
  const match = TIMESTAMP_PATTERN.exec(text);
  if (!match) return NaN;
  if (match[1] && !match[2]) return Date.parse(`${text.replace(' ', 'T')}Z`);
  return Date.parse(match[1] === ' ' ? text.replace(' ', 'T') : text);
}

/** Something that looks at every value of one column during the pass (a suite's regex, allowed values, unique). */
export interface ValueWatcher {
  see(value: string | number | boolean, row: number): void;
}

type Key = string | number;

/** One column's running statistics; memory is bounded by the limits above, whatever the row count. */
export class ColumnProfiler {
  count = 0;
  nulls = 0;
  numbers = 0;
  integers = 0;
  booleans = 0;
  timestamps = 0;
  private shift = NaN;
  private sum = 0;
  private sumSquares = 0;
  private digest: TDigest | null = null;
  private tsMin = Infinity;
  private tsMax = -Infinity;
  private minLength = Infinity;
  private maxLength = 0;
  /** Exact counts while there are at most EXACT_DISTINCT_LIMIT distinct values (numbers and texts together). */
  private numberCounts: NumberCounter | null = null;
  private textCounts: Map<string, number> | null = new Map();
  private exact = true;
  private hll: HyperLogLog | null = null;
  /** Misra-Gries counters for the non-numeric values once exact counts are given up. */
  private heavy: Map<string, number> | null = null;
  private readonly hash = new Uint32Array(2);
  readonly watchers: ValueWatcher[] = [];

  constructor(readonly name: string) {}

  addNull(): void {
    this.nulls++;
  }

  addNumber(value: number, row: number): void {
    this.count++;
    this.numbers++;
    if (Number.isInteger(value)) this.integers++;
    if (this.shift !== this.shift) this.shift = value;
    const d = value - this.shift;
    this.sum += d;
    this.sumSquares += d * d;
    (this.digest ??= new TDigest()).add(value);
    this.distinct(value);
    for (const w of this.watchers) w.see(value, row);
  }

  /** A text value; `kind` says whether it reads as a boolean or a timestamp (epoch ms in `time`). */
  addText(value: string, row: number, kind: 'string' | 'boolean' | 'timestamp' = 'string', time = NaN): void {
    this.count++;
    if (kind === 'boolean') this.booleans++;
    else if (kind === 'timestamp') {
      this.timestamps++;
      if (time < this.tsMin) this.tsMin = time;
      if (time > this.tsMax) this.tsMax = time;
    }
    if (value.length < this.minLength) this.minLength = value.length;
    if (value.length > this.maxLength) this.maxLength = value.length;
    if (!this.distinct(value)) this.countHeavy(value);
    for (const w of this.watchers) w.see(value, row);
  }

  /** A CSV cell: null, number, boolean, timestamp or text, inferred from the text itself. */
  addCell(cell: string, row: number): void {
    if (cell === '') return this.addNull();
    const c = cell.charCodeAt(0);
    // Digits, sign or a leading dot: try a number first (Number() also takes hex and spaces; finite only).
    if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
      const n = Number(cell);
      if (n === n && n !== Infinity && n !== -Infinity) return this.addNumber(n, row);
      if (c >= 48 && c <= 57) {
        const time = parseTimestamp(cell);
        if (time === time) return this.addText(cell, row, 'timestamp', time);
      }
    }
    if (NULL_TOKENS.has(cell)) return this.addNull();
    const lower = cell.length <= 5 ? cell.toLowerCase() : '';
    if (lower === 'true' || lower === 'false') return this.addText(cell, row, 'boolean');
    this.addText(cell, row);
  }

  /** A typed value (JSON Lines, Parquet): its JSON type decides, except ISO strings read as timestamps. */
  addValue(value: unknown, row: number): void {
    if (value === null || value === undefined) return this.addNull();
    switch (typeof value) {
      case 'number':
        return Number.isFinite(value) ? this.addNumber(value, row) : this.addNull();
      case 'bigint':
        return this.addNumber(Number(value), row);
      case 'boolean':
        return this.addText(String(value), row, 'boolean');
      case 'string': {
        const time = parseTimestamp(value);
        return time === time ? this.addText(value, row, 'timestamp', time) : this.addText(value, row);
      }
      default:
        if (value instanceof Date) return this.addText(value.toISOString(), row, 'timestamp', value.getTime());
        return this.addText(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)), row);
    }
  }

  private distinctCount(): number {
    return (this.numberCounts?.size ?? 0) + (this.textCounts?.size ?? 0);
  }

  /** Count a value exactly, or in the HyperLogLog once there are too many; false when no longer exact. */
  private distinct(value: Key): boolean {
    if (this.exact) {
      if (typeof value === 'number') {
        const counts = (this.numberCounts ??= new NumberCounter(EXACT_DISTINCT_LIMIT));
        if (counts.add(value, this.distinctCount() < EXACT_DISTINCT_LIMIT)) return true;
      } else {
        const counts = this.textCounts!;
        const seen = counts.get(value);
        if (seen !== undefined) {
          counts.set(value, seen + 1);
          return true;
        }
        if (this.distinctCount() < EXACT_DISTINCT_LIMIT) {
          counts.set(value, 1);
          return true;
        }
      }
      this.giveUpExact();
    }
    this.hashInto(value);
    return false;
  }

  private hashInto(value: Key): void {
    if (typeof value === 'number') hashNumber(value, this.hash);
    else hashString(value, this.hash);
    this.hll!.addHash(this.hash[0]!, this.hash[1]!);
  }

  /** Too many distinct values: replay them into a HyperLogLog, and keep the text ones as heavy hitters. */
  private giveUpExact(): void {
    this.exact = false;
    this.hll = new HyperLogLog();
    for (const [key] of this.numberCounts?.entries() ?? []) this.hashInto(key);
    const heavy = new Map<string, number>();
    for (const [key, n] of this.textCounts ?? []) {
      this.hashInto(key);
      heavy.set(key, n);
    }
    this.numberCounts = null;
    this.textCounts = null;
    this.heavy = heavy;
    this.trimHeavy();
  }

  /** Exact counts of every value, when still kept. */
  private exactCounts(): Array<[Key, number]> | null {
    if (!this.exact) return null;
    return [...(this.numberCounts?.entries() ?? []), ...(this.textCounts ?? [])];
  }

  private countHeavy(value: string): void {
    const heavy = this.heavy!;
    const seen = heavy.get(value);
    if (seen !== undefined) heavy.set(value, seen + 1);
    else if (heavy.size < HEAVY_HITTERS) heavy.set(value, 1);
    else {
      // Misra-Gries: a new value with every counter taken decrements them all.
      for (const [key, n] of heavy) {
        if (n <= 1) heavy.delete(key);
        else heavy.set(key, n - 1);
      }
    }
  }

  private trimHeavy(): void {
    const heavy = this.heavy!;
    if (heavy.size <= HEAVY_HITTERS) return;
    const kept = [...heavy].sort((a, b) => b[1] - a[1]).slice(0, HEAVY_HITTERS);
    this.heavy = new Map(kept);
  }

  type(): ColumnType {
    if (this.count === 0) return 'empty';
    if (this.numbers === this.count) return this.integers === this.count ? 'integer' : 'number';
    if (this.booleans === this.count) return 'boolean';
    if (this.timestamps === this.count) return 'timestamp';
    return 'string';
  }

  finish(): ColumnProfile {
    const type = this.type();
    const exact = this.exact;
    const profile: ColumnProfile = {
      name: this.name,
      type,
      count: this.count,
      nulls: this.nulls,
      distinct: exact ? this.distinctCount() : this.hll!.estimate(),
      distinctExact: exact,
    };
    if ((type === 'integer' || type === 'number') && this.digest) profile.numeric = this.numericSummary(this.digest);
    if (type !== 'integer' && type !== 'number' && type !== 'empty') {
      profile.categories = this.categories();
      if (this.maxLength >= this.minLength) profile.lengths = { min: this.minLength, max: this.maxLength };
    } else if (exact && this.distinctCount() <= STORED_CATEGORIES) {
      // Few distinct numbers (codes, counts): keep them too, for top values.
      profile.categories = this.categories();
    }
    if (type === 'timestamp') profile.timestamps = { min: new Date(this.tsMin).toISOString(), max: new Date(this.tsMax).toISOString() };
    return profile;
  }

  private categories(): CategorySummary {
    const counts = this.exactCounts();
    const entries: Array<[string, number]> = counts ? counts.map(([k, n]) => [String(k), n]) : [...(this.heavy ?? [])];
    entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const values = entries.slice(0, STORED_CATEGORIES);
    const listed = values.reduce((s, [, n]) => s + n, 0);
    return { values, complete: this.exact && entries.length <= STORED_CATEGORIES, other: this.count - listed };
  }

  private numericSummary(digest: TDigest): NumericSummary {
    const n = this.numbers;
    const serialized = digest.toJSON();
    const view = new DigestView(serialized);
    const mean = this.shift + this.sum / n;
    const variance = n > 1 ? Math.max(0, (this.sumSquares - (this.sum * this.sum) / n) / (n - 1)) : null;
    const counts = this.exactCounts();
    const exact = counts ? exactQuantiles(counts as Array<[number, number]>, n) : null;
    const quantiles = Object.fromEntries(Object.entries(QUANTILES).map(([name, q]) => [name, exact ? exact(q) : view.quantile(q)])) as Record<QuantileName, number>;
    return { min: serialized.min, max: serialized.max, mean, std: variance === null ? null : Math.sqrt(variance), quantiles, histogram: histogram(view, serialized.min, serialized.max), digest: serialized };
  }
}

/** Quantiles from exact value counts, interpolated between order statistics as numpy's and pandas' default. */
function exactQuantiles(counts: Array<[number, number]>, n: number): (q: number) => number {
  const values = [...counts].sort((a, b) => a[0] - b[0]);
  const ends: number[] = [];
  let total = 0;
  for (const [, c] of values) ends.push((total += c));
  // The value at 0-based rank r: the first whose cumulative count exceeds r.
  const at = (rank: number) => {
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid]! > rank) hi = mid;
      else lo = mid + 1;
    }
    return values[lo]![0];
  };
  return (q) => {
    const h = (n - 1) * q;
    const below = Math.floor(h);
    const low = at(below);
    return h === below ? low : low + (h - below) * (at(below + 1) - low);
  };
}

/** Equal-width bins over [min, max], their counts read off the digest's CDF. */
function histogram(view: DigestView, min: number, max: number): { edges: number[]; counts: number[] } {
  if (!(max > min)) return { edges: [min, max], counts: [view.total] };
  const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => (i === HISTOGRAM_BINS ? max : min + ((max - min) * i) / HISTOGRAM_BINS));
  const counts: number[] = [];
  let below = 0;
  for (let i = 1; i <= HISTOGRAM_BINS; i++) {
    const upTo = i === HISTOGRAM_BINS ? view.total : Math.round(view.cdf(edges[i]!) * view.total);
    counts.push(Math.max(0, upTo - below));
    below = Math.max(below, upTo);
  }
  return { edges, counts };
}

/** The columns of a dataset as its rows stream past. */
export class DatasetProfiler {
  readonly columns: ColumnProfiler[] = [];
  private readonly byName = new Map<string, ColumnProfiler>();
  rows = 0;

  constructor(private readonly watchersFor: (column: string) => ValueWatcher[] = () => []) {}

  column(name: string): ColumnProfiler {
    let column = this.byName.get(name);
    if (!column) {
      column = new ColumnProfiler(name);
      column.watchers.push(...this.watchersFor(name));
      this.byName.set(name, column);
      this.columns.push(column);
    }
    return column;
  }

  finish(source: DatasetProfile['source'], profiledAt: string, durationMs: number): DatasetProfile {
    // A column missing from some rows (a late JSON key, a file of a folder without it) was null there.
    for (const column of this.columns) column.nulls += this.rows - column.count - column.nulls;
    return { format: 'ops-profile', version: 1, source, rows: this.rows, columns: this.columns.map((c) => c.finish()), profiledAt, durationMs };
  }
}
