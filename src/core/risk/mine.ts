/**
 * Change features mined in one chronological pass over `git log --raw --numstat --patch`, with
 * per-file and per-author state carried through the pass: the 14 just-in-time features of Kamei et
 * al. (TSE 2013), the touched files' history and ownership, and the change's own tokens.
 */
import { classifyCommit, isCorrective, type Classification, type CommitKind, type FixRules } from './labels.js';

export const FEATURE_NAMES = ['ns', 'nd', 'nf', 'entropy', 'la', 'ld', 'lt', 'fix', 'ndev', 'age', 'nuc', 'exp', 'rexp', 'sexp'] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/**
 * The touched files' history: prior fixes (pfix), days since their last change (ltc, the most
 * recent of them) and since their last fix (lfix; since creation when never fixed), the author's
 * share of their prior changes (own), their main owner's share (top), and their minor contributors
 * (under 5% of a file's changes; Bird et al., "Don't touch my code!", FSE 2011). -1 when every file is new.
 */
export const HISTORY_FEATURES = ['pfix', 'ltc', 'lfix', 'own', 'top', 'minor'] as const;

/** Identifiers and keywords of the added (ta*) and removed (tr*) lines, hashed into this many buckets each (as JITLine's bag of tokens). */
export const TOKEN_BUCKETS = 32;
export const TOKEN_FEATURES = [...Array.from({ length: TOKEN_BUCKETS }, (_, i) => `ta${i}`), ...Array.from({ length: TOKEN_BUCKETS }, (_, i) => `tr${i}`)];

/** Everything one mining pass stores per commit, in this order. */
export const MINED_FEATURES: readonly string[] = [...FEATURE_NAMES, ...HISTORY_FEATURES, ...TOKEN_FEATURES];

/** Bumped when the stored features change meaning: a ledger mined by another version is mined again. */
export const MINING_VERSION = 2;

export interface MinedCommit {
  sha: string;
  /** Unix seconds (author date). */
  at: number;
  author: string;
  subject: string;
  /** Values in MINED_FEATURES order. */
  features: number[];
  kind: CommitKind;
  reason: string;
  details: Omit<Classification, 'kind' | 'reason'> | null;
}

interface FileState {
  lines: number;
  /** Changes per author. */
  authors: Record<string, number>;
  createdAt: number;
  lastAt: number;
  lastFixAt: number | null;
  /** Sequence numbers of the commits that changed the file, and of the fixes among them. */
  changes: number[];
  fixes: number[];
}

interface AuthorState {
  changes: number;
  /** Changes per calendar year (for REXP). */
  years: Record<string, number>;
  /** Changes per subsystem (for SEXP). */
  subsystems: Record<string, number>;
}

/** Everything the pass carries: JSON-serialisable, so a later run continues where this one stopped. */
export interface MiningState {
  version: number;
  /** The fix rules the pass classified with (a digest): other rules mean mining again. */
  rules: string;
  /** The HEAD the pass reached; the next one mines `head..HEAD`. */
  head: string | null;
  count: number;
  files: Record<string, FileState>;
  authors: Record<string, AuthorState>;
}

export const emptyMiningState = (rules: string): MiningState => ({ version: MINING_VERSION, rules, head: null, count: 0, files: {}, authors: {} });

/**
 * Each commit's record starts with a NUL, an RS and this run's random marker: a message cannot hold
 * a NUL, and a text file with a NUL past git's binary check would have to hold the marker too.
 */
export function recordSeparator(marker: string): string {
  return `\0\x1e${marker}\x1e`;
}

/** `git log` arguments whose output `parseRecord` reads, oldest first. */
export function logArguments(range: string | null, marker: string): string[] {
  return ['log', '--reverse', '--date-order', '--no-merges', '-M', '--raw', '--numstat', '--patch', '-U0', '--no-color', '--no-ext-diff', '-z', `--format=%x00%x1e${marker}%x1e%H%x1f%at%x1f%ae%x1f%B`, ...(range ? [range] : [])];
}

interface FileChange {
  path: string;
  /** The path before a rename. */
  from?: string;
  status: string;
  added: number;
  deleted: number;
}

export interface RawCommit {
  sha: string;
  at: number;
  author: string;
  message: string;
  changes: FileChange[];
  /** Hashed token counts of added then removed lines (2 x TOKEN_BUCKETS). */
  tokens: Float64Array;
}

