import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classifyCommit, type FixRules } from '../src/core/risk/labels.js';
import { codeLines, parsePatch, blameCandidates } from '../src/core/risk/szz.js';
import { mine, openRepository, runSzz } from '../src/core/risk/index.js';
import { testContext } from './helpers/context.js';
import { gitRepo, type GitRepo } from './helpers/git.js';
import { cleanEnv, runOps, runOpsJson } from './helpers/ops.js';

const RULES: FixRules = { pattern: null, ticketKeys: ['OPS'] };
const kind = (message: string, author = 'dev@example.test', rules = RULES) => classifyCommit(message, author, rules).kind;

describe('fix detection', () => {
  it('reads fixes in context: conventional commits, closing keywords, tracker bugs, configured ticket keys', () => {
    assert.equal(kind('fix(parser): crash on empty input'), 'fix');
    assert.equal(kind('fix: handle a missing header (#7366)'), 'fix');
    assert.equal(kind('net/http: race in Transport\n\nFixes #12345'), 'fix');
    assert.equal(kind('Bug 536724 - [1.8] NPE in the completion engine'), 'fix');
    assert.equal(kind('Fixed a crash when the cache is empty'), 'fix');
    assert.equal(kind('OPS-12 handle empty body'), 'fix', 'a ticket of a configured project key');
    assert.equal(kind('prevent a memory leak in the pool'), 'fix');
  });

  it('does not take a pull request number, a dependency bump, a release, a merge or a cosmetic fix for a fix', () => {
    assert.equal(kind('Add retries to the client (#7598)'), 'other');
    assert.equal(kind('feat: allow conditional revalidation (#7366)'), 'other');
    assert.equal(kind('Bump the actions group with 2 updates (#7596)'), 'bot');
    assert.equal(kind('Bump urllib3 from 1.26.4 to 1.26.5', 'support@github.com'), 'bot');
    assert.equal(kind('chore(deps): update dependency eslint to v9'), 'bot');
    assert.equal(kind('fix(deps): update module golang.org/x/net to v0.23.0'), 'bot');
    assert.equal(kind('Fix the build', '49699333+dependabot[bot]@users.noreply.github.com'), 'bot');
    assert.equal(kind('Release 2.31.0'), 'release');
    assert.equal(kind('v4.18.2'), 'release');
    assert.equal(kind("Merge branch 'main' into feature"), 'merge');
    assert.equal(kind('Merge pull request #12 from ada/fix-crash'), 'merge');
    assert.equal(kind('Fix typo in README'), 'other');
    assert.equal(kind('docs: fix the install section'), 'other');
    assert.equal(kind('fix: typo in the changelog'), 'other');
    assert.equal(kind('Use object with null prototype for settings\n\ncloses #4835'), 'other', '"closes" alone closes features too');
  });

  it('takes ticket keys only from risk.ticketKeys: UTF-8, SHA-256 and PEP-8 are no tickets', () => {
    assert.equal(kind('Support UTF-8 and SHA-256 in digest auth'), 'other');
    assert.equal(kind('Follow PEP-8 in the examples'), 'other');
    assert.equal(kind('JIRA-77 handle empty body'), 'other', 'not a configured key');
    assert.equal(kind('JIRA-77 handle empty body', 'dev@example.test', { pattern: null, ticketKeys: ['JIRA'] }), 'fix');
  });

  it('names a revert\'s target, and lets risk.fixPattern decide instead of the built-in words', () => {
    const revert = classifyCommit('Revert "Add the cache"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.', 'dev@example.test', RULES);
    assert.deepEqual([revert.kind, revert.reverts], ['revert', '0123456789abcdef0123456789abcdef01234567']);
    const custom: FixRules = { pattern: /\[defect\]/, ticketKeys: [] };
    assert.equal(kind('[defect] wrong total', 'dev@example.test', custom), 'fix');
    assert.equal(kind('fix: wrong total', 'dev@example.test', custom), 'other');
    assert.equal(kind('Bump lodash from 4.17.20 to 4.17.21 [defect]', 'dev@example.test', custom), 'bot', 'a bump is never a fix');
  });
});

