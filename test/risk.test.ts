import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FEATURE_NAMES } from '../src/core/risk/mine.js';
import { mine, openRepository, runSzz, scoreRange } from '../src/core/risk/index.js';
import { DEPLOY_FEATURES, describeDeploy, historicalDeploys } from '../src/core/risk/deploy.js';
import { testContext } from './helpers/context.js';
import { gitRepo, type GitRepo } from './helpers/git.js';

const ADA = { name: 'Ada', email: 'ada@example.test' };
const BOB = { name: 'Bob', email: 'bob@example.test' };
const lines = (...items: string[]) => `${items.join('\n')}\n`;
const MAIN_V1 = lines('// header', ...Array.from({ length: 9 }, (_, i) => `line ${i + 2}`));
const MAIN_V2 = MAIN_V1.replace('line 5\n', 'line five\n') + 'line 11\n';
const UTIL = Array.from({ length: 20 }, (_, i) => `util line ${i + 1}`);
const MAIN_V3 = MAIN_V2.replace('// header\n', '').replace('line five\n', 'fixed\n').replace('line 11\n', '');

/**
 * c1 adds three files; c2 edits main.js and adds a binary; c3 renames util.js (with an edit) and
 * deletes the readme; a side branch adds lib/y.js and is merged; c4 is a fix touching main.js, the
 * renamed util.js and the binary.
 */
function fixture(): { repo: GitRepo; c1: string; c2: string; c3: string; side: string; merge: string; c4: string } {
  const repo = gitRepo('ops-risk-');
  const c1 = repo.commit(
    { 'src/app/main.js': MAIN_V1, 'src/app/util.js': lines(...UTIL), 'docs/readme.md': lines('a', 'b', 'c') },
    'initial import',
    { author: ADA, date: '2024-01-01T00:00:00Z' },
  );
  const c2 = repo.commit({ 'src/app/main.js': MAIN_V2, 'lib/x.bin': Buffer.from([0, 1, 2, 0, 255]) }, 'tweak main', { author: BOB, date: '2024-01-11T00:00:00Z' });
  const c3 = repo.commit(
    { 'src/app/util.js': null, 'src/core/util.js': lines(...UTIL, 'export const helper = 1;'), 'docs/readme.md': null },
    'move util to core',
    { author: ADA, date: '2024-01-21T00:00:00Z' },
  );
  repo.git('checkout', '-q', '-b', 'side');
  const side = repo.commit({ 'lib/y.js': lines('y1', 'y2', 'y3', 'y4') }, 'add y', { author: BOB, date: '2024-01-25T00:00:00Z' });
  repo.git('checkout', '-q', 'main');
  execFileSync('git', ['-c', 'commit.gpgsign=false', 'merge', '-q', '--no-ff', '-m', 'merge side', 'side'], {
    cwd: repo.dir,
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'Bob', GIT_AUTHOR_EMAIL: BOB.email, GIT_COMMITTER_NAME: 'Bob', GIT_COMMITTER_EMAIL: BOB.email, GIT_AUTHOR_DATE: '2024-01-26T00:00:00Z', GIT_COMMITTER_DATE: '2024-01-26T00:00:00Z' },
  });
  const merge = repo.git('rev-parse', 'HEAD');
  const c4 = repo.commit(
    { 'src/app/main.js': MAIN_V3, 'src/core/util.js': lines(...UTIL), 'lib/x.bin': Buffer.from([0, 9, 9, 0, 255]) },
    'fix: crash in main',
    { author: BOB, date: '2024-02-01T00:00:00Z' },
  );
  return { repo, c1, c2, c3, side, merge, c4 };
}

const named = (features: number[]) => Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, features[i]]));

