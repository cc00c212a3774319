/**
 * The 14 just-in-time change features of Kamei et al. (TSE 2013), mined in one chronological pass
 * over `git log --raw --numstat` with per-file and per-author state carried through the pass.
 */

export const FEATURE_NAMES = ['ns', 'nd', 'nf', 'entropy', 'la', 'ld', 'lt', 'fix', 'ndev', 'age', 'nuc', 'exp', 'rexp', 'sexp'] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

export interface MinedCommit {
  sha: string;
  /** Unix seconds (author date). */
  at: number;
  author: string;
  subject: string;
  /** Values in FEATURE_NAMES order. */
  features: number[];
}

interface FileState {
  lines: number;
  authors: string[];
  lastAt: number;
  /** Sequence numbers of the commits that changed the file. */
  changes: number[];
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
  /** The HEAD the pass reached; the next one mines `head..HEAD`. */
  head: string | null;
  count: number;
  files: Record<string, FileState>;
  authors: Record<string, AuthorState>;
}

export const emptyMiningState = (): MiningState => ({ head: null, count: 0, files: {}, authors: {} });

/** The default fix pattern (case-sensitive): fix/bug/defect words, or issue and ticket references (#12, issue 12, OPS-12). */
export const DEFAULT_FIX_PATTERN = String.raw`\b([Ff]ix(e[sd]|ing)?|FIX|[Bb]ugs?|BUG|[Dd]efects?|[Hh]otfix|[Pp]atch)\b|#\d+|\b[Ii]ssue\s*#?\d+|\b[A-Z][A-Z0-9]+-\d+\b`;

/** `git log` arguments whose output `parseLog` reads. */
export function logArguments(range: string | null): string[] {
  return ['log', '--reverse', '--date-order', '--no-merges', '-M', '--raw', '--numstat', '-z', '--format=%x1e%H%x1f%at%x1f%ae%x1f%s', ...(range ? [range] : [])];
}

interface FileChange {
  path: string;
  /** The path before a rename. */
  from?: string;
  status: string;
  added: number;
  deleted: number;
}

interface RawCommit {
  sha: string;
  at: number;
  author: string;
  subject: string;
  changes: FileChange[];
}

/** Split `git log` output into commits and their file changes (renames followed, binaries as 0 lines). */
export function* parseLog(output: string): Generator<RawCommit> {
  for (const record of output.split('\x1e')) {
    if (!record) continue;
    const headerEnd = record.indexOf('\0');
    const header = (headerEnd < 0 ? record : record.slice(0, headerEnd)).split('\x1f');
    const tokens = headerEnd < 0 ? [] : record.slice(headerEnd + 1).replace(/^\n/, '').split('\0');
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
    yield { sha: header[0]!, at: Number(header[1]), author: header[2]!, subject: header[3] ?? '', changes };
  }
}

const DAY = 86_400;
const yearOf = (at: number) => new Date(at * 1000).getUTCFullYear();
const subsystemOf = (path: string) => (path.includes('/') ? path.slice(0, path.indexOf('/')) : '');
const directoryOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

/** Compute each commit's features from the state before it, then fold the commit into the state. */
export function mineCommits(output: string, state: MiningState, fixPattern: RegExp): MinedCommit[] {
  const mined: MinedCommit[] = [];
  for (const commit of parseLog(output)) {
    const seq = state.count++;
    const subsystems = new Set<string>();
    const directories = new Set<string>();
    const developers = new Set<string>();
    const priorChanges = new Set<number>();
    let la = 0;
    let ld = 0;
    let lt = 0;
    let ageSum = 0;
    let aged = 0;
    for (const change of commit.changes) {
      subsystems.add(subsystemOf(change.path));
      directories.add(directoryOf(change.path));
      la += change.added;
      ld += change.deleted;
      const before = state.files[change.from ?? change.path];
      if (before && change.status !== 'A') {
        lt += before.lines;
        for (const author of before.authors) developers.add(author);
        for (const id of before.changes) priorChanges.add(id);
        ageSum += Math.max(0, commit.at - before.lastAt) / DAY;
        aged++;
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
      fixPattern.test(commit.subject) ? 1 : 0,
      developers.size,
      aged ? ageSum / aged : 0,
      priorChanges.size,
      author.changes,
      rexp,
      sexp,
    ];
    mined.push({ sha: commit.sha, at: commit.at, author: commit.author, subject: commit.subject, features });

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
            ? { lines: previous.lines, authors: [...previous.authors], lastAt: previous.lastAt, changes: [...previous.changes] }
            : previous
          : { lines: 0, authors: [], lastAt: commit.at, changes: [] };
      file.lines = Math.max(0, file.lines + change.added - change.deleted);
      if (!file.authors.includes(commit.author)) file.authors.push(commit.author);
      file.lastAt = commit.at;
      file.changes.push(seq);
      state.files[change.path] = file;
    }
    author.changes++;
    author.years[year] = (author.years[year] ?? 0) + 1;
    for (const subsystem of subsystems) author.subsystems[subsystem] = (author.subsystems[subsystem] ?? 0) + 1;
    state.authors[commit.author] = author;
  }
  return mined;
}
