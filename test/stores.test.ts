// The store layer on both backends: the same test bodies against SQLite and a real PostgreSQL.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import { Ledger, SCHEMA_VERSION } from '../src/ledger/index.js';
import type { Suspect } from '../src/ledger/index.js';
import { cleanEnv } from './helpers/ops.js';
import { BACKENDS, freshLedger, postgresServer, type Backend } from './helpers/postgres.js';

const run = { kind: 'exec', actor: 'tester', host: 'host-a', pid: 4242, ci: false, argv: ['exec', 'true'] };
const release = (service: string, env = 'prod') => ({
  runId: null,
  service,
  env,
  target: 'docker',
  image: `${service}:1`,
  digest: null,
  configHash: 'sha256:c',
  gitSha: 'abc123',
  actor: 'tester',
  description: 'upgrade',
  rollbackTo: null,
  risk: { status: 'not scored' as const, reason: 'test' },
  riskScoreId: null,
});

async function open(t: TestContext, backend: Backend): Promise<Ledger | undefined> {
  const target = await freshLedger(t, backend);
  if (!target) return undefined;
  const ledger = Ledger.open(target);
  t.after(() => ledger.close());
  return ledger;
}

function spawnWriters(target: string, processes: number, runs: number): Promise<Array<{ code: number | null; stderr: string }>> {
  const writer = new URL('./fixtures/ledger-writer.js', import.meta.url).pathname;
  return Promise.all(
    Array.from({ length: processes }, (_, i) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [writer, target, String(runs), String(i)], { env: cleanEnv() });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      }),
    ),
  );
}

