import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { listContainers, stopContainer } from '../src/adapters/docker.js';
import { deployProject, type DeployJson } from './helpers/deploy.js';
import { engineWithBaseImage } from './helpers/engine.js';
import { growHistory } from './helpers/history.js';

describe('the risk scorer is a registered model (dogfood)', () => {
  it('is trained by `ops risk train`, promoted through its gate, and the version that scored a deploy is on the release', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const p = await deployProject(t);
    const config = readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8');
    p.commit(
      {
        'ops.config.yaml': `${config}\nrisk:\n  warn: 0.99\n  block: 1\nmodels:\n  gates:\n    risk-scorer@production:\n      - metric: testRows\n        threshold: 5\nwatch:\n  sources:\n    - { type: docker, service: web, env: local }\n`,
      },
      'risk settings',
    );
    growHistory(p, 40);

    const trained = await p.ops(['risk', 'train', '--promote', 'production', '--reason', 'first scorer']);
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal(trained.json.version.model, 'risk-scorer');
    assert.equal(trained.json.version.version, 1);
    assert.ok(trained.json.szz.fixes >= 8, `fixes ${trained.json.szz.fixes}`);
    assert.ok(trained.json.positives >= 8, `bug-inducing ${trained.json.positives}`);
    assert.equal(trained.json.promotion.promoted, true);
    assert.deepEqual(trained.json.promotion.checks.map((c: { metric: string; passed: boolean }) => [c.metric, c.passed]), [['testRows', true]]);

    assert.equal(trained.json.deploy.skipped, undefined, 'forty days of history train a deploy-level model');
    assert.ok(trained.json.deploy.metrics.deployTrainRows >= 10, JSON.stringify(trained.json.deploy));

    const evaluated = await p.ops(['risk', 'eval', '--repo', '.']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const { metrics } = evaluated.json.results[0];
    assert.deepEqual([metrics.rows, metrics.testRows], [trained.json.rows, trained.json.metrics.testRows]);
    assert.equal(metrics.auc, trained.json.metrics.auc, 'the same history and seed give the same forest');

    const history = await p.ops(['model', 'history', 'risk-scorer', '--alias', 'production']);
    assert.deepEqual(history.json.map((e: { toVersion: number; reason: string }) => [e.toVersion, e.reason]), [[1, 'first scorer']]);

    const scored = await p.ops(['risk', 'score', '--range', 'HEAD~5..HEAD']);
    assert.equal(scored.code, 0, scored.stderr);
    assert.equal(scored.json.model, 'risk-scorer@1');
    assert.ok(scored.json.reasons.length > 0);
    assert.equal(scored.json.deployFeatures.commits, 5);
    assert.equal(scored.json.deployFeatures.maxRisk, Math.max(...scored.json.commits.map((c: { score: number }) => c.score)));
    for (const commit of scored.json.commits) {
      const contributions = commit.reasons.map((r: { contribution: number }) => r.contribution);
      assert.deepEqual(contributions, [...contributions].sort((a: number, b: number) => b - a), 'reasons sorted by contribution');
      assert.ok(contributions.every((c: number) => c > 0));
    }

    await p.release('first');
    const deployed = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(deployed.code, 0, deployed.stderr);
    const risk = (deployed.json as DeployJson).risk;
    assert.equal(risk.status, 'scored');
    assert.equal(risk.model, 'risk-scorer@1');
    assert.equal(typeof risk.probability, 'number');

    const lineage = await p.ops(['model', 'lineage', 'risk-scorer@1']);
    assert.equal(lineage.code, 0, lineage.stderr);
    const release = lineage.json.downstream.releases[0];
    assert.deepEqual([release.service, release.env, release.revision, release.status], ['web', 'local', 1, 'deployed']);
    assert.ok(lineage.json.downstream.riskScores.some((s: { id: number; service: string }) => s.id === risk.scoreId && s.service === 'web'));
    const [dataset] = lineage.json.upstream.datasets;
    assert.match(dataset.path, /^git:.*#[0-9a-f]{12}\.\.[0-9a-f]{12}$/);
    const reverse = await p.ops(['model', 'lineage', '--dataset', dataset.digest]);
    assert.deepEqual(reverse.json.versions.map((v: { model: string; version: number }) => `${v.model}@${v.version}`), ['risk-scorer@1']);

    // The loop closes: the deployed service goes down, watch opens an incident, the next score
    // counts it, and resolving it with the release as cause labels that release's commits.
    const [container] = await listContainers({}, process.env, { 'ops.project': p.project });
    await stopContainer({}, process.env, container!.id, 10_000);
    const watched = await p.ops(['watch', '--once']);
    assert.equal(watched.code, 1, watched.stderr);
    const incident = watched.json.opened[0];
    assert.equal(incident.condition, 'exited');
    const suspects = (await p.ops(['incident', 'show', String(incident.id)])).json.suspects;
    assert.equal(suspects[0].releaseId, release.id, 'the deploy just before it is the first suspect');
    p.commit({ 'app/next.js': 'export const next = 1;\n' }, 'the next change');
    const during = await p.ops(['risk', 'score', '--service', 'web', '--env', 'local']);
    assert.equal(during.code, 0, during.stderr);
    assert.equal(during.json.deployFeatures.openIncidents, 1);
    const closed = await p.ops(['incident', 'resolve', String(incident.id), '--cause', `release:${release.id}`]);
    assert.equal(closed.code, 0, closed.stderr);
    const mined = await p.ops(['risk', 'mine', '--labels']);
    assert.equal(mined.code, 0, mined.stderr);
    assert.equal(mined.json.releaseLabelled, 1, JSON.stringify(mined.json));
  });

  it('a release records the commit its image was built from, so the gate and `risk score --service` score what runs', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const p = await deployProject(t);
    const config = readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8');
    p.commit({ 'ops.config.yaml': `${config}\nrisk:\n  warn: 0.99\n  block: 1\n` }, 'risk settings');
    growHistory(p, 40);
    assert.equal((await p.ops(['risk', 'train', '--promote', 'production', '--reason', 'scorer'])).code, 0);
    const head = () => p.git('rev-parse', 'HEAD');

    // Pages of their own: no other test's image has these inputs to reuse.
    await p.release(`first of ${p.project}`);
    const c1 = head();
    const r1 = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(r1.code, 0, r1.stderr);
    const image2 = await p.release(`second of ${p.project}`);
    const c2 = head();
    assert.equal((await p.ops(['deploy', 'web', '--env', 'local'])).code, 0);
    // The work tree moves on without a build: HEAD is no longer what any image was built from.
    p.commit({ 'app/later.js': 'export const later = 1;\n' }, 'a later change');
    const c3 = head();

    const back = await p.ops(['deploy', 'rollback', 'web', '--env', 'local', '--to', '1']);
    assert.equal(back.code, 0, back.stderr);
    const history = async () => (await p.ops(['deploy', 'history', 'web', '--env', 'local'])).json.map((r: { revision: number; gitSha: string }) => [r.revision, r.gitSha]);
    assert.deepEqual(await history(), [[3, c1], [2, c2], [1, c1]], 'the rollback runs r1\'s image, built from c1, not the checked-out c3');

    const score = await p.ops(['risk', 'score', '--service', 'web', '--env', 'local']);
    assert.equal(score.code, 0, score.stderr);
    assert.equal(score.json.range, `${c1}..${c3}`, 'what a deploy of the work tree would ship over what runs');

    // --image of an image ops has no build of (the older build, tagged anew): its label names c2,
    // and the gate scores c1..c2, not HEAD.
    const labels = JSON.parse(execFileSync('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', image2], { encoding: 'utf8' }));
    assert.equal(labels['org.opencontainers.image.revision'], c2, 'ops build labels the image with its commit');
    const elsewhere = `${p.image}-elsewhere:v2`;
    execFileSync('docker', ['tag', image2, elsewhere]);
    t.after(() => void execFileSync('docker', ['rmi', elsewhere], { stdio: 'ignore' }));
    const pinned = await p.ops(['deploy', 'web', '--env', 'local', '--image', elsewhere]);
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.deepEqual((await history())[0], [4, c2]);
    assert.equal((pinned.json as DeployJson).risk.status, 'scored', JSON.stringify((pinned.json as DeployJson).risk));
    const db = new Database(join(p.dir, '.ops', 'ledger.db'), { readonly: true });
    t.after(() => db.close());
    const stored = db.prepare(`SELECT commit_range AS range FROM risk_scores WHERE id = ?`).get((pinned.json as DeployJson).risk.scoreId) as { range: string };
    assert.equal(stored.range, `${c1}..${c2}`);
  });
});