/** Lock files, minified and generated files: their tokens say nothing of the change. */
const GENERATED = /(?:^|\/)(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|Pipfile\.lock|Cargo\.lock|Gemfile\.lock|composer\.lock|go\.sum|[^/]*\.min\.(?:js|css)|[^/]*\.map|[^/]*\.svg|[^/]*\.snap)$/;
/** Past this many changed lines, a commit's further lines add no tokens (a vendored import would cost seconds). */
const MAX_TOKENIZED_LINES = 20_000;
const TOKEN = /[A-Za-z_$][\w$]*/g;

/** FNV-1a of the lower-cased token, into a bucket. */
function bucketOf(token: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) {
    let code = token.charCodeAt(i);
    if (code >= 65 && code <= 90) code += 32;
    hash = Math.imul(hash ^ code, 0x01000193);
  }
  return (hash >>> 0) % TOKEN_BUCKETS;
}

/** Count the tokens of a `-U0` patch's added and removed lines. */
function tokenize(patch: string, tokens: Float64Array): void {
  let skip = false;
  let inHeader = false;
  let lines = 0;
  let start = 0;
  while (start < patch.length && lines < MAX_TOKENIZED_LINES) {
    let end = patch.indexOf('\n', start);
    if (end < 0) end = patch.length;
    const first = patch.charCodeAt(start);
    if (first === 100 /* d */ && patch.startsWith('diff --git ', start)) {
      const header = patch.slice(start, end);
      skip = GENERATED.test(header.slice(header.lastIndexOf(' b/') + 3).replace(/"$/, ''));
      inHeader = true;
    } else if (first === 64 /* @ */ && patch.startsWith('@@', start)) inHeader = false;
    else if (!inHeader && !skip && (first === 43 /* + */ || first === 45 /* - */)) {
      const offset = first === 43 ? 0 : TOKEN_BUCKETS;
      lines++;
      TOKEN.lastIndex = 0;
      const line = patch.slice(start + 1, end);
      for (const match of line.matchAll(TOKEN)) tokens[offset + bucketOf(match[0])]!++;
    }
    start = end + 1;
  }
}

/** One commit of `git log` output (see logArguments): header, file changes, and its patch's tokens. */
export function parseRecord(record: string): RawCommit {
  const headerEnd = record.indexOf('\0');
  const header = (headerEnd < 0 ? record : record.slice(0, headerEnd)).split('\x1f');
  const rest = headerEnd < 0 ? '' : record.slice(headerEnd + 1).replace(/^\n/, '');
  // The raw and numstat entries end at an empty entry; the patch text follows it.
  const patchAt = rest.indexOf('\0\0');
  const tokens = (patchAt < 0 ? rest : rest.slice(0, patchAt)).split('\0');
  const changes: FileChange[] = [];
  const byPath = new Map<string, FileChange>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '' || token === '\n') continue;
    if (token.startsWith(':')) {
      const status = token.slice(token.lastIndexOf(' ') + 1);
      const change: FileChange =
        status[0] === 'R' || status[0] === 'C'
          ? { from: tokens[++i]!, path: tokens[++i]!, status: status[0]!, added: 0, deleted: 0 }
          : { path: tokens[++i]!, status: status[0]!, added: 0, deleted: 0 };
      changes.push(change);
      byPath.set(change.path, change);
      continue;
    }
    const [added, deleted, path] = token.split('\t');
    const target = path === '' ? tokens[(i += 2)]! : path!;
    const change = byPath.get(target);
    if (change && added !== '-') {
      change.added = Number(added);
      change.deleted = Number(deleted);
    }
  }
  const counts = new Float64Array(2 * TOKEN_BUCKETS);
  if (patchAt >= 0) tokenize(rest.slice(patchAt + 2), counts);
  return { sha: header[0]!, at: Number(header[1]), author: header[2]!, message: header.slice(3).join('\x1f').trim(), changes, tokens: counts };
}

const DAY = 86_400;
const MINOR_SHARE = 0.05;
const yearOf = (at: number) => new Date(at * 1000).getUTCFullYear();
const subsystemOf = (path: string) => (path.includes('/') ? path.slice(0, path.indexOf('/')) : '');
const directoryOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