for (const backend of BACKENDS) {
  describe(`stores on ${backend}`, () => {
    it('migrates an empty ledger to the latest schema', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      assert.equal(ledger.backend, backend);
      assert.deepEqual(await ledger.schemaVersion(), { current: SCHEMA_VERSION, supported: SCHEMA_VERSION });
      for (const table of ['runs', 'run_logs', 'builds', 'releases', 'locks', 'models', 'model_versions', 'incidents', 'incident_signals', 'commit_features', 'triage_reports', 'incident_actions']) {
        assert.deepEqual(await ledger.db.get(`SELECT count(*) AS n FROM ${table}`), { n: 0 }, table);
      }
    });

    it('runs: insert, heartbeat, log, finish, list and sweep, with times and ids as numbers', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const now = Date.UTC(2026, 0, 2, 3, 4, 5);
      const a = await ledger.runs.insert({ ...run, params: { n: 1 } }, now);
      const b = await ledger.runs.insert({ ...run, kind: 'build', gitSha: 'f00', gitDirty: true }, now + 1);
      assert.equal(typeof a, 'number');
      await ledger.runs.appendLog(a, 'stdout', 'hello\n', now + 5);
      await ledger.runs.heartbeat(a, now + 10);
      await ledger.runs.finish(a, { status: 'succeeded', exitCode: 0, metrics: { ms: 3 } }, now + 1234);
      await ledger.runs.finish(a, { status: 'failed', exitCode: 1 }, now + 9999);
      const got = (await ledger.runs.get(a))!;
      assert.equal(got.status, 'succeeded', 'a finished run keeps its status');
      assert.equal(got.durationMs, 1234);
      assert.equal(got.startedAt, new Date(now).toISOString());
      assert.deepEqual(got.params, { n: 1 });
      assert.deepEqual(got.metrics, { ms: 3 });
      assert.deepEqual(got.argv, run.argv);
      assert.deepEqual(await ledger.runs.logs(a), [{ at: new Date(now + 5).toISOString(), stream: 'stdout', text: 'hello\n' }]);
      assert.deepEqual((await ledger.runs.list({ limit: 10 })).map((r) => r.id), [b, a]);
      assert.deepEqual((await ledger.runs.list({ kind: 'build', limit: 10 })).map((r) => r.git), [{ sha: 'f00', branch: null, dirty: true }]);
      assert.deepEqual((await ledger.runs.list({ status: 'running', sinceMs: now, limit: 10 })).map((r) => r.id), [b]);
      assert.deepEqual(await ledger.runs.sweepAbandoned('host-b', () => true, now + 200_000, 120_000), [b]);
      assert.equal((await ledger.runs.get(b))!.status, 'interrupted');
    });

    it('builds: the newest image of inputs and of a service', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const runId = await ledger.runs.insert(run, 1000);
      const base = { runId, service: 'web', image: 'web', tags: ['web:1'], imageId: 'sha256:i1', repoDigest: null, inputDigest: 'sha256:in', cached: false, sizeBytes: 10, durationMs: 5, git: { sha: 'a', branch: 'main', dirty: false }, status: 'built' as const };
      await ledger.builds.insert(base, 1000);
      const second = await ledger.builds.insert({ ...base, tags: ['web:2'], imageId: 'sha256:i2', cached: true }, 2000);
      await ledger.builds.insert({ ...base, tags: ['web:3'], imageId: null, status: 'failed' }, 3000);
      assert.equal((await ledger.builds.byInputDigest('sha256:in'))!.id, second);
      const latest = (await ledger.builds.latestForService('web'))!;
      assert.deepEqual([latest.tags, latest.cached, latest.git.dirty], [['web:2'], true, false]);
      assert.equal((await ledger.builds.forRun(runId)).length, 3);
    });

    it('releases: revisions numbered per service and env, the live one superseded, abandoned ones failed', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const r1 = await ledger.releases.create(release('web'), 1000);
      await ledger.releases.finish(r1.id, { status: 'deployed' }, 2000);
      const r2 = await ledger.releases.create(release('web'), 3000);
      const other = await ledger.releases.create(release('web', 'staging'), 3000);
      assert.deepEqual([r1.revision, r2.revision, other.revision], [1, 2, 1]);
      const settled = await ledger.releases.finish(r2.id, { status: 'deployed', details: { container: 'x' } }, 4500);
      assert.deepEqual([settled.status, settled.durationMs, settled.details], ['deployed', 1500, { container: 'x' }]);
      assert.equal((await ledger.releases.byId(r1.id))!.status, 'superseded');
      assert.equal((await ledger.releases.current('web', 'prod'))!.id, r2.id);
      assert.equal((await ledger.releases.previousLive('web', 'prod', 2))!.id, r1.id);
      assert.deepEqual((await ledger.releases.runningAt(['web', 'api'], 'prod', 5000)).map((r) => r.revision), [2]);
      assert.equal((await ledger.releases.lastHealthyBefore('web', 'prod', 2, 'web:2'))!.id, r1.id);
      assert.deepEqual((await ledger.releases.history('web', 'prod', 5)).map((r) => r.revision), [2, 1]);
      assert.equal(await ledger.releases.failAbandoned('web', 'staging', 9000), 1);
      assert.equal((await ledger.releases.get('web', 'staging', 1))!.status, 'failed');
    });

    it('releases: 20 parallel creations get 20 distinct revisions', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const created = await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.releases.create(release('web'), 1000 + i)));
      assert.deepEqual(created.map((r) => r.revision).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('locks: one holder, a refused contender, a stale holder taken over, release; times on the database clock', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const alive = () => true;
      const a = { pid: 1, host: 'h1', runId: null };
      const b = { pid: 2, host: 'h2', runId: 7 };
      const first = await ledger.locks.tryAcquire('deploy:web', a, alive, 120_000);
      assert.equal(first.acquired, true);
      assert.ok(Math.abs(first.nowMs - Date.now()) < 60_000, 'the database clock (this host\'s here)');
      const refused = await ledger.locks.tryAcquire('deploy:web', b, alive, 120_000);
      assert.equal(refused.acquired, false);
      assert.equal(await ledger.locks.heartbeat('deploy:web', a), true);
      // The holder went quiet 121 s ago by the database's clock.
      await ledger.db.run(`UPDATE locks SET heartbeat_at = heartbeat_at - 121000 WHERE name = ?`, 'deploy:web');
      const took = await ledger.locks.tryAcquire('deploy:web', b, alive, 120_000);
      assert.equal(took.acquired && took.staleReason, 'its heartbeat is 121 s old');
      assert.equal(await ledger.locks.heartbeat('deploy:web', a), false, 'the old holder learns it lost the lock');
      await ledger.locks.release('deploy:web', b);
      assert.equal(await ledger.locks.holder('deploy:web'), undefined);
    });
    it('models: versions, aliases with history, datasets, lineage and uses', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const runId = await ledger.runs.insert({ ...run, kind: 'train' }, 1000);
      await ledger.models.recordTree({ digest: 'sha256:tree', sizeBytes: 3, mediaType: 'tree' }, [{ digest: 'sha256:f1', sizeBytes: 3 }], 1000);
      await ledger.models.attachToRun(runId, 'model.json', 'sha256:f1');
      await ledger.models.attachToRun(runId, 'model.json', 'sha256:f1');
      assert.deepEqual(await ledger.models.runArtifacts(runId), [{ name: 'model.json', digest: 'sha256:f1', sizeBytes: 3 }]);
      await ledger.models.recordDataset({ digest: 'sha256:ab_cd', path: 'data.csv', kind: 'file', sizeBytes: 9 }, runId, 1000);
      await ledger.models.recordDataset({ digest: 'sha256:ab_cd', path: 'data.csv', kind: 'file', sizeBytes: 9 }, runId, 1000);
      const entry = { model: 'churn', runId, artifactDigest: 'sha256:tree', params: { trees: 3 }, metrics: { auc: 0.8 }, actor: 'tester', source: `run:${runId}` };
      const [v1, v2] = await Promise.all([ledger.models.register(entry, 2000), ledger.models.register(entry, 2001)]);
      assert.deepEqual([v1!.version, v2!.version].sort(), [1, 2]);
      const moved = await ledger.models.moveAlias({ model: 'churn', alias: 'production', actor: 'tester', reason: 'first' }, () => ({ toVersion: 1 }), 3000);
      assert.deepEqual([moved.event!.fromVersion, moved.event!.toVersion, moved.event!.forced], [null, 1, false]);
      await ledger.models.moveAlias({ model: 'churn', alias: 'staging', actor: 'tester', reason: null }, async () => ({ toVersion: 2, forced: true }), 3001);
      const unchanged = await ledger.models.moveAlias({ model: 'churn', alias: 'staging', actor: 'tester', reason: null }, () => ({ toVersion: 2 }), 3002);
      assert.equal(unchanged.event, null);
      assert.deepEqual((await ledger.models.version('churn', 1))!.aliases, ['production']);
      assert.equal(await ledger.models.aliasHolder('churn', 'staging'), 2);
      const [summary] = await ledger.models.list();
      assert.deepEqual([summary!.versions, summary!.latestVersion, summary!.aliases], [2, 2, { production: 1, staging: 2 }]);
      assert.equal(await ledger.models.latestVersion('churn'), 2);
      assert.deepEqual((await ledger.models.versions('churn', 10)).map((v) => v.version), [2, 1]);
      assert.equal((await ledger.models.versionsOfRun(runId)).length, 2);
      assert.deepEqual((await ledger.models.aliasEvents('churn', undefined, 10)).map((e) => e.alias), ['staging', 'production']);
      assert.equal((await ledger.models.aliasEventsBetween(2999, 3001)).length, 2);
      assert.deepEqual((await ledger.models.runDatasets(runId)).map((d) => d.digest), ['sha256:ab_cd']);
      assert.equal((await ledger.models.datasetsByPrefix('ab_c')).length, 1, 'a prefix with _ matches itself');
      assert.equal((await ledger.models.datasetsByPrefix('abXc')).length, 0, '_ is not a wildcard');
      assert.equal((await ledger.models.versionsTrainedOn('sha256:ab_cd')).length, 2);
      const scoreId = await ledger.risk.recordScore({ service: 'web', env: 'prod', commitRange: 'a..b', probability: 0.25, level: 'low', reasons: ['r'], modelVersionId: v1!.id, details: {} }, runId, 4000);
      await ledger.releases.create({ ...release('web'), riskScoreId: scoreId }, 4000);
      const uses = await ledger.models.uses(v1!.id, 10);
      assert.deepEqual([uses.riskScores[0]!.probability, uses.releases[0]!.revision], [0.25, 1]);
      assert.equal(await ledger.models.modelExists('churn'), true);
      assert.deepEqual(await ledger.models.modelNames(), ['churn']);
    });

    it('risk: mined commits and state, SZZ labels once, scores and failed releases', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const commit = (sha: string, seq: number) => ({ sha, seq, at: 1_700_000_000 + seq, author: 'a', subject: `c${seq}`, features: [seq, 0.5], kind: seq === 2 ? 'fix' : 'other', reason: seq === 2 ? 'fix: keyword' : '', details: seq === 2 ? { references: ['#1'] } : null });
      await ledger.risk.saveMined('/repo', [commit('c1', 0), commit('c2', 1)], 'c2', '{"count":2}', false, 1000);
      await ledger.risk.saveMined('/repo', [commit('c2', 1), commit('c3', 2)], 'c3', '{"count":3}', false, 2000);
      assert.deepEqual((await ledger.risk.commits('/repo')).map((c) => c.sha), ['c1', 'c2', 'c3']);
      assert.deepEqual((await ledger.risk.commitsBySha('/repo', ['c3', 'nope']))[0]!.features, [2, 0.5]);
      assert.deepEqual(await ledger.risk.miningState('/repo'), { head: 'c3', state: '{"count":3}' });
      const labels = [{ sha: 'c1', source: 'szz', evidence: 'fix c3' }];
      await ledger.risk.saveSzz('/repo', [{ sha: 'c3', outcome: { labelled: [] } }], labels, 3000);
      await ledger.risk.saveSzz('/repo', [{ sha: 'c3', outcome: { labelled: ['c1'] } }], labels, 3001);
      assert.deepEqual(await ledger.risk.labels('/repo'), [{ ...labels[0], at: 3000 }]);
      assert.deepEqual(await ledger.risk.fixOutcomes('/repo'), [{ sha: 'c3', outcome: { labelled: ['c1'] } }]);
      assert.deepEqual((await ledger.risk.commits('/repo')).map((c) => [c.kind, c.reason, c.details]), [['other', '', null], ['other', '', null], ['fix', 'fix: keyword', { references: ['#1'] }]]);
      assert.deepEqual([...(await ledger.risk.processedFixes('/repo'))], ['c3']);
      const scoreId = await ledger.risk.recordScore({ service: 'web', env: 'prod', commitRange: 'c1..c3', probability: 0.9, level: 'high', reasons: ['big'], modelVersionId: null, details: { deployFeatures: [1, 2] } }, null, 4000);
      assert.deepEqual(await ledger.risk.score(scoreId), { id: scoreId, probability: 0.9, level: 'high', reasons: ['big'], commitRange: 'c1..c3' });
      const ok = await ledger.releases.create({ ...release('web'), gitSha: 'c1' }, 5000);
      await ledger.releases.finish(ok.id, { status: 'deployed' }, 5001);
      const bad = await ledger.releases.create({ ...release('web'), gitSha: 'c3', riskScoreId: scoreId }, 6000);
      await ledger.releases.finish(bad.id, { status: 'failed', error: 'boom' }, 6001);
      assert.deepEqual(await ledger.risk.failedReleases(), [{ id: bad.id, service: 'web', env: 'prod', revision: 2, sha: 'c3', status: 'failed', previousSha: 'c1' }]);
      assert.deepEqual(await ledger.risk.scoredReleases(), [{ failed: true, createdAt: 6000, features: [1, 2] }]);
    });

    it('incidents: signals, grouping, severity, suspects, sources and notifications', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const store = ledger.incidents;
      const signal = { fingerprint: 'fp1', source: 'http:web', service: 'web', env: 'prod', condition: 'unhealthy', resource: 'web', severity: 'warning', message: 'down', details: { code: 503 } };
      const { incident, seen } = await store.atomically(async () => {
        const added = await store.recordSignal(signal, 1000);
        const seen = await store.recordSignal({ ...signal, message: 'still down', details: null }, 2000);
        assert.equal(seen.id, added.id, 'the live signal of a fingerprint is seen again, not added twice');
        const { incident } = await store.create({ signal: seen, title: 'web down', recurrenceOf: null }, 2000);
        await store.attachSignal(added.id, incident.id);
        return { incident, seen };
      });
      assert.deepEqual([seen.count, seen.message, seen.details], [2, 'still down', null]);
      assert.deepEqual([incident.state, incident.signalCount, incident.beganAt], ['open', 2, 1000]);
      await store.touch(incident.id, 3, 'critical', 1500);
      const touched = (await store.get(incident.id))!;
      assert.deepEqual([touched.signalCount, touched.severity, touched.lastSeenAt], [5, 'critical', 2000], 'last seen never moves back');
      assert.equal((await store.liveSignal('fp1'))!.incidentId, incident.id);
      assert.equal((await store.groupFor('web', 'prod', 1999))!.id, incident.id);
      assert.equal((await store.liveSignalsOfSource('http:web')).length, 1);
      assert.equal(await store.unresolvedCount(), 1);
      const r = await ledger.releases.create(release('web'), 500);
      const suspects: Suspect[] = [{ releaseId: r.id, rank: 1, score: 0.7, beforeMs: 500, risk: null }];
      await store.setSuspects(incident.id, suspects);
      await store.setSuspects(incident.id, [{ ...suspects[0]!, score: 0.8 }]);
      assert.deepEqual(await store.suspects(incident.id), [{ ...suspects[0]!, score: 0.8 }]);
      assert.deepEqual((await store.incidentsOfRelease(r.id)).map((i) => i.id), [incident.id]);
      assert.equal(await store.openAt('web', 'prod', 2500), 1);
      await store.clearSignal((await store.liveSignal('fp1'))!, 3000);
      assert.deepEqual((await store.quietSince(3500)).map((i) => i.id), [incident.id]);
      await store.acknowledge(incident.id, 'alice', 3100);
      await store.resolve(incident.id, { by: 'alice', cause: `release ${r.id}`, causeRelease: r.id }, 4000);
      await store.addEvent(incident.id, 'resolved', { by: 'alice' }, 4000);
      const resolved = (await store.get(incident.id))!;
      assert.deepEqual([resolved.state, resolved.acknowledgedBy, resolved.causeRelease], ['resolved', 'alice', r.id]);
      assert.equal(await store.lastResolvedWith('fp1'), incident.id);
      assert.equal(await store.liveSignal('fp1'), undefined, 'a resolved incident holds no live signal');
      assert.notEqual((await store.recordSignal(signal, 4100)).id, seen.id, 'after it resolved, the fingerprint starts a new signal');
      assert.deepEqual((await store.list({ state: 'resolved', service: 'web', limit: 5 })).map((i) => i.id), [incident.id]);
      assert.deepEqual(await store.events(incident.id), [{ at: 4000, kind: 'resolved', data: { by: 'alice' } }]);
      await store.recordCheck({ key: 'http:web', type: 'http', service: 'web', env: 'prod', error: null, memory: { n: 1 } }, 5000);
      await store.recordCheck({ key: 'http:web', type: 'http', service: 'web', env: 'prod', error: 'timeout' }, 6000);
      await store.recordCheck({ key: 'http:web', type: 'http', service: 'web', env: 'prod', error: 'timeout' }, 7000);
      assert.deepEqual(await store.sources(), [{ key: 'http:web', type: 'http', service: 'web', env: 'prod', checkedAt: 7000, okAt: 5000, error: 'timeout', errors: 2 }]);
      assert.deepEqual(await store.sourceMemory('http:web'), { n: 1 }, 'an error keeps what the source remembered');
      const note = { incidentId: incident.id, event: 'opened', target: 'https://hook/…', status: 'sent' as const, attempts: 1, error: null, at: 8000 };
      await store.recordNotification(note);
      assert.deepEqual(await store.notifications(incident.id), [note]);
      const saved = await ledger.triage.save({ incidentId: incident.id, actor: 'bob', evidence: { a: 1 }, hypotheses: [{ t: 'x' }], durationMs: 12, createdAt: 9000 });
      assert.deepEqual((await ledger.triage.latest(incident.id))!.evidence, { a: 1 });
      const action = { incidentId: incident.id, reportId: saved, action: 1, kind: 'restart', command: 'docker restart web', actor: 'bob', status: 'succeeded' as const, result: 'ok', at: 9100 };
      const actionId = await ledger.triage.recordAction(action);
      assert.deepEqual(await ledger.triage.actions(incident.id), [{ id: actionId, ...action }]);
    });


    it('incidents: one live signal and one open incident per fingerprint, held by unique keys across connections', async (t) => {
      const target = await freshLedger(t, backend);
      if (!target) return;
      // Four ledgers on one database (four connections, as four watch processes), no shared lock.
      const ledgers = Array.from({ length: 4 }, () => Ledger.open(target));
      t.after(() => Promise.all(ledgers.map((l) => l.close())));
      const signal = { fingerprint: 'fp-race', source: 'http:web', service: 'web', env: 'prod', condition: 'http-down', resource: 'web', severity: 'critical', message: 'down', details: null };
      for (let round = 0; round < 5; round++) {
        const seen = await Promise.all(ledgers.map((l, i) => l.incidents.recordSignal({ ...signal, message: `down ${round}.${i}` }, 1000 + round)));
        assert.equal(new Set(seen.map((s) => s.id)).size, 1, 'every process got the same signal row');
        const opened = await Promise.all(ledgers.map((l, i) => l.incidents.create({ signal: seen[i]!, title: 'web down', recurrenceOf: null }, 1000 + round)));
        assert.equal(new Set(opened.map((o) => o.incident.id)).size, 1, 'every process got the same incident');
        assert.equal(opened.filter((o) => o.created).length, round === 0 ? 1 : 0, 'exactly one process opened it');
      }
      const [a] = ledgers;
      assert.deepEqual(await a!.db.get(`SELECT count(*) AS n, max(count) AS seen FROM incident_signals`), { n: 1, seen: 20 });
      assert.deepEqual(await a!.db.get(`SELECT count(*) AS n FROM incidents`), { n: 1 });
      await assert.rejects(
        a!.db.run(`INSERT INTO incidents (fingerprint, live_fingerprint, service, env, condition, state, title, opened_at, last_seen_at) VALUES ('fp-race', 'fp-race', 'web', 'prod', 'http-down', 'open', 'again', 1, 1)`),
        /UNIQUE constraint failed: incidents.live_fingerprint|duplicate key value violates unique constraint "incidents_live"/,
        'the database itself refuses a second live incident of a fingerprint',
      );
    });
    it('a transaction that throws leaves nothing; queries from outside it wait for it or do not see it', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      await assert.rejects(
        ledger.transaction(async () => {
          await ledger.runs.insert(run, 1000);
          await ledger.releases.create(release('web'), 1000);
          throw new Error('half-way');
        }),
        /half-way/,
      );
      assert.deepEqual(await ledger.db.get(`SELECT count(*) AS n FROM runs`), { n: 0 });
      assert.deepEqual(await ledger.db.get(`SELECT count(*) AS n FROM releases`), { n: 0 });
      let inside!: () => void;
      const holding = new Promise<void>((resolve) => (inside = resolve));
      let release_!: () => void;
      const letGo = new Promise<void>((resolve) => (release_ = resolve));
      const tx = ledger.transaction(async () => {
        await ledger.runs.insert(run, 2000);
        inside();
        await letGo;
        return (await ledger.db.get<{ n: number }>(`SELECT count(*) AS n FROM runs`))!.n;
      }, { lock: 'test' });
      await holding;
      const outside = ledger.db.get<{ n: number }>(`SELECT count(*) AS n FROM runs`);
      setTimeout(release_, 100);
      assert.equal(await tx, 1, 'the transaction sees its own insert');
      assert.ok([0, 1].includes((await outside)!.n));
      if (backend === 'sqlite') assert.equal((await outside)!.n, 1, 'SQLite: the outside query waited for the commit');
      else assert.equal((await outside)!.n, 0, 'PostgreSQL: the outside query did not see the uncommitted row');
    });

    it('8 processes writing 100 runs each into one ledger lose nothing', { timeout: 300_000 }, async (t) => {
      const target = await freshLedger(t, backend);
      if (!target) return;
      const results = await spawnWriters(target, 8, 100);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const ledger = Ledger.open(target);
      t.after(() => ledger.close());
      assert.deepEqual(await ledger.db.get(`SELECT count(*) AS n FROM runs WHERE status = 'succeeded'`), { n: 800 });
      assert.deepEqual(await ledger.db.get(`SELECT count(*) AS n FROM run_logs`), { n: 800 });
      assert.deepEqual(await ledger.db.get(`SELECT count(DISTINCT pid) AS n FROM runs`), { n: 8 });
    });
  });
}

