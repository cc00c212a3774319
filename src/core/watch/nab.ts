/**
 * The Numenta Anomaly Benchmark's scoring (numenta/NAB, nab/sweeper.py): per profile, the one
 * threshold over all files that maximises the summed score, normalised so that the null detector
 * scores 0 and the perfect one 100.
 */

export interface CostMatrix {
  tpWeight: number;
  fnWeight: number;
  fpWeight: number;
}

export const NAB_PROFILES: Record<string, CostMatrix> = {
  standard: { tpWeight: 1, fnWeight: 1, fpWeight: 0.11 },
  reward_low_FP_rate: { tpWeight: 1, fnWeight: 1, fpWeight: 0.22 },
  reward_low_FN_rate: { tpWeight: 1, fnWeight: 2, fpWeight: 0.11 },
};

/** NAB's scaled sigmoid: ~1 early in a window, falling to -1 far past it. */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/** The rows NAB does not score at the start of a file: 15% of it, at most 750. */
export function probationPeriod(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 0.15 * 5000);
}

export interface ScoredFile {
  /** Anomaly scores in [0, 1], one per row. */
  scores: ArrayLike<number>;
  /** Row indices [first, last] of each labelled window, in order. */
  windows: Array<[number, number]>;
}

interface Point {
  score: number;
  /** What a detection here is worth with a weight of 1 (TP: sigmoid of position; FP: negative). */
  tpValue: number;
  fpValue: number;
  /** Global window id, or -1 outside windows. */
  window: number;
}

function pointsOf(file: ScoredFile, firstWindowId: number): Point[] {
  const points: Point[] = [];
  const n = file.scores.length;
  const probation = probationPeriod(n);
  let next = 0;
  let current: [number, number] | null = null;
  let currentId = -1;
  let previous: [number, number] | null = null;
  for (let i = 0; i < n; i++) {
    if (!current && next < file.windows.length && i >= file.windows[next]![0]) {
      current = file.windows[next]!;
      currentId = firstWindowId + next;
      next++;
    }
    let tpValue = 0;
    let fpValue = 0;
    if (current) {
      const width = current[1] - current[0] + 1;
      tpValue = scaledSigmoid(-(current[1] - i + 1) / width);
    } else if (previous) {
      const width = previous[1] - previous[0] + 1;
      fpValue = scaledSigmoid(Math.abs(previous[1] - i) / (width - 1));
    } else {
      fpValue = -1;
    }
    if (i >= probation) points.push({ score: file.scores[i]!, tpValue, fpValue, window: current ? currentId : -1 });
    if (current && i === current[1]) {
      previous = current;
      current = null;
    }
  }
  return points;
}

export interface ProfileScore {
  profile: string;
  threshold: number;
  raw: number;
  score: number;
  tp: number;
  fp: number;
  fn: number;
}

/** Normalised per profile: the null detector (never detects) 0, the perfect one (every window at its first row) 100. */
export function nabScore(files: ScoredFile[]): ProfileScore[] {
  const perfect = bestRaw(files.map((f) => ({ windows: f.windows, scores: perfectScores(f.scores.length, f.windows) })));
  const windows = files.reduce((sum, f) => sum + f.windows.length, 0);
  return bestRaw(files).map((best, p) => {
    const nullScore = -windows * NAB_PROFILES[best.profile]!.fnWeight;
    return { ...best, score: (100 * (best.raw - nullScore)) / (perfect[p]!.raw - nullScore) };
  });
}

function perfectScores(rows: number, windows: Array<[number, number]>): Float64Array {
  const scores = new Float64Array(rows);
  for (const [first, last] of windows) scores.fill(1, first, last + 1);
  return scores;
}

/** Sweep every threshold over all files at once and keep the best raw score, per profile. */
function bestRaw(files: ScoredFile[]): Array<Omit<ProfileScore, 'score'>> {
  const points: Point[] = [];
  let windows = 0;
  for (const file of files) {
    points.push(...pointsOf(file, windows));
    windows += file.windows.length;
  }
  points.sort((a, b) => b.score - a.score);
  return Object.entries(NAB_PROFILES).map(([profile, cost]) => {
    const best = new Map<number, number>();
    let tpScore = 0;
    let fpScore = 0;
    let fnScore = -windows * cost.fnWeight;
    let tp = 0;
    let fp = 0;
    // No detection at all: every window missed.
    let top = { threshold: 1.1, raw: fnScore, tp: 0, fp: 0 };
    for (let i = 0; i < points.length; i++) {
      const point = points[i]!;
      if (point.window < 0) {
        fpScore += point.fpValue * cost.fpWeight;
        fp++;
      } else {
        const value = point.tpValue * cost.tpWeight;
        const seen = best.get(point.window);
        if (seen === undefined) {
          tpScore += value;
          fnScore += cost.fnWeight;
          tp++;
          best.set(point.window, value);
        } else if (value > seen) {
          tpScore += value - seen;
          best.set(point.window, value);
        }
      }
      // A threshold sits between distinct scores: equal scores are detected together.
      if (i + 1 === points.length || points[i + 1]!.score !== point.score) {
        const raw = tpScore + fpScore + fnScore;
        if (raw > top.raw) top = { threshold: point.score, raw, tp, fp };
      }
    }
    return { profile, threshold: top.threshold, raw: top.raw, tp: top.tp, fp: top.fp, fn: windows - top.tp };
  });
}

/** Row indices of NAB's windows (timestamps "YYYY-MM-DD hh:mm:ss[.ffffff]", UTC) in a file's timestamps. */
export function windowRows(timestamps: ArrayLike<number>, windows: Array<[string, string]>): Array<[number, number]> {
  const parse = (text: string) => Date.parse(`${text.trim().replace(' ', 'T').slice(0, 23)}Z`);
  const rows: Array<[number, number]> = [];
  for (const [start, end] of windows) {
    const [from, to] = [parse(start), parse(end)];
    let first = -1;
    let last = -1;
    for (let i = 0; i < timestamps.length; i++) {
      if (timestamps[i]! >= from && first < 0) first = i;
      if (timestamps[i]! <= to) last = i;
    }
    if (first >= 0 && last >= first) rows.push([first, last]);
  }
  return rows;
}
