// The README's links hold: every in-page anchor names a heading (GitHub's slugs), every relative
// link names a file of the repository.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from './helpers/ops.js';

/** GitHub's heading anchor: lower case, punctuation dropped (but `-` and `_`), spaces to `-`; repeats get -1, -2. */
function slugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

describe('README links', () => {
  it('every #anchor names a heading and every relative link a file', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const anchors = slugs(readme);
    const prose = readme.replace(/^\s*```[\s\S]*?^\s*```/gm, '');
    const links = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    assert.ok(links.some((l) => l.startsWith('#')), 'the README links within itself');
    for (const link of links) {
      if (/^[a-z]+:/.test(link)) continue;
      if (link.startsWith('#')) assert.ok(anchors.has(link.slice(1)), `README links to ${link}, which no heading makes`);
      else assert.ok(existsSync(join(PROJECT_ROOT, link.split('#')[0]!)), `README links to ${link}, which is not a file`);
    }
  });
});