describe('SZZ filters', () => {
  it('knows comment syntax by file type: strings are code, docstrings and block comments are not', () => {
    const js = ['const a = 1; // one', '// only a comment', '/* block', ' * still', ' */ const b = 2;', 'const url = "http://x";', '', '  '].join('\n');
    assert.deepEqual(codeLines('src/a.js', js), [true, false, false, false, true, true, false, false]);
    const py = ['def f():', '    """Doc', '    more doc', '    """', '    return 1  # one', '# comment', 'x = "#not a comment"'].join('\n');
    assert.deepEqual(codeLines('pkg/a.py', py), [true, false, false, false, true, false, true]);
    // "#" and "--" start comments in Python and SQL, not in C.
    assert.deepEqual(codeLines('a.c', '#include <stdio.h>\n-- not sql\n'), [true, true, false]);
  });

  it('does not blame a line the fix puts back with only its layout changed', () => {
    const [file] = parsePatch(['diff --git a/a.js b/a.js', '--- a/a.js', '+++ b/a.js', '@@ -3,2 +3,2 @@', '-foo(a,b);', '-bar();', '+foo(a, b);', '+baz();'].join('\n'));
    assert.deepEqual(blameCandidates(file!, () => true), [4]);
  });
});

const ADA = { name: 'Ada', email: 'ada@example.test' };
const BOT = { name: 'dependabot[bot]', email: '49699333+dependabot[bot]@users.noreply.github.com' };
const body = (n: number, changed: Record<number, string> = {}) => `${Array.from({ length: n }, (_, i) => changed[i] ?? `export const v${i} = compute(${i});`).join('\n')}\n`;

