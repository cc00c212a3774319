import type { GitRepo } from './git.js';

const AUTHORS = [
  { name: 'Ada', email: 'ada@example.test' },
  { name: 'Bob', email: 'bob@example.test' },
  { name: 'Cy', email: 'cy@example.test' },
];

/**
 * A history with known bugs: every fourth commit, by a newcomer, writes a "buggy" line into a
 * module that a later "fix:" commit rewrites.
 */
export function growHistory(p: GitRepo, commits: number): void {
  const modules: Record<string, string[]> = {};
  let pendingBug: { file: string; line: string } | null = null;
  for (let i = 0; i < commits; i++) {
    const date = new Date(Date.UTC(2025, 0, 1 + i)).toISOString();
    const file = `app/${['api', 'db', 'ui'][i % 3]}/module${i % 5}.js`;
    const body = (modules[file] ??= [`// ${file}`]);
    if (pendingBug && i % 4 === 2) {
      const target = modules[pendingBug.file]!;
      target[target.indexOf(pendingBug.line)] = `export const fixed${i} = true;`;
      p.commit({ [pendingBug.file]: `${target.join('\n')}\n` }, `fix: repair ${pendingBug.file}`, { author: AUTHORS[0], date });
      pendingBug = null;
      continue;
    }
    const buggy = i % 4 === 0;
    const added = Array.from({ length: buggy ? 30 : 3 }, (_, k) => `export const v${i}_${k} = ${k};`);
    body.push(...added);
    if (buggy) pendingBug = { file, line: added[7]! };
    p.commit({ [file]: `${body.join('\n')}\n` }, `change ${i}`, { author: buggy ? AUTHORS[2] : AUTHORS[1], date });
  }
}
