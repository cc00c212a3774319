import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspectContainer, listContainers } from '../src/adapters/docker.js';
import { ArtifactStore, FolderBlobs, LedgerBlobs } from '../src/core/models/artifacts.js';
import { Ledger } from '../src/ledger/index.js';
import { DEFAULT_SERVICE_SETTINGS, deployProject, LATE_CRASH_DOCKERFILE } from './helpers/deploy.js';
import { engineWithBaseImage } from './helpers/engine.js';
import { growHistory } from './helpers/history.js';
import { BACKENDS, freshLedger } from './helpers/postgres.js';
import { until } from './helpers/watch.js';

/** Serves and passes its HEALTHCHECK; 6 s later it warms a 24 MiB cache, more than a 16m limit allows. */
const HUNGRY_DOCKERFILE = [
  'FROM ops/busybox:latest',
  'COPY www /www',
  'HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1',
  'CMD ["sh", "-c", "httpd -p 8080 -h /www; sleep 6; echo warming the cache; dd if=/dev/zero of=/dev/null bs=24M count=1 || exit 137; echo cache warm; exec sleep 100000"]',
  '',
].join('\n');

for (const backend of BACKENDS) describe(`the closed loop on the docker target (real engine, ${backend} ledger)`, () => {
  it('deploy, crash, watch, triage, rollback, resolve, relabel, retrain', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const target = await freshLedger(t, backend);
    if (!target) return;
    const p = await deployProject(t, { ledger: target });
    const config = readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8');
    p.commit(
      {
        'ops.config.yaml': [
          config,
          'risk:',
          '  warn: 0.01',
          '  block: 1',
          '  labelWeights: { szz: 1, release: 3 }',
          'models:',
          '  gates:',
          '    risk-scorer@production:',
          '      - { metric: testRows, threshold: 5 }',
          '      - { metric: testRows, minAbsoluteChange: 0 }',
          'watch:',
          '  resolveAfter: 10m',
          '  sources:',
          '    - { type: docker, service: web, env: local }',
          '',
        ].join('\n'),
      },
      'risk and watch settings',
    );
    growHistory(p, 40);
    const first = await p.ops(['risk', 'train', '--promote', 'production', '--reason', 'first scorer']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json.version.version, 1);

    await p.release('first');
    const r1 = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(r1.code, 0, r1.stderr);
    // The second release also changes the service's config (a config hash difference).
    const current = readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8');
    p.commit({ 'ops.config.yaml': current.replace('    stopTimeout: 2s', '    stopTimeout: 2s\n    env: { LOG_LEVEL: debug }') }, 'debug logs');
    await p.release('second', LATE_CRASH_DOCKERFILE);
    const secondSha = p.git('rev-parse', 'HEAD');
    const r2 = await p.ops(['deploy', 'web', '--env', 'local', '--accept-risk', 'demo: known risky']);
    assert.equal(r2.code, 0, `the crash comes after the health gate: ${r2.stderr}`);
    assert.equal(r2.json.revision, 2);
    assert.equal(r2.json.risk.status, 'scored');

    // The release crashes after it went live: watch opens an incident naming it first suspect.
    const watched = await until('watch to open an incident', async () => {
      const r = await p.ops(['watch', '--once']);
      return r.code === 1 && r.json.opened.length ? r : undefined;
    }, 40_000);
    const incident = watched.json.opened[0];
    assert.equal(incident.service, 'web');
    assert.match(incident.condition, /^(restarting|exited)$/);
    const shown = await p.ops(['incident', 'show', String(incident.id)]);
    const release2 = shown.json.suspects[0].release;
    assert.deepEqual([release2.revision, release2.gitSha], [2, secondSha]);

    const triaged = await p.ops(['triage']);
    assert.equal(triaged.code, 0, triaged.stderr);
    const [top] = triaged.json.hypotheses;
    assert.equal(triaged.json.incident.id, incident.id, 'the newest open incident by default');
    assert.equal(top.cause, 'bad-deploy');
    assert.equal(top.title, 'bad deploy of r2: crash on start: missing environment variable DATABASE_URL', JSON.stringify(triaged.json.evidence.containers));
    assert.equal(top.releaseId, release2.id);
    assert.ok(top.evidence.some((e: string) => e === 'log: fatal: required environment variable DATABASE_URL is not set'), top.evidence.join('\n'));
    assert.ok(top.evidence.some((e: string) => /^risk \d\.\d\d \((low|medium|high)\)/.test(e)), 'the release risk score is evidence');
    assert.ok(top.evidence.some((e: string) => /^since r1: 3 files changed.*web\/Dockerfile/.test(e)), top.evidence.join('\n'));
    assert.deepEqual(top.actions.map((a: { n: number; command: string }) => [a.n, a.command]), [[1, 'ops deploy rollback web --env local --to 1']]);
    const crash = triaged.json.hypotheses.find((h: { cause: string }) => h.cause === 'crash-on-start');
    assert.ok(crash && crash.rank > top.rank && crash.confidence < top.confidence, 'the bare mechanism ranks below the deploy that brought it');
    assert.ok(top.evidence.includes('the risk gate was overridden: demo: known risky'), top.evidence.join('\n'));
    const { evidence } = triaged.json;
    assert.deepEqual(
      evidence.configChanges.map((c: { fromRevision: number; toRevision: number; fromHash: string; toHash: string }) => [c.fromRevision, c.toRevision, c.fromHash !== c.toHash]),
      [[1, 2, true]],
    );
    assert.ok(top.evidence.some((e: string) => /^configuration changed: sha256:\w+ -> sha256:\w+$/.test(e)));
    assert.deepEqual(
      evidence.modelMoves.map((m: { model: string; alias: string; toVersion: number; reason: string }) => [m.model, m.alias, m.toVersion, m.reason]),
      [['risk-scorer', 'production', 1, 'first scorer']],
      'the scorer was promoted within the correlation window before the incident',
    );
    const container = triaged.json.evidence.containers[0];
    assert.equal(container.revision, 2);
    assert.ok(container.restartCount >= 1 || container.status === 'exited', JSON.stringify(container));

    // Not interactive and no --yes: exit 4, nothing runs, nothing is recorded.
    const refused = await p.ops(['triage', String(incident.id), '--apply', '1']);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /needs confirmation.*--yes/s);
    const ledger = Ledger.open(target);
    t.after(() => ledger.close());
    assert.equal(Number((await ledger.db.get<{ n: number }>(`SELECT count(*) AS n FROM incident_actions`))!.n), 0);

    const applied = await p.ops(['triage', String(incident.id), '--apply', '1', '--yes']);
    assert.equal(applied.code, 0, applied.stderr || JSON.stringify(applied.json?.applied));
    assert.equal(applied.json.applied.status, 'succeeded');
    assert.equal(applied.json.applied.check.healthy, true, applied.json.applied.check.detail);
    assert.equal(applied.json.applied.incident.state, 'resolved');
    assert.equal(applied.json.applied.incident.causeRelease, release2.id);
    const actions = await ledger.db.all(`SELECT action, kind, command, status FROM incident_actions WHERE incident_id = ?`, incident.id);
    assert.deepEqual(actions, [{ action: 1, kind: 'rollback', command: 'ops deploy rollback web --env local --to 1', status: 'succeeded' }]);
    const history = await p.ops(['deploy', 'history', 'web', '--env', 'local']);
    assert.deepEqual(
      history.json.map((r: { revision: number; status: string; description: string }) => [r.revision, r.status, r.description]),
      [
        [3, 'deployed', 'rollback to 1'],
        [2, 'rolled_back', 'upgrade'],
        [1, 'superseded', 'install'],
      ],
    );
    const [live] = await listContainers({}, process.env, { 'ops.project': p.project });
    assert.equal(live!.labels['ops.revision'], '3');

    // The outcome retrains the scorer: r2's commit is labelled by the release, weighted 3.
    const second = await p.ops(['risk', 'train', '--promote', 'production', '--reason', 'after incident']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.json.version.version, 2);
    assert.ok(second.json.trainingSet.releaseLabelled >= 1, JSON.stringify(second.json.trainingSet));
    const labels = await ledger.db.all<{ source: string; evidence: string }>(`SELECT source, evidence FROM commit_labels WHERE sha = ? ORDER BY source`, secondSha);
    assert.ok(labels.some((l) => l.source === 'release' && l.evidence.includes(`release ${release2.id} `)), JSON.stringify(labels));
    const lineage = await p.ops(['model', 'lineage', 'risk-scorer@2']);
    const [dataset] = lineage.json.upstream.datasets;
    assert.equal(dataset.digest, second.json.trainingSet.digest, 'the version names the training set it was trained on');
    // Where the ledger keeps artifacts: the folder beside a SQLite file, the database for PostgreSQL.
    const artifacts = new ArtifactStore(ledger.backend === 'postgres' ? new LedgerBlobs(ledger.blobs, Date.now) : FolderBlobs.beside(target));
    const csv = (await artifacts.read(dataset.digest)).toString('utf8').split('\n');
    const header = csv[0]!.split(',');
    const row = csv.find((line) => line.startsWith(`${secondSha},`))!.split(',');
    assert.equal(row[header.indexOf('bug')], '1');
    assert.match(row[header.indexOf('label_source')]!, /release/);
    assert.equal(row[header.indexOf('weight')], '3');
    assert.deepEqual(
      second.json.promotion.checks.map((c: { rule: string; baseline: number | null; passed: boolean }) => [c.rule, c.baseline === first.json.metrics.testRows, c.passed]),
      [
        ['>= 5', true, true],
        ['+0 vs baseline', true, true],
      ],
      'the promotion gate compared v2 with v1',
    );
    assert.equal(second.json.promotion.baseline, 1);
  });
});

