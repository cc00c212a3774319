/**
 * LApredict (Zeng et al., "Deep just-in-time defect prediction: how far are we?", ISSTA 2021): a
 * logistic regression on lines added (`la`) alone, which matched deep models on their data sets.
 * The forest must beat it on the same held-out rows to earn its keep.
 */
import { auc } from '../forest/metrics.js';

export interface Baseline {
  /** AUC of the held-out rows ranked by `la` itself. */
  la: number | null;
  /** AUC of a logistic regression on `la`, fitted on the training rows. */
  logisticLa: number | null;
}

/**
 * A one-feature logistic regression by Newton's method, on the standardised feature with scikit-
 * learn's default L2 penalty (C = 1). Returns the slope and intercept on the original scale.
 */
export function logisticRegression1d(x: ArrayLike<number>, y: ArrayLike<number>, iterations = 50): { intercept: number; slope: number } {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i]! - mean) ** 2;
  const sd = Math.sqrt(variance / n) || 1;
  let b0 = 0;
  let b1 = 0;
  for (let iteration = 0; iteration < iterations; iteration++) {
    // Gradient and Hessian of the penalised negative log-likelihood (the intercept is not penalised).
    let g0 = 0;
    let g1 = b1;
    let h00 = 0;
    let h01 = 0;
    let h11 = 1;
    for (let i = 0; i < n; i++) {
      const z = (x[i]! - mean) / sd;
      const p = 1 / (1 + Math.exp(-(b0 + b1 * z)));
      const w = p * (1 - p);
      g0 += p - y[i]!;
      g1 += (p - y[i]!) * z;
      h00 += w;
      h01 += w * z;
      h11 += w * z * z;
    }
    const det = h00 * h11 - h01 * h01;
    if (!(det > 1e-12)) break;
    const d0 = (h11 * g0 - h01 * g1) / det;
    const d1 = (h00 * g1 - h01 * g0) / det;
    b0 -= d0;
    b1 -= d1;
    if (Math.abs(d0) + Math.abs(d1) < 1e-10) break;
  }
  return { intercept: b0 - (b1 * mean) / sd, slope: b1 / sd };
}

/** LApredict's figures on the held-out rows: `la` ranked as is, and the regression's probabilities. */
export function laBaseline(trainLa: ArrayLike<number>, trainY: ArrayLike<number>, testLa: ArrayLike<number>, testPositive: boolean[]): Baseline {
  const { intercept, slope } = logisticRegression1d(trainLa, trainY);
  const probabilities = Float64Array.from(testLa as ArrayLike<number>, (v) => 1 / (1 + Math.exp(-(intercept + slope * v))));
  return { la: auc(testLa, testPositive), logisticLa: auc(probabilities, testPositive) };
}

/** The better of the two baseline AUCs (what the forest has to beat). */
export function baselineAuc(baseline: Baseline): number | null {
  const values = [baseline.la, baseline.logisticLa].filter((v): v is number => v != null);
  return values.length ? Math.max(...values) : null;
}