describe('SZZ on a real repository', () => {
  let repo: GitRepo;
  let dir: string;
  const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();
  const shas: Record<string, string> = {};
  before(() => {
    repo = gitRepo('ops-risk-labels-');
    dir = mkdtempSync(join(tmpdir(), 'ops-risk-labels-ledger-'));
    shas.base = repo.commit({ 'src/a.js': body(20), 'src/b.js': body(20), 'src/c.js': body(20), 'package.json': '{"dependencies": {"x": "1.0.0"}}\n' }, 'initial import', { author: ADA, date: at(1) });
    shas.writesA = repo.commit({ 'src/a.js': body(20, { 5: 'export const v5 = compute(5) + 1;' }) }, 'tune a', { author: ADA, date: at(2) });
    shas.writesB = repo.commit({ 'src/b.js': body(20, { 7: 'export const v7 = compute(7) * 2;' }) }, 'tune b', { author: ADA, date: at(3) });
    // A squash-merged pull request that changes a.js: its number is no fix.
    shas.pr = repo.commit({ 'src/a.js': body(20, { 5: 'export const v5 = compute(5) + 1;', 9: 'export const v9 = 0;' }) }, 'Add the zero case (#7366)', { author: ADA, date: at(4) });
    // A bot's bump rewrites package.json lines: no fix, nothing blamed.
    shas.bump = repo.commit({ 'package.json': '{"dependencies": {"x": "1.0.1"}}\n' }, 'Bump x from 1.0.0 to 1.0.1 (#7596)', { author: BOT, date: at(5) });
    // A fix that only re-indents: nothing of it names a bug.
    shas.whitespace = repo.commit({ 'src/c.js': body(20).replace('export const v3', '    export const v3') }, 'fix: wrong value of v3', { author: ADA, date: at(6) });
    // A revert labels what it reverts, directly.
    shas.reverted = repo.commit({ 'src/c.js': `${body(20).replace('export const v3', '    export const v3')}export const extra = 1;\n` }, 'Add extra', { author: ADA, date: at(7) });
    repo.git('-c', 'commit.gpgsign=false', 'revert', '--no-edit', shas.reverted);
    shas.revert = repo.git('rev-parse', 'HEAD');
    // A merge that writes a line of its own (an "evil merge"), later fixed: blame names the merge.
    repo.git('checkout', '-q', '-b', 'side');
    shas.side = repo.commit({ 'src/side.js': body(5) }, 'side work', { author: ADA, date: at(8) });
    repo.git('checkout', '-q', 'main');
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: ADA.email, GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: ADA.email, GIT_AUTHOR_DATE: at(9), GIT_COMMITTER_DATE: at(9) };
    execFileSync('git', ['-c', 'commit.gpgsign=false', 'merge', '-q', '--no-ff', '--no-commit', 'side'], { cwd: repo.dir, env });
    repo.write({ 'src/b.js': body(20, { 7: 'export const v7 = compute(7) * 2;', 12: 'export const v12 = merged();' }) });
    repo.git('add', '-A');
    execFileSync('git', ['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'merge side'], { cwd: repo.dir, env });
    shas.merge = repo.git('rev-parse', 'HEAD');
    // The real fix: changes a line of writesA and a line of writesB and the merge's line.
    shas.fix = repo.commit(
      {
        'src/a.js': body(20, { 5: 'export const v5 = compute(5);', 9: 'export const v9 = 0;' }),
        'src/b.js': body(20, { 7: 'export const v7 = compute(7);', 12: 'export const v12 = merged(1);' }),
        'src/c.js': body(20).replace('export const v3', '    export const v3'),
      },
      'fix: wrong values in a and b',
      { author: ADA, date: at(10) },
    );
  });
  after(() => {
    repo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('labels what fixes wrote and what reverts revert: not PR-number or bump commits, nothing for a whitespace-only fix, never a merge without saying so', async () => {
    const ctx = await testContext({ cwd: repo.dir, ledger: join(dir, 'a.db') });
    const opened = await openRepository(ctx, repo.dir);
    await mine(ctx, opened);
    const commits = new Map((await ctx.ledger().risk.commits(opened.root)).map((c) => [c.sha, c]));
    assert.equal(commits.get(shas.pr!)!.kind, 'other');
    assert.equal(commits.get(shas.bump!)!.kind, 'bot');
    assert.equal(commits.get(shas.whitespace!)!.kind, 'fix');
    assert.equal(commits.get(shas.revert!)!.kind, 'revert');
    assert.equal(commits.has(shas.merge!), false, 'mining skips merges');

    const result = await runSzz(ctx, opened);
    assert.equal(result.fixes, 2);
    assert.equal(result.reverts, 1);
    assert.deepEqual(result.dropped, { merges: 1, notMined: 0, afterReport: 0 }, 'the merge blamed is counted, not labelled');
    const labels = await ctx.ledger().risk.labels(opened.root);
    const bySha = (sha: string) => labels.filter((l) => l.sha === sha).map((l) => `${l.source} ${l.evidence}`);
    assert.deepEqual(bySha(shas.writesA!), [`szz fix ${shas.fix}`]);
    assert.deepEqual(bySha(shas.writesB!), [`szz fix ${shas.fix}`]);
    assert.deepEqual(bySha(shas.reverted!), [`revert revert ${shas.revert}`]);
    assert.deepEqual(bySha(shas.merge!), []);
    for (const clean of [shas.base!, shas.pr!, shas.bump!, shas.whitespace!]) assert.deepEqual(bySha(clean), [], `${clean} is not labelled`);
    const outcomes = new Map((await ctx.ledger().risk.fixOutcomes(opened.root)).map((o) => [o.sha, o.outcome]));
    assert.deepEqual(outcomes.get(shas.whitespace!), { labelled: [], notMined: [], afterReport: [] }, 'a whitespace-only fix labels nothing');
    assert.equal(result.labelled, 3);
  });

  it('`ops risk labels` shows each class with its reasons, what SZZ made of the fixes, and the agreement with a published data set', async () => {
    const ledger = join(dir, 'cli.db');
    const report = await runOpsJson(['risk', 'labels', '--ledger', ledger], { cwd: repo.dir, env: cleanEnv() });
    assert.equal(report.code, 0, report.stderr);
    assert.deepEqual(report.json.classes, { fix: 2, revert: 1, bot: 1, release: 0, merge: 0, other: 6 });
    assert.equal(report.json.szz.labelled, 3);
    assert.equal(report.json.szz.dropped.merges, 1);
    const fixes = report.json.samples.fix.map((s: { sha: string; reason: string; labelled: number }) => [s.sha, s.reason, s.labelled]);
    assert.deepEqual(fixes, [
      [shas.fix, 'conventional commit fix:', 2],
      [shas.whitespace, 'conventional commit fix:', 0],
    ]);
    assert.equal(report.json.samples.bot[0].reason, "a bot's commit (49699333+dependabot[bot]@users.noreply.github.com)");

    // A "published" data set that calls writesA and the PR commit bug-inducing: one agrees, one not,
    // and half of the four agree, as two labels of share 1/2 would by chance: kappa 0.
    const csv = join(dir, 'published.csv');
    writeFileSync(csv, `_id,date,bug\n${shas.writesA},1,1\n${shas.pr},2,1\n${shas.writesB},3,0\n${shas.base},4,0\n`);
    const compared = await runOpsJson(['risk', 'labels', '--ledger', ledger, '--against', csv], { cwd: repo.dir, env: cleanEnv() });
    assert.equal(compared.code, 0, compared.stderr);
    assert.deepEqual(
      { ...compared.json.agreement, file: undefined },
      { file: undefined, rows: 4, common: 4, published: 2, ours: 2, both: 1, precision: 0.5, recall: 0.5, kappa: 0, fixedBefore: null },
    );
    const text = await runOps(['risk', 'labels', '--ledger', ledger, '--kind', 'revert'], { cwd: repo.dir, env: cleanEnv() });
    assert.match(text.stdout, /^revert \(1 of 1\):$/m);
    assert.match(text.stdout, /reverts [0-9a-f]{12}\] -> 1 bug-inducing$/m);
    const bad = await runOps(['risk', 'labels', '--ledger', ledger, '--kind', 'feature'], { cwd: repo.dir, env: cleanEnv() });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--kind "feature" is not a class/);
  });
});
