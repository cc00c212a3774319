import { auc } from '../forest/metrics.js';

/** A release the risk gate scored, and whether it failed (failed, rolled back, or an incident's cause). */
export interface ScoredOutcome {
  risk: number;
  failed: boolean;
}

export interface CalibrationBin {
  from: number;
  to: number;
  releases: number;
  failures: number;
  meanPredicted: number | null;
  failureRate: number | null;
}

export interface ThresholdQuality {
  name: string;
  threshold: number;
  /** Scored releases at or above the threshold: what a gate there would have stopped (block) or flagged (warn). */
  atOrAbove: number;
  failuresCaught: number;
  precision: number | null;
  recall: number | null;
}

export interface RiskQuality {
  scored: number;
  failures: number;
  auc: number | null;
  calibration: CalibrationBin[];
  thresholds: ThresholdQuality[];
}

/**
 * How well the scorer's probabilities matched the ledger's own outcomes: AUC, a reliability table of
 * ten predicted-risk deciles (0-0.1 ... 0.9-1) against the observed failure rate, and precision and
 * recall of a gate at each threshold.
 */
export function riskQuality(outcomes: ScoredOutcome[], thresholds: Array<{ name: string; threshold: number }>): RiskQuality {
  const failures = outcomes.filter((o) => o.failed).length;
  const calibration: CalibrationBin[] = Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, releases: 0, failures: 0, meanPredicted: null, failureRate: null }));
  const sums = new Array<number>(10).fill(0);
  for (const o of outcomes) {
    const bin = Math.min(9, Math.max(0, Math.floor(o.risk * 10)));
    calibration[bin]!.releases++;
    if (o.failed) calibration[bin]!.failures++;
    sums[bin]! += o.risk;
  }
  calibration.forEach((bin, i) => {
    if (bin.releases === 0) return;
    bin.meanPredicted = sums[i]! / bin.releases;
    bin.failureRate = bin.failures / bin.releases;
  });
  return {
    scored: outcomes.length,
    failures,
    auc: auc(
      outcomes.map((o) => o.risk),
      outcomes.map((o) => o.failed),
    ),
    calibration,
    thresholds: thresholds.map(({ name, threshold }) => {
      const flagged = outcomes.filter((o) => o.risk >= threshold);
      const caught = flagged.filter((o) => o.failed).length;
      return {
        name,
        threshold,
        atOrAbove: flagged.length,
        failuresCaught: caught,
        precision: flagged.length ? caught / flagged.length : null,
        recall: failures ? caught / failures : null,
      };
    }),
  };
}