/** Compute a commit's features from the state before it, then fold the commit into the state. */
export function mineCommit(commit: RawCommit, state: MiningState, rules: FixRules): MinedCommit {
  const seq = state.count++;
  const classification = classifyCommit(commit.message, commit.author, rules);
  const corrective = isCorrective(classification.kind);
  const subsystems = new Set<string>();
  const directories = new Set<string>();
  const developers = new Set<string>();
  const priorChanges = new Set<number>();
  const priorFixes = new Set<number>();
  const minor = new Set<string>();
  let la = 0;
  let ld = 0;
  let lt = 0;
  let ageSum = 0;
  let aged = 0;
  let lastChange = Infinity;
  let lastFix = Infinity;
  let own = 0;
  let total = 0;
  let topSum = 0;
  for (const change of commit.changes) {
    subsystems.add(subsystemOf(change.path));
    directories.add(directoryOf(change.path));
    la += change.added;
    ld += change.deleted;
    const before = state.files[change.from ?? change.path];
    if (before && change.status !== 'A') {
      lt += before.lines;
      const since = Math.max(0, commit.at - before.lastAt) / DAY;
      ageSum += since;
      aged++;
      lastChange = Math.min(lastChange, since);
      lastFix = Math.min(lastFix, Math.max(0, commit.at - (before.lastFixAt ?? before.createdAt)) / DAY);
      for (const id of before.changes) priorChanges.add(id);
      for (const id of before.fixes) priorFixes.add(id);
      const changes = before.changes.length;
      let top = 0;
      for (const [author, count] of Object.entries(before.authors)) {
        developers.add(author);
        top = Math.max(top, count);
        if (count / changes < MINOR_SHARE) minor.add(author);
      }
      own += before.authors[commit.author] ?? 0;
      total += changes;
      topSum += changes ? top / changes : 0;
    }
  }
  let entropy = 0;
  const churn = la + ld;
  if (churn > 0) {
    for (const change of commit.changes) {
      const p = (change.added + change.deleted) / churn;
      if (p > 0) entropy -= p * Math.log2(p);
    }
  }
  const author = state.authors[commit.author] ?? { changes: 0, years: {}, subsystems: {} };
  const year = yearOf(commit.at);
  let rexp = 0;
  // Clock skew can date a child before its parent: such a change counts as this year's.
  for (const [y, count] of Object.entries(author.years)) rexp += count / (Math.max(0, year - Number(y)) + 1);
  let sexp = 0;
  for (const subsystem of subsystems) sexp += author.subsystems[subsystem] ?? 0;
  const features = [
    subsystems.size,
    directories.size,
    commit.changes.length,
    entropy,
    la,
    ld,
    lt,
    corrective ? 1 : 0,
    developers.size,
    aged ? ageSum / aged : 0,
    priorChanges.size,
    author.changes,
    rexp,
    sexp,
    priorFixes.size,
    aged ? lastChange : -1,
    aged ? lastFix : -1,
    total ? own / total : aged ? 0 : -1,
    aged ? topSum / aged : -1,
    minor.size,
    ...commit.tokens,
  ];
  const { kind, reason, ...details } = classification;
  const subject = commit.message.split('\n', 1)[0]!;

  for (const change of commit.changes) {
    if (change.status === 'D') {
      delete state.files[change.path];
      continue;
    }
    const previous = state.files[change.from ?? change.path];
    // A rename moves the state; a copy starts from a copy of it.
    if (change.status === 'R' && change.from !== change.path) delete state.files[change.from!];
    const file: FileState =
      previous && change.status !== 'A'
        ? change.status === 'C'
          ? { ...previous, authors: { ...previous.authors }, changes: [...previous.changes], fixes: [...previous.fixes] }
          : previous
        : { lines: 0, authors: {}, createdAt: commit.at, lastAt: commit.at, lastFixAt: null, changes: [], fixes: [] };
    file.lines = Math.max(0, file.lines + change.added - change.deleted);
    file.authors[commit.author] = (file.authors[commit.author] ?? 0) + 1;
    file.lastAt = commit.at;
    file.changes.push(seq);
    if (corrective) {
      file.fixes.push(seq);
      file.lastFixAt = commit.at;
    }
    state.files[change.path] = file;
  }
  author.changes++;
  author.years[year] = (author.years[year] ?? 0) + 1;
  for (const subsystem of subsystems) author.subsystems[subsystem] = (author.subsystems[subsystem] ?? 0) + 1;
  state.authors[commit.author] = author;
  return { sha: commit.sha, at: commit.at, author: commit.author, subject, features, kind, reason, details: Object.keys(details).length ? details : null };
}
