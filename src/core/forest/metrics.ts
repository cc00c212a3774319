/** Holdout metrics. AUC counts ties as half, like scikit-learn's roc_auc_score. */

export function auc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number | null {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (positive[order[k]!]) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface BinaryMetrics {
  auc: number | null;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

export function binaryMetrics(scores: ArrayLike<number>, positive: ArrayLike<boolean>, threshold = 0.5): BinaryMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i]! >= threshold;
    if (flagged && positive[i]) tp++;
    else if (flagged) fp++;
    else if (positive[i]) fn++;
    else tn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return {
    auc: auc(scores, positive),
    accuracy: (tp + tn) / Math.max(1, scores.length),
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
  };
}

/** Accuracy and macro-averaged F1 over the classes. */
export function multiclassMetrics(predicted: ArrayLike<number>, actual: ArrayLike<number>, nClasses: number): { accuracy: number; f1: number } {
  let correct = 0;
  const tp = new Array<number>(nClasses).fill(0);
  const predictedCount = new Array<number>(nClasses).fill(0);
  const actualCount = new Array<number>(nClasses).fill(0);
  for (let i = 0; i < predicted.length; i++) {
    predictedCount[predicted[i]!]!++;
    actualCount[actual[i]!]!++;
    if (predicted[i] === actual[i]) {
      correct++;
      tp[actual[i]!]!++;
    }
  }
  let f1Sum = 0;
  for (let c = 0; c < nClasses; c++) {
    const precision = predictedCount[c] ? tp[c]! / predictedCount[c]! : 0;
    const recall = actualCount[c] ? tp[c]! / actualCount[c]! : 0;
    f1Sum += precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  }
  return { accuracy: correct / Math.max(1, predicted.length), f1: f1Sum / nClasses };
}

export function regressionMetrics(predicted: ArrayLike<number>, actual: ArrayLike<number>): { rmse: number; mae: number; r2: number } {
  const n = Math.max(1, predicted.length);
  let mean = 0;
  for (let i = 0; i < actual.length; i++) mean += actual[i]! / n;
  let squared = 0;
  let absolute = 0;
  let totalSquares = 0;
  for (let i = 0; i < predicted.length; i++) {
    const error = predicted[i]! - actual[i]!;
    squared += error * error;
    absolute += Math.abs(error);
    totalSquares += (actual[i]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(squared / n), mae: absolute / n, r2: totalSquares === 0 ? 0 : 1 - squared / totalSquares };
}
