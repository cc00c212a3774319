/**
 * SZZ: the lines a fix deletes or changes were, most likely, where the bug was; `git blame` on the
 * fix's parent names the commits that wrote them. Blank and comment-only lines are skipped.
 */

const COMMENT_OR_BLANK = /^\s*(\/\/|#|\/\*|\*|\*\/|<!--|--|;|%|$)/;

/** Old-file line numbers a diff removes, per old path (`git show -U0` output). */
export function removedLines(diff: string): Map<string, number[]> {
  const byFile = new Map<string, number[]>();
  let path: string | null = null;
  let line = 0;
  for (const text of diff.split('\n')) {
    if (text.startsWith('--- ')) {
      path = text === '--- /dev/null' ? null : text.slice(6);
      continue;
    }
    if (text.startsWith('+++ ') || text.startsWith('diff --git')) continue;
    if (text.startsWith('@@')) {
      const match = /^@@ -(\d+)/.exec(text);
      line = match ? Number(match[1]) : 0;
      continue;
    }
    if (path === null) continue;
    if (text.startsWith('-')) {
      if (!COMMENT_OR_BLANK.test(text.slice(1))) {
        const lines = byFile.get(path) ?? [];
        lines.push(line);
        byFile.set(path, lines);
      }
      line++;
    }
  }
  return byFile;
}

/** `-L a,b` arguments covering the lines, consecutive ones merged. */
export function lineRanges(lines: number[]): string[] {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push('-L', `${sorted[i]},${sorted[j]}`);
    i = j + 1;
  }
  return ranges;
}

/** Commits named by `git blame --porcelain`. */
export function blamedCommits(porcelain: string): Set<string> {
  const commits = new Set<string>();
  for (const line of porcelain.split('\n')) {
    const match = /^([0-9a-f]{40}) \d+ \d+/.exec(line);
    if (match) commits.add(match[1]!);
  }
  return commits;
}