describe('ops risk: mining and labels', () => {
  let f: ReturnType<typeof fixture>;
  let dir: string;
  before(() => {
    f = fixture();
    dir = mkdtempSync(join(tmpdir(), 'ops-risk-ledger-'));
  });
  after(() => {
    f.repo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('computes the 14 features by hand-checked values (rename, deletion, binary file, merge)', async () => {
    const ctx = await testContext({ cwd: f.repo.dir, ledger: join(dir, 'a.db') });
    const repo = await openRepository(ctx, f.repo.dir);
    const result = await mine(ctx, repo);
    assert.equal(result.mined, 5, 'the merge commit is not mined');
    const commits = await ctx.ledger().risk.commits(repo.root);
    assert.deepEqual(commits.map((c) => c.sha), [f.c1, f.c2, f.c3, f.side, f.c4]);
    const [c1, c2, c3, , c4] = commits.map((c) => named(c.features));

    assert.deepEqual(c1, { ns: 2, nd: 2, nf: 3, entropy: c1!.entropy, la: 33, ld: 0, lt: 0, fix: 0, ndev: 0, age: 0, nuc: 0, exp: 0, rexp: 0, sexp: 0 });
    // churn 10, 20, 3 over 33 lines
    const h = (ps: number[]) => -ps.reduce((sum, p) => sum + p * Math.log2(p), 0);
    assert.ok(Math.abs(c1!.entropy! - h([10 / 33, 20 / 33, 3 / 33])) < 1e-12);
    // c2: main.js +2 -1 (10 lines before, by Ada 10 days earlier); the binary counts as a file with no lines.
    assert.deepEqual(c2, { ns: 2, nd: 2, nf: 2, entropy: 0, la: 2, ld: 1, lt: 10, fix: 0, ndev: 1, age: 10, nuc: 1, exp: 0, rexp: 0, sexp: 0 });
    // c3: the rename carries util.js's 20 lines and history; the deleted readme counts its 3 lines.
    assert.deepEqual(c3, { ns: 2, nd: 2, nf: 2, entropy: h([0.25, 0.75]), la: 1, ld: 3, lt: 23, fix: 0, ndev: 1, age: 20, nuc: 1, exp: 1, rexp: 1, sexp: 2 });
    // c4 (Bob, a fix): main.js 11 lines (+1 -3), util.js 21 (-1), x.bin; main and x.bin last changed
    // by c2 21 days before, util.js by c3 11 days before; changes {c1, c2, c3}; developers {Ada, Bob};
    // Bob's earlier commits: c2 (src, lib) and the side commit (lib).
    assert.deepEqual(c4, { ns: 2, nd: 3, nf: 3, entropy: h([0.8, 0.2]), la: 1, ld: 4, lt: 32, fix: 1, ndev: 2, age: 53 / 3, nuc: 3, exp: 2, rexp: 2, sexp: 3 });
  });

  it('caches by commit: a rerun mines nothing, a new commit is mined alone and matches a full mine', async () => {
    const ctx = await testContext({ cwd: f.repo.dir, ledger: join(dir, 'a.db') });
    const repo = await openRepository(ctx, f.repo.dir);
    assert.deepEqual(await mine(ctx, repo), { repo: repo.root, head: repo.head, mined: 0, total: 5, cached: true });
    const c5 = f.repo.commit({ 'src/app/main.js': `${MAIN_V3}more\n` }, 'more', { author: ADA, date: '2024-02-03T00:00:00Z' });
    const again = await mine(ctx, await openRepository(ctx, f.repo.dir));
    assert.equal(again.mined, 1);
    const fresh = await testContext({ cwd: f.repo.dir, ledger: join(dir, 'fresh.db') });
    await mine(fresh, await openRepository(fresh, f.repo.dir));
    const incremental = await ctx.ledger().risk.commits(repo.root);
    assert.deepEqual(incremental, (await fresh.ledger().risk.commits(repo.root)));
    assert.equal(incremental.at(-1)!.sha, c5);
  });

  it('labels bug-inducing commits with SZZ, skipping comment and blank lines', async () => {
    const ctx = await testContext({ cwd: f.repo.dir, ledger: join(dir, 'a.db') });
    const repo = await openRepository(ctx, f.repo.dir);
    const result = await runSzz(ctx, repo);
    assert.equal(result.fixes, 1);
    // c4 removed "line five" and "line 11" (c2), "export const helper" (c3) and "// header" (c1, a comment).
    const labels = await ctx.ledger().risk.labels(repo.root);
    assert.deepEqual([...new Set(labels.map((l) => l.sha))].sort(), [f.c2, f.c3].sort());
    assert.ok(labels.every((l) => l.source === 'szz' && l.evidence === `fix ${f.c4}`));
    assert.equal((await runSzz(ctx, repo)).fixes, 0, 'a fix is processed once');
  });

  it('gives clear errors: not a repository, a shallow clone, an empty or unknown range', async () => {
    const ctx = await testContext({ cwd: dir, ledger: join(dir, 'b.db') });
    await assert.rejects(openRepository(ctx, dir), /is not a git repository/);
    const shallow = join(dir, 'shallow');
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${f.repo.dir}`, shallow]);
    await assert.rejects(openRepository(ctx, shallow), (err: Error & { hint?: string }) => {
      assert.match(err.message, /is a shallow clone: mining needs the whole history/);
      assert.match(err.hint!, /git fetch --unshallow/);
      return true;
    });
    const inRepo = await testContext({ cwd: f.repo.dir, ledger: join(dir, 'a.db') });
    await inRepo.ledger().models.recordArtifact({ digest: 'sha256:0', sizeBytes: 0, mediaType: null }, Date.now());
    await inRepo.ledger().models.register({ model: 'risk-scorer', runId: null, artifactDigest: 'sha256:0', params: null, metrics: null, actor: 't', source: 'test' }, Date.now());
    await inRepo.ledger().models.moveAlias({ model: 'risk-scorer', alias: 'production', actor: 't', reason: null }, () => ({ toVersion: 1 }), Date.now());
    await assert.rejects(scoreRange(inRepo, f.repo.dir, `${f.c4}..${f.c4}`, {}), /the range .* has no commits/);
    await assert.rejects(scoreRange(inRepo, f.repo.dir, 'nope..HEAD', {}), /"nope\.\.HEAD" is not a commit range/);
  });
});

describe('ops risk: deploy-level features', () => {
  it('aggregates a change set and its context: one past deploy per day with commits', () => {
    const day = 86_400;
    const commit = (sha: string, at: number, author: string, nf: number, ns: number, la: number, ld: number, sexp: number) => {
      const features = new Array(FEATURE_NAMES.length).fill(0);
      Object.entries({ nf, ns, la, ld, sexp }).forEach(([name, value]) => (features[FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number])] = value));
      return { sha, seq: 0, at, author, subject: sha, features, kind: 'other', reason: '', details: null };
    };
    const monday = Date.UTC(2024, 0, 1) / 1000;
    const commits = [
      commit('a', monday + 9 * 3600, 'ada', 3, 1, 10, 2, 5),
      commit('b', monday + 15 * 3600, 'bob', 5, 2, 40, 0, 1),
      commit('c', monday + day + 10 * 3600, 'ada', 1, 1, 1, 1, 9),
      commit('d', monday + 3 * day + 11 * 3600, 'cy', 2, 1, 4, 4, 0),
    ];
    const deploys = historicalDeploys(commits, [0.2, 0.7, 0.1, 0.4], new Set(['b']));
    const named = deploys.map((d) => Object.fromEntries(DEPLOY_FEATURES.map((name, i) => [name, d.features[i]])));
    assert.deepEqual(deploys.map((d) => [d.failed, d.lastIndex]), [[true, 1], [false, 2], [false, 3]]);
    assert.deepEqual(named[0], {
      commits: 2, authors: 2, maxRisk: 0.7, sumRisk: 0.8999999999999999, files: 8, subsystems: 2, linesChanged: 52,
      minSubsystemExperience: 1, hour: 15, weekday: 1, hoursSinceLastDeploy: 24 * 365, recentFailureRate: 0, openIncidents: 0,
    });
    assert.deepEqual([named[1]!.hoursSinceLastDeploy, named[1]!.recentFailureRate, named[1]!.weekday], [19, 1, 2]);
    assert.deepEqual([named[2]!.hoursSinceLastDeploy, named[2]!.recentFailureRate, named[2]!.minSubsystemExperience], [49, 0.5, 0]);
    assert.equal(describeDeploy('recentFailureRate', 0.3, { service: 'web', failedRecently: 3 }), '3 failed deploys of web in its last 10');
    assert.equal(describeDeploy('minSubsystemExperience', 0, { failedRecently: 0 }), 'author new to this subsystem (0 earlier changes there)');
    assert.equal(describeDeploy('files', 41, { failedRecently: 0 }), 'touches 41 files');
    assert.equal(describeDeploy('openIncidents', 2, { service: 'web', failedRecently: 0 }), '2 open incidents on web');
  });
});
