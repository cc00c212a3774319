// The SZZ of ops before the git process pool, kept as the benchmark's baseline: per fix one `git
// show -U0`, then one `git blame --porcelain -w` per file, through execa, 2 x cores fixes at a time.
// Usage: node szz-before.js <repo> <file of fix shas>; prints {"fixes", "seconds"}.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { execa } from 'execa';
import { pool } from '../src/core/pool.js';
import { lineRanges } from '../src/core/risk/szz.js';

const COMMENT_OR_BLANK = /^\s*(\/\/|#|\/\*|\*|\*\/|<!--|--|;|%|$)/;

function removedLines(diff: string): Map<string, number[]> {
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
      line = Number(/^@@ -(\d+)/.exec(text)?.[1] ?? 0);
      continue;
    }
    if (path === null) continue;
    if (text.startsWith('-')) {
      if (!COMMENT_OR_BLANK.test(text.slice(1))) byFile.set(path, [...(byFile.get(path) ?? []), line]);
      line++;
    }
  }
  return byFile;
}

const [repo, list] = process.argv.slice(2);
const fixes = readFileSync(list!, 'utf8').split('\n').filter(Boolean);
const git = async (args: string[]) => (await execa('git', ['-c', 'core.quotepath=off', ...args], { cwd: repo, reject: false, stdin: 'ignore' })).stdout;
const started = performance.now();
let blamed = 0;
await pool(fixes, Math.max(2, availableParallelism() * 2), async (fix) => {
  const diff = await git(['show', '-U0', '-M', '--format=', '--no-color', '--no-ext-diff', fix]);
  for (const [path, lines] of removedLines(diff)) {
    const porcelain = await git(['blame', '--porcelain', '-w', ...lineRanges(lines), `${fix}^`, '--', path]);
    blamed += porcelain.length > 0 ? 1 : 0;
  }
});
process.stdout.write(`${JSON.stringify({ fixes: fixes.length, blamed, seconds: (performance.now() - started) / 1000 })}\n`);
