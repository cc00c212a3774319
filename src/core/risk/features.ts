/**
 * The commit model's inputs: the mined features, and the author's recent fix-inducing rate, which
 * needs the labels (and when each became known), so it is computed from the ledger, not the pass.
 */
import type { CommitLabel, StoredCommit } from '../../ledger/index.js';
import { MINED_FEATURES } from './mine.js';

/** How many of the author's previous commits `arate` looks back on. */
export const RECENT_COMMITS = 20;

/** The commit model's feature names: the mined ones, then `arate`. */
export const MODEL_FEATURES: readonly string[] = [...MINED_FEATURES, 'arate'];

/**
 * When each labelled commit became known to be bug-inducing (unix seconds): an SZZ label when its
 * fix was committed, a revert's when the revert was, a release's when it was recorded.
 */
export function labelKnownAt(commits: StoredCommit[], labels: CommitLabel[]): Map<string, number> {
  const at = new Map(commits.map((c) => [c.sha, c.at]));
  const known = new Map<string, number>();
  for (const label of labels) {
    const by = /^(?:fix|revert) ([0-9a-f]{40})$/.exec(label.evidence)?.[1];
    const when = by ? (at.get(by) ?? Infinity) : (label.at ?? 0) / 1000;
    known.set(label.sha, Math.min(known.get(label.sha) ?? Infinity, when));
  }
  return known;
}

/**
 * Per commit, the share of its author's previous RECENT_COMMITS commits that were known to be
 * bug-inducing at its time (0 for a first commit): what a reviewer would know of the author then.
 */
export function authorFixInducingRate(commits: StoredCommit[], knownAt: Map<string, number>): Float64Array {
  const rate = new Float64Array(commits.length);
  const recent = new Map<string, StoredCommit[]>();
  commits.forEach((c, i) => {
    const previous = recent.get(c.author) ?? [];
    if (previous.length) rate[i] = previous.filter((p) => (knownAt.get(p.sha) ?? Infinity) <= c.at).length / previous.length;
    previous.push(c);
    if (previous.length > RECENT_COMMITS) previous.shift();
    recent.set(c.author, previous);
  });
  return rate;
}

/**
 * Columns of `names` for `rows` (a subset of `history`, oldest first): a name the commits lack
 * (a model trained before a feature existed asks for what it knows) is 0.
 */
export function featureColumns(names: readonly string[], rows: StoredCommit[], history: StoredCommit[], labels: CommitLabel[]): Float64Array[] {
  const index = new Map(MINED_FEATURES.map((name, i) => [name, i]));
  let arate: Float64Array | null = null;
  if (names.includes('arate')) {
    const all = authorFixInducingRate(history, labelKnownAt(history, labels));
    const position = new Map(history.map((c, i) => [c.sha, i]));
    arate = Float64Array.from(rows, (c) => all[position.get(c.sha) ?? -1] ?? 0);
  }
  return names.map((name) => {
    if (name === 'arate') return arate!;
    const i = index.get(name);
    return Float64Array.from(rows, (c) => (i === undefined ? 0 : (c.features[i] ?? 0)));
  });
}
