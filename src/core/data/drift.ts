import type { ColumnProfile, ColumnType, DatasetProfile } from './profile.js';
import { DigestView } from './sketches.js';
import { chiSquaredSurvival, ksPValue } from './stats.js';

/**
 * When a column counts as drifted. With a million rows every difference is significant, so the
 * tests with a p-value flag only when the effect is large enough as well (Evidently does the same
 * by switching to distances above 1,000 rows).
 */
export interface DriftThresholds {
  /** Population stability index at or above this: drifted (0.1 moderate, 0.2 significant by custom). */
  psi: number;
  /** Kolmogorov-Smirnov D at or above this, with p below pValue: drifted. */
  ks: number;
  /** Jensen-Shannon distance (natural log, as scipy's) at or above this, with the chi-squared p below pValue: drifted. */
  jensenShannon: number;
  pValue: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = { psi: 0.2, ks: 0.1, jensenShannon: 0.1, pValue: 0.05 };

export type DriftTestName = 'psi' | 'ks' | 'chi-squared' | 'jensen-shannon';

export interface DriftTest {
  test: DriftTestName;
  statistic: number;
  pValue: number | null;
  threshold: number;
  drifted: boolean;
}

export interface ColumnDrift {
  column: string;
  type: ColumnType;
  referenceCount: number;
  currentCount: number;
  tests: DriftTest[];
  drifted: boolean;
  /** Why no test ran, or what else changed (a type). */
  note?: string;
}

export interface DriftReport {
  thresholds: DriftThresholds;
  columns: ColumnDrift[];
  drifted: string[];
}

/** Floor for empty bins, so that PSI stays finite (Evidently's 0.0001). */
const EMPTY_BIN = 1e-4;
const PSI_BINS = 10;

const isNumeric = (type: ColumnType) => type === 'integer' || type === 'number';
const isCategorical = (type: ColumnType) => type === 'string' || type === 'boolean';

/** A column's distribution as a CDF and quantile function: exact when every value's count is known, else the t-digest's. */
interface Distribution {
  n: number;
  cdf(x: number): number;
  quantile(q: number): number;
  /** Points where the CDF changes: every value, or the centroid means. */
  points: number[];
}

function distribution(column: ColumnProfile): Distribution | null {
  const categories = column.categories;
  if (categories?.complete && categories.values.length > 0) {
    const values = categories.values.map(([v, n]) => [Number(v), n] as const).sort((a, b) => a[0] - b[0]);
    const xs = values.map(([v]) => v);
    const cumulative: number[] = [];
    let total = 0;
    for (const [, n] of values) cumulative.push((total += n));
    const upTo = (x: number) => {
      let lo = 0;
      let hi = xs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (xs[mid]! <= x) lo = mid + 1;
        else hi = mid;
      }
      return lo === 0 ? 0 : cumulative[lo - 1]!;
    };
    return {
      n: total,
      cdf: (x) => upTo(x) / total,
      quantile: (q) => {
        const target = q * total;
        const i = cumulative.findIndex((c) => c >= target);
        return xs[i < 0 ? xs.length - 1 : i]!;
      },
      points: xs,
    };
  }
  if (!column.numeric) return null;
  const view = new DigestView(column.numeric.digest);
  return { n: view.total, cdf: (x) => view.cdf(x), quantile: (q) => view.quantile(q), points: [column.numeric.min, ...view.means, column.numeric.max] };
}

/** PSI over the reference's deciles: Σ (current - reference) ln(current / reference) per bin. */
function psi(reference: Distribution, current: Distribution): number {
  const edges = [...new Set(Array.from({ length: PSI_BINS - 1 }, (_, i) => reference.quantile((i + 1) / PSI_BINS)))].sort((a, b) => a - b);
  let total = 0;
  let refBelow = 0;
  let curBelow = 0;
  for (let i = 0; i <= edges.length; i++) {
    const refUpTo = i < edges.length ? reference.cdf(edges[i]!) : 1;
    const curUpTo = i < edges.length ? current.cdf(edges[i]!) : 1;
    const e = Math.max(refUpTo - refBelow, EMPTY_BIN);
    const a = Math.max(curUpTo - curBelow, EMPTY_BIN);
    total += (a - e) * Math.log(a / e);
    refBelow = refUpTo;
    curBelow = curUpTo;
  }
  return total;
}

/** The largest gap between the two CDFs, over every point where either changes. */
function ksStatistic(reference: Distribution, current: Distribution): number {
  let d = 0;
  for (const points of [reference.points, current.points]) {
    for (const x of points) {
      const gap = Math.abs(reference.cdf(x) - current.cdf(x));
      if (gap > d) d = gap;
    }
  }
  return d;
}

/**
 * The two columns' category counts on common bins: a category listed on one side is its own bin
 * when the other side's count is known too (listed, or absent from a complete list: zero); every
 * other value falls into one "other" bin on each side.
 */