describe('PostgreSQL schema', () => {
  it('8 processes starting on an empty database migrate it exactly once', { timeout: 120_000 }, async (t) => {
    const target = await freshLedger(t, 'postgres');
    if (!target) return;
    const results = await spawnWriters(target, 8, 1);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const ledger = Ledger.open(target);
    t.after(() => ledger.close());
    const applied = await ledger.db.all<{ version: number; n: number }>(`SELECT version, count(*) AS n FROM ops_schema GROUP BY version ORDER BY version`);
    assert.deepEqual(applied, Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1, n: 1 })));
    assert.deepEqual(await ledger.db.get(`SELECT count(*) AS n FROM runs`), { n: 8 });
  });

  it('a database newer than this ops is refused before anything is written', async (t) => {
    const target = await freshLedger(t, 'postgres');
    if (!target) return;
    const server = await postgresServer();
    if (typeof server === 'string') return;
    const first = Ledger.open(target);
    await first.schemaVersion();
    await first.close();
    const database = new URL(target).pathname.slice(1);
    server.psql(database, `INSERT INTO ops_schema (version) VALUES (${SCHEMA_VERSION + 1})`);
    const ledger = Ledger.open(target);
    t.after(() => ledger.close());
    await assert.rejects(ledger.runs.insert(run, 1000), /schema version \d+, newer than this ops understands/);
    assert.equal(server.psql(database, 'SELECT count(*) FROM runs'), '0');
    assert.doesNotMatch(String(await ledger.runs.list({ limit: 1 }).catch((e: Error) => e.message)), new RegExp(new URL(target).password));
  });
});