describe('triage on the docker target (real engine)', () => {
  it('the quick start\'s history: the live release is the suspect, the rollback goes to the last healthy one, a resolved incident keeps its cause', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const p = await deployProject(t);
    const config = readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8');
    p.commit({ 'ops.config.yaml': `${config}\nwatch:\n  sources:\n    - { type: docker, service: web, env: local }\n` }, 'watch web');
    // r1, r2, a rollback to 1 (r3), then r4 that crashes after its health check: as in scripts/quickstart.sh.
    await p.release('first');
    assert.equal((await p.ops(['deploy', 'web', '--env', 'local'])).code, 0);
    await p.release('second');
    assert.equal((await p.ops(['deploy', 'web', '--env', 'local'])).code, 0);
    assert.equal((await p.ops(['deploy', 'rollback', 'web', '--env', 'local'])).code, 0);
    await p.release('crashing', LATE_CRASH_DOCKERFILE);
    const r4 = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(r4.code, 0, r4.stderr);
    assert.equal(r4.json.revision, 4);

    const watched = await until('watch to open an incident', async () => {
      const r = await p.ops(['watch', '--once']);
      return r.code === 1 && r.json.opened.length ? r : undefined;
    }, 40_000);
    const incident = watched.json.opened[0];
    const shown = await p.ops(['incident', 'show', String(incident.id)]);
    assert.deepEqual(
      shown.json.suspects.map((s: { rank: number; release: { revision: number } }) => [s.rank, s.release.revision]),
      [[1, 4]],
      'r4 ran when the incident began; r1, r2 and r3 had been replaced before it',
    );

    const triaged = await p.ops(['triage', String(incident.id)]);
    assert.equal(triaged.code, 0, triaged.stderr);
    const [top] = triaged.json.hypotheses;
    assert.equal(top.title, 'bad deploy of r4: crash on start: missing environment variable DATABASE_URL');
    const rollbacks = triaged.json.hypotheses.flatMap((h: { actions: Array<{ n: number; spec: { kind: string; to?: number } }> }) => h.actions.filter((a) => a.spec.kind === 'rollback').map((a) => [a.n, a.spec.to]));
    assert.ok(rollbacks.length >= 2, JSON.stringify(triaged.json.hypotheses));
    assert.ok(
      rollbacks.every(([n, to]: [number, number]) => n === 1 && to === 3),
      `every rollback goes to r3, the last healthy release before r4 (r2 was rolled back): ${JSON.stringify(rollbacks)}`,
    );

    const applied = await p.ops(['triage', String(incident.id), '--apply', '1', '--yes']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.json.applied.incident.causeRelease, top.releaseId);
    const timeline = async () => (await p.ops(['incident', 'show', String(incident.id)])).json.timeline.map((e: { kind: string }) => e.kind);
    const before = await timeline();
    assert.equal(before.filter((k: string) => k === 'triaged').length, 1, 'the report the action was applied from');

    // Re-run on the resolved incident: its recorded cause first, nothing to roll back (r4 no longer runs), nothing recorded.
    for (let i = 0; i < 2; i++) {
      const again = await p.ops(['triage', String(incident.id)]);
      assert.equal(again.code, 0, again.stderr);
      const [first] = again.json.hypotheses;
      assert.equal(first.releaseId, top.releaseId, JSON.stringify(again.json.hypotheses.map((h: { title: string }) => h.title)));
      assert.match(first.evidence[0], /^recorded cause: release \d+ \(web r4 in local\) \(named when .+ resolved the incident\)$/);
      assert.deepEqual(again.json.hypotheses.flatMap((h: { actions: Array<{ spec: { kind: string } }> }) => h.actions.filter((a) => a.spec.kind === 'rollback')), []);
    }
    assert.deepEqual(await timeline(), before, 'a plain triage appends no event');

    // r5 runs r1's image: every earlier release is rolled back or runs that same image.
    const plain = await p.ops(['deploy', 'rollback', 'web', '--env', 'local']);
    assert.equal(plain.code, 1, plain.stderr);
    assert.match(plain.stderr, /web in local has no earlier healthy release to roll back to/);
  });

  it('out of memory: triage raises the limit in the config, redeploys, and the service stays up', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const p = await deployProject(t, { service: `${DEFAULT_SERVICE_SETTINGS}\n    resources: { memory: 16m }` });
    const config = readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8');
    p.commit({ 'ops.config.yaml': `${config}\nwatch:\n  resolveAfter: 10m\n  sources:\n    - { type: docker, service: web, env: local }\n` }, 'watch web');
    const image = await p.release('hungry', HUNGRY_DOCKERFILE);
    const r1 = await p.ops(['deploy', 'web', '--env', 'local']);
    assert.equal(r1.code, 0, `the cache is warmed after the health gate: ${r1.stderr}`);

    const watched = await until('watch to open an incident', async () => {
      const r = await p.ops(['watch', '--once']);
      return r.code === 1 && r.json.opened.length ? r : undefined;
    }, 40_000);
    const incident = watched.json.opened[0];
    const triaged = await p.ops(['triage', String(incident.id)]);
    assert.equal(triaged.code, 0, triaged.stderr);
    const oom = triaged.json.hypotheses.find((h: { cause: string }) => h.cause === 'oom');
    assert.ok(oom, JSON.stringify(triaged.json.hypotheses.map((h: { title: string }) => h.title)));
    assert.ok(oom.evidence.includes('memory limit 16.0 MiB'), oom.evidence.join('\n'));
    const [raise] = oom.actions;
    assert.equal(raise.command, `set services.web.resources.memory: 32m in the config, then ops deploy web --env local --image ${image}`);

    const applied = await p.ops(['triage', String(incident.id), '--apply', String(raise.n), '--yes']);
    assert.equal(applied.code, 0, `${applied.stderr}${JSON.stringify(applied.json?.applied)}`);
    assert.equal(applied.json.applied.result, 'services.web.resources.memory 16m -> 32m; web r2 deployed');
    assert.equal(applied.json.applied.incident.state, 'resolved');
    assert.match(readFileSync(join(p.dir, 'ops.config.yaml'), 'utf8'), /resources: \{ memory: 32m \}/, 'the config keeps its layout');

    // Past the moment the cache is warmed, r2 still runs, never restarted, under the new limit.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    const [live] = await listContainers({}, process.env, { 'ops.project': p.project });
    const state = await inspectContainer({}, process.env, live!.id);
    assert.deepEqual([live!.labels['ops.revision'], state!.running, state!.restartCount, state!.memoryLimit], ['2', true, 0, 32 * 2 ** 20]);
    const history = await p.ops(['deploy', 'history', 'web', '--env', 'local']);
    assert.deepEqual(history.json.map((r: { revision: number; status: string }) => [r.revision, r.status]), [[2, 'deployed'], [1, 'superseded']]);
  });
});