function categoryBins(reference: ColumnProfile, current: ColumnProfile): { ref: number[]; cur: number[] } {
  const refMap = new Map(reference.categories?.values ?? []);
  const curMap = new Map(current.categories?.values ?? []);
  const known = (map: Map<string, number>, complete: boolean | undefined, key: string) => map.has(key) || Boolean(complete);
  const keys = [...new Set([...refMap.keys(), ...curMap.keys()])].filter(
    (k) => known(refMap, reference.categories?.complete, k) && known(curMap, current.categories?.complete, k),
  );
  const ref = keys.map((k) => refMap.get(k) ?? 0);
  const cur = keys.map((k) => curMap.get(k) ?? 0);
  const refOther = reference.count - ref.reduce((s, n) => s + n, 0);
  const curOther = current.count - cur.reduce((s, n) => s + n, 0);
  if (refOther > 0 || curOther > 0) {
    ref.push(Math.max(0, refOther));
    cur.push(Math.max(0, curOther));
  }
  return { ref, cur };
}

/** Pearson's chi-squared test of homogeneity on a 2 x k table. */
function chiSquared(ref: number[], cur: number[]): { statistic: number; pValue: number } {
  const n1 = ref.reduce((s, n) => s + n, 0);
  const n2 = cur.reduce((s, n) => s + n, 0);
  const n = n1 + n2;
  let statistic = 0;
  let used = 0;
  for (let i = 0; i < ref.length; i++) {
    const column = ref[i]! + cur[i]!;
    if (column === 0) continue;
    used++;
    const e1 = (n1 * column) / n;
    const e2 = (n2 * column) / n;
    statistic += (ref[i]! - e1) ** 2 / e1 + (cur[i]! - e2) ** 2 / e2;
  }
  return { statistic, pValue: chiSquaredSurvival(statistic, used - 1) };
}

/** The Jensen-Shannon distance: the square root of the divergence, in nats (scipy's default). */
function jensenShannon(ref: number[], cur: number[]): number {
  const n1 = ref.reduce((s, n) => s + n, 0);
  const n2 = cur.reduce((s, n) => s + n, 0);
  let divergence = 0;
  for (let i = 0; i < ref.length; i++) {
    const p = ref[i]! / n1;
    const q = cur[i]! / n2;
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log(q / m);
  }
  return Math.sqrt(Math.max(0, divergence));
}

const round = (n: number) => Number(n.toPrecision(6));

/** Compare one column of the current data with the reference's. */
export function columnDrift(reference: ColumnProfile, current: ColumnProfile, thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS): ColumnDrift {
  const base = { column: reference.name, type: reference.type, referenceCount: reference.count, currentCount: current.count };
  if (current.count === 0 || reference.count === 0) {
    return { ...base, tests: [], drifted: reference.count !== current.count, note: current.count === 0 ? 'no values in the current data' : 'no values in the reference' };
  }
  const typeChanged = reference.type !== current.type && !(isNumeric(reference.type) && isNumeric(current.type));
  const note = typeChanged ? `type changed from ${reference.type} to ${current.type}` : undefined;
  const tests: DriftTest[] = [];
  if (isNumeric(reference.type) && isNumeric(current.type)) {
    const ref = distribution(reference);
    const cur = distribution(current);
    if (ref && cur) {
      const p = psi(ref, cur);
      tests.push({ test: 'psi', statistic: round(p), pValue: null, threshold: thresholds.psi, drifted: p >= thresholds.psi });
      const d = ksStatistic(ref, cur);
      const pValue = ksPValue(d, ref.n, cur.n);
      tests.push({ test: 'ks', statistic: round(d), pValue: round(pValue), threshold: thresholds.ks, drifted: d >= thresholds.ks && pValue < thresholds.pValue });
    }
  } else if (isCategorical(reference.type) || isCategorical(current.type)) {
    const { ref, cur } = categoryBins(reference, current);
    const chi = chiSquared(ref, cur);
    const js = jensenShannon(ref, cur);
    const drifted = js >= thresholds.jensenShannon && chi.pValue < thresholds.pValue;
    tests.push({ test: 'chi-squared', statistic: round(chi.statistic), pValue: round(chi.pValue), threshold: thresholds.pValue, drifted });
    tests.push({ test: 'jensen-shannon', statistic: round(js), pValue: null, threshold: thresholds.jensenShannon, drifted });
  } else {
    return { ...base, tests, drifted: typeChanged, note: note ?? `${reference.type} columns are checked by expectations (freshness), not drift` };
  }
  return { ...base, tests, drifted: typeChanged || tests.some((t) => t.drifted), ...(note ? { note } : {}) };
}

/** Every column of the reference (or `only` those) against the current profile: profiles in, no rows read. */
export function compareProfiles(reference: DatasetProfile, current: DatasetProfile, thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS, only?: string[]): DriftReport {
  const currentColumns = new Map(current.columns.map((c) => [c.name, c]));
  const wanted = only ? new Set(only) : null;
  const columns: ColumnDrift[] = [];
  for (const ref of reference.columns) {
    if (wanted && !wanted.has(ref.name)) continue;
    const cur = currentColumns.get(ref.name);
    if (!cur) {
      columns.push({ column: ref.name, type: ref.type, referenceCount: ref.count, currentCount: 0, tests: [], drifted: true, note: 'missing from the current data' });
      continue;
    }
    columns.push(columnDrift(ref, cur, thresholds));
  }
  return { thresholds, columns, drifted: columns.filter((c) => c.drifted).map((c) => c.column) };
}
