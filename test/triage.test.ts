import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Evidence } from '../src/core/triage/evidence.js';
import { diagnose, explainCrash } from '../src/core/triage/rules.js';
import { renderMarkdown } from '../src/cli/triage-report.js';
import { engineWithBaseImage, registry } from './helpers/engine.js';
import { startFakeKube } from './helpers/fake-kube.js';
import { PROJECT_ROOT, runOpsInTerminal } from './helpers/ops.js';
import { container, recorder, untilContainer, watchProject } from './helpers/watch.js';

const causes = (report: any) => report.hypotheses.map((h: { cause: string; title: string }) => [h.cause, h.title]);

describe('ops triage: rules on real Docker failures', () => {
  it('names out of memory, a crash with a missing env var and a failing health check, each from its own evidence', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const project = `tr-${randomBytes(3).toString('hex')}`;
    const p = watchProject(
      t,
      [`project: ${project}`, 'environments:', '  local: { target: docker }', 'watch:', '  sources:', ...['hog', 'crash', 'sick'].map((s) => `    - { type: docker, service: ${s}, env: local }`)].join('\n'),
    );
    const hog = container(t, project, 'hog', ['--memory', '16m', '--memory-swap', '16m'], 'echo filling memory; tail /dev/zero');
    const crashing = container(t, project, 'crash', ['--restart', 'always'], 'echo starting api; echo "error: environment variable DATABASE_URL is not set" >&2; exit 1');
    const sick = container(t, project, 'sick', ['--health-cmd', 'echo "GET /health: 503 Service Unavailable"; exit 1', '--health-interval', '1s', '--health-retries', '1'], 'echo serving; sleep 3600');
    await untilContainer(hog, 'killed for memory', (s) => s.OOMKilled || s.ExitCode === 137);
    await untilContainer(crashing, 'restarted', (s) => s.RestartCount > 0);
    await untilContainer(sick, 'unhealthy', (s) => s.Health?.Status === 'unhealthy');
    const watched = await p.ops(['watch', '--once']);
    assert.equal(watched.code, 1, watched.stderr);
    const ids = Object.fromEntries(watched.json.opened.map((i: { service: string; id: number }) => [i.service, i.id]));

    const oom = await p.ops(['triage', String(ids.hog)]);
    assert.equal(oom.code, 0, oom.stderr);
    assert.deepEqual(causes(oom.json), [['oom', `out of memory: ${hog} exceeded its 16.0 MiB limit`]]);
    // Under load the engine may report the kill as exit 137 without OOMKilled: both name the cause.
    const [killed, ...rest] = oom.json.hypotheses[0].evidence.slice(0, 3);
    assert.ok(
      [`${hog} was OOMKilled (exit code 137, 0 restarts)`, `${hog} was killed by SIGKILL (exit code 137, 0 restarts) under a memory limit; the engine did not flag OOMKilled`].includes(killed),
      killed,
    );
    assert.deepEqual(rest, [
      'memory limit 16.0 MiB',
      'last usage seen: none (the container was not running when triage asked)',
    ]);
    assert.deepEqual(
      oom.json.hypotheses[0].actions.map((a: { spec: { kind: string; to: string } }) => [a.spec.kind, a.spec.to]),
      [['raise-memory', '32m']],
    );
    assert.deepEqual(oom.json.evidence.containers[0].logs, ['filling memory']);

    const crash = await p.ops(['triage', String(ids.crash)]);
    assert.deepEqual(causes(crash.json), [['crash-on-start', 'crash on start: missing environment variable DATABASE_URL']]);
    assert.ok(crash.json.hypotheses[0].evidence.includes('log: error: environment variable DATABASE_URL is not set'), crash.json.hypotheses[0].evidence.join('\n'));
    assert.equal(crash.json.hypotheses[0].confidence, 0.85);
    const restart = crash.json.hypotheses[0].actions[0];
    assert.match(restart.command, /^docker restart /, 'no release to roll back to: restart');

    // On a terminal --apply asks first: "no" runs nothing; "yes" restarts, and the watch cycles after it
    // (up to 20 s for a clean one) see the crash again, so the incident stays open (exit 1).
    const apply = ['triage', String(ids.crash), '--apply', String(restart.n)];
    const declined = await runOpsInTerminal(apply, p.dir, [[/Run "docker restart \S+" for incident #\d+\?/, 'n\r']]);
    assert.equal(declined.code, 1, declined.stdout);
    assert.match(declined.stdout, /not applied: declined at the prompt/);
    const confirmed = await runOpsInTerminal(apply, p.dir, [[/Run "docker restart/, 'y\r']], 90_000);
    assert.equal(confirmed.code, 1, confirmed.stdout);
    assert.match(confirmed.stdout, new RegExp(`action ${restart.n} succeeded: restarted ${project}-crash-`));
    assert.match(confirmed.stdout, /still failing: .*keeps restarting/);
    const recorded = (await p.ops(['incident', 'show', String(ids.crash)])).json;
    assert.equal(recorded.incident.state, 'open');
    assert.deepEqual(
      recorded.timeline.filter((e: { kind: string }) => e.kind === 'action').map((e: { data: { n: number; status: string } }) => [e.data.n, e.data.status]),
      [[restart.n, 'succeeded']],
    );

    const health = await p.ops(['triage', String(ids.sick), '--format', 'markdown']);
    assert.equal(health.code, 0, health.stderr);
    assert.match(health.stdout, new RegExp(`1\\. \\*\\*failing health probe: ${sick}'s HEALTHCHECK\\*\\* \\(75%, health-probe\\)`));
    assert.match(health.stdout, /probe \(exit 1\): GET \/health: 503 Service Unavailable/);

    // A plain triage reads only; the report an action was applied from is stored with its incident.
    const triagedEvents = async (id: number) =>
      (await p.ops(['incident', 'show', String(id)])).json.timeline.filter((e: { kind: string }) => e.kind === 'triaged').map((e: { data: { top: string } }) => e.data.top);
    assert.deepEqual(await triagedEvents(ids.sick), [], 'triage without --apply records nothing');
    assert.deepEqual(await triagedEvents(ids.crash), ['crash on start: missing environment variable DATABASE_URL'], 'one report: the applied one, not the declined one');
  });

  it('reads why a process died from its last log lines', () => {
    const cases: Array<[string[], number, string | null]> = [
      [['starting', 'KeyError: \'STRIPE_KEY\''], 1, 'missing environment variable STRIPE_KEY'],
      [['fatal: missing required env var: REDIS_URL'], 1, 'missing environment variable REDIS_URL'],
      [['open /etc/app/config.yaml: no such file or directory'], 1, 'missing file'],
      [['Error: ENOENT: no such file or directory, open \'/data/seed.json\''], 1, 'missing file'],
      [['exec /app/server: exec format error'], 1, 'exec format error (the image was built for another platform)'],
      [['sh: serve: not found'], 127, 'bad command'],
      [['exec: "gunicorn": executable file not found in $PATH'], 127, 'bad command'],
      [['listening', 'bye'], 127, 'bad command'],
      [['listening', 'bye'], 1, null],
    ];
    for (const [lines, exitCode, what] of cases) assert.equal(explainCrash(lines, exitCode)?.what ?? null, what, lines.join(' | '));
  });
});

describe('ops triage: rules on Kubernetes failures (real kubectl, the suite\'s fake API server, the real registry)', () => {
  it('ranks OOM, an absent image, a missing secret, a crash loop, an unschedulable pod and failing probes', async (t) => {
    const host = await registry(t);
    if (!host) return;
    const kube = await startFakeKube();
    t.after(() => kube.close());
    const absent = `${host}/ops-test/absent-${randomBytes(3).toString('hex')}:v1`;
    const image = 'registry.local/web:7';
    const pod = (name: string, status: Record<string, unknown>, extra: { image?: string; annotations?: Record<string, string>; memory?: string } = {}) =>
      kube.put('pods', 'default', {
        metadata: { name, labels: { app: 'web' }, annotations: extra.annotations ?? {} },
        spec: { containers: [{ name: 'app', image: extra.image ?? image, ...(extra.memory ? { resources: { limits: { memory: extra.memory } } } : {}) }] },
        status,
      });
    const waiting = (reason: string, message: string, more: Record<string, unknown> = {}) => ({ name: 'app', image, ready: false, restartCount: 0, state: { waiting: { reason, message } }, ...more });
    pod('web-oom', { phase: 'Running', containerStatuses: [{ name: 'app', image, ready: true, restartCount: 3, state: { running: {} }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] }, { memory: '64Mi', annotations: { 'fake.kube/logs': 'cache warmed\n', 'fake.kube/previous-logs': 'loading 2GB index\n' } });
    pod('web-pull', { phase: 'Pending', containerStatuses: [{ ...waiting('ImagePullBackOff', `Back-off pulling image "${absent}"`), image: absent }] }, { image: absent });
    pod('web-config', { phase: 'Pending', containerStatuses: [waiting('CreateContainerConfigError', 'secret "db-credentials" not found')] });
    pod(
      'web-crash',
      { phase: 'Running', containerStatuses: [waiting('CrashLoopBackOff', 'back-off 40s restarting failed container', { restartCount: 6, lastState: { terminated: { reason: 'Error', exitCode: 1 } } })] },
      { annotations: { 'fake.kube/logs': '', 'fake.kube/previous-logs': 'booting\nexec /app/server: exec format error\n' } },
    );
    pod('web-pending', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }] });
    const now = new Date().toISOString();
    kube.put('events', 'default', { metadata: { name: 'sched.1' }, involvedObject: { kind: 'Pod', name: 'web-pending' }, reason: 'FailedScheduling', message: '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient memory.', count: 2, lastTimestamp: now, type: 'Warning' });
    kube.put('events', 'default', { metadata: { name: 'probe.1' }, involvedObject: { kind: 'Pod', name: 'web-oom' }, reason: 'Unhealthy', message: 'Readiness probe failed: HTTP probe failed with statuscode: 503', count: 5, lastTimestamp: now, type: 'Warning' });
    kube.put('deployments', 'default', { metadata: { name: 'web', labels: { app: 'web' } }, spec: { replicas: 5, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image }] } } }, status: { replicas: 5, availableReplicas: 1 } });

    const p = watchProject(
      t,
      ['project: shop', 'environments:', '  prod: { target: kubernetes, namespace: default }', 'watch:', '  sources:', '    - { type: kubernetes, service: web, env: prod }'].join('\n'),
      { KUBECONFIG: kube.kubeconfig },
    );
    const watched = await p.ops(['watch', '--once']);
    assert.equal(watched.code, 1, watched.stderr);
    const triaged = await p.ops(['triage']);
    assert.equal(triaged.code, 0, triaged.stderr);
    assert.deepEqual(causes(triaged.json), [
      ['oom', 'out of memory: web-oom/app exceeded its 64Mi limit'],
      ['image-not-pullable', 'image not pullable: the tag is absent from the registry'],
      ['config-error', 'configuration error: secret "db-credentials" is missing'],
      ['crash-on-start', 'crash on start: exec format error (the image was built for another platform)'],
      ['unschedulable', 'unschedulable: not enough memory on any node; untolerated taints'],
      ['health-probe', 'failing health probe: the kubelet reports failed probes'],
    ]);
    const byCause = Object.fromEntries(triaged.json.hypotheses.map((h: { cause: string }) => [h.cause, h]));
    assert.ok(byCause['image-not-pullable'].evidence.includes(`registry: ${host} has no tag v1 in ${absent.slice(host.length + 1, -3)}`), byCause['image-not-pullable'].evidence.join('\n'));
    assert.equal(byCause['config-error'].actions[0].command, 'kubectl create secret generic db-credentials --namespace default --from-literal=<key>=<value>');
    assert.ok(byCause['crash-on-start'].evidence.includes('log: exec /app/server: exec format error'));
    assert.equal(byCause['health-probe'].actions[0].command, 'kubectl rollout restart deployment/web --namespace default');

    const k = triaged.json.evidence.kubernetes;
    assert.deepEqual(k.pods.map((x: { name: string }) => x.name).sort(), ['web-config', 'web-crash', 'web-oom', 'web-pending', 'web-pull']);
    const oomPod = k.pods.find((x: { name: string }) => x.name === 'web-oom');
    assert.match(oomPod.describe, /^Name:\s+web-oom$/m, 'kubectl describe output is kept');
    assert.deepEqual([oomPod.containers[0].logs, oomPod.containers[0].previousLogs], [['cache warmed'], ['loading 2GB index']]);
    assert.match(k.deployment.describe, /^Name:\s+web$/m);
    assert.ok(k.events.some((e: { reason: string }) => e.reason === 'FailedScheduling'));
    const calls = triaged.json.evidence.calls.map((c: { call: string }) => c.call);
    assert.ok(calls.includes('kubectl logs web-oom -c app --previous') && calls.includes('kubectl describe pod web-crash'), calls.join('\n'));

    // Actions meant for a person are not run by --apply.
    const manual = await p.ops(['triage', '--apply', String(byCause['config-error'].actions[0].n), '--yes']);
    assert.equal(manual.code, 2, manual.stderr);
    assert.match(manual.stderr, /for a person to carry out: kubectl create secret generic db-credentials/);

    // A restart runs for real: kubectl stamps the pod template. The pods here stay broken, so the
    // check cycle finds the service failing and the incident stays open (exit 1).
    const restarted = await p.ops(['triage', '--apply', String(byCause['health-probe'].actions[0].n), '--yes']);
    assert.equal(restarted.code, 1, restarted.stderr);
    assert.deepEqual([restarted.json.applied.status, restarted.json.applied.result], ['succeeded', 'deployment/web restarted']);
    assert.deepEqual([restarted.json.applied.check.healthy, restarted.json.applied.incident.state], [false, 'open']);
    assert.match(kube.get('deployments', 'default', 'web')?.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], /^20\d\d-/);
  });
});

/** A stored report, built by hand: the markdown must not change unless the renderer does. */
function sampleEvidence(): Evidence {
  const began = Date.UTC(2026, 10, 20, 9, 30, 0);
  return {
    incident: { id: 7, service: 'api', env: 'prod', condition: 'oom-killed', title: 'api in prod: killed for memory (shop-api-prod-r4-1a2b)', state: 'open', severity: 'critical', beganAt: began, cause: null, causeRelease: null, resolvedBy: null },
    target: 'docker',
    signals: [{ condition: 'oom-killed', resource: 'shop-api-prod-r4-1a2b', message: 'shop-api-prod-r4-1a2b was killed for using too much memory (exit code 137)', count: 3, details: null, cleared: false }],
    containers: [
      {
        name: 'shop-api-prod-r4-1a2b', id: '0123456789ab', revision: 4, image: 'registry.local/api:4f00d', status: 'exited', exitCode: 137, oomKilled: true, restartCount: 0, error: '',
        startedAt: '2026-11-20T09:29:00Z', finishedAt: '2026-11-20T09:30:00Z', health: null, healthLog: [], memoryLimit: 64 * 1024 * 1024, memoryUsage: null,
        logs: ['listening on :8080', 'loading catalogue (1.2M items)'],
      },
    ],
    kubernetes: null,
    images: [{ image: 'registry.local/api:4f00d', local: true, registry: 'present', detail: 'registry.local has api:4f00d' }],
    releases: [
      {
        releaseId: 41, service: 'api', revision: 4, image: 'registry.local/api:4f00d', gitSha: '4f00d00000000000000000000000000000000000', status: 'deployed', description: 'upgrade',
        createdAt: '2026-11-20T09:20:00.000Z', finishedAt: '2026-11-20T09:21:00.000Z', rank: 1, suspectScore: 0.81, beforeMs: 9 * 60_000,
        previous: { releaseId: 38, revision: 3, image: 'registry.local/api:3c0ffee', gitSha: '3c0ffee000000000000000000000000000000000', configHash: 'sha256:aaaa' },
        rollbackTarget: { releaseId: 38, revision: 3, image: 'registry.local/api:3c0ffee' },
        diff: { files: [{ path: 'src/catalogue.ts', added: 120, deleted: 4 }, { path: 'ops.config.yaml', added: 1, deleted: 1 }], stat: '2 files changed, 121 insertion(s)(+), 5 deletion(s)(-)' },
        risk: { probability: 0.74, level: 'medium', reasons: ['touches 2 files across 2 subsystems', 'author new to this subsystem'], model: 'risk-scorer@3' },
        gate: { overridden: true, reason: 'hotfix approved by on-call' },
        configHash: 'sha256:bbbb', configChanged: true,
      },
    ],
    modelMoves: [{ id: 3, model: 'ranker', alias: 'production', fromVersion: 2, toVersion: 3, actor: 'ci', reason: 'nightly', forced: false, at: '2026-11-20T09:00:00.000Z' }],
    configChanges: [{ releaseId: 41, fromRevision: 3, toRevision: 4, fromHash: 'sha256:aaaa', toHash: 'sha256:bbbb' }],
    correlationWindowMs: 3600_000,
    calls: [],
  };
}

describe('ops triage: a kill the engine did not flag', () => {
  it('reads exit 137 under a memory limit as out of memory, not as a crash', () => {
    const evidence = sampleEvidence();
    evidence.releases = [];
    evidence.modelMoves = [];
    evidence.containers[0]!.oomKilled = false;
    const [first, ...others] = diagnose(evidence);
    assert.deepEqual([first!.cause, first!.confidence, first!.evidence[0]], ['oom', 0.8, 'shop-api-prod-r4-1a2b was killed by SIGKILL (exit code 137, 0 restarts) under a memory limit; the engine did not flag OOMKilled']);
    assert.deepEqual(others, []);
    evidence.containers[0]!.memoryLimit = 0;
    assert.deepEqual(diagnose(evidence).map((h) => h.cause), ['crash-on-start'], 'without a limit, a SIGKILL is not read as memory');
  });
});

describe('ops triage: rollback targets and recorded causes', () => {
  it('rolls back a dependency\'s release in its own service, and never pairs it with the service\'s containers', () => {
    const evidence = sampleEvidence();
    evidence.releases[0]!.service = 'db';
    const deploy = diagnose(evidence).find((h) => h.cause === 'bad-deploy')!;
    assert.equal(deploy.title, 'bad deploy of db r4', 'api\'s r4 container is not db\'s r4');
    assert.deepEqual(deploy.actions.map((a) => a.command), ['ops deploy rollback db --env prod --to 3']);
  });

  it('offers no rollback without a healthy release before the suspect, and says why', () => {
    const evidence = sampleEvidence();
    evidence.releases[0]!.rollbackTarget = null;
    const hypotheses = diagnose(evidence);
    assert.deepEqual(hypotheses.flatMap((h) => h.actions.filter((a) => a.spec.kind === 'rollback')), []);
    assert.ok(hypotheses[0]!.evidence.includes('no healthy release of api before it to roll back to'), hypotheses[0]!.evidence.join('\n'));
  });

  it('puts a resolved incident\'s recorded cause first, whatever the rules see now', () => {
    const evidence = sampleEvidence();
    evidence.incident = { ...evidence.incident, state: 'resolved', cause: 'disk full on node-3', resolvedBy: 'ada' };
    const [first, second] = diagnose(evidence);
    assert.deepEqual([first!.rank, first!.cause, first!.title, first!.evidence], [1, 'recorded', 'recorded cause: disk full on node-3', ['recorded cause: disk full on node-3 (named when ada resolved the incident)']]);
    assert.equal(second!.title, 'bad deploy of r4: out of memory: shop-api-prod-r4-1a2b exceeded its 64.0 MiB limit');
    // Named as a release: that release's hypothesis is first, even below others on the evidence alone.
    evidence.incident = { ...evidence.incident, cause: 'release 41 (api r4 in prod)', causeRelease: 41 };
    evidence.containers = [];
    const ranked = diagnose(evidence);
    assert.deepEqual([ranked[0]!.releaseId, ranked[0]!.confidence, ranked[0]!.evidence[0]], [41, 0.95, 'recorded cause: release 41 (api r4 in prod) (named when ada resolved the incident)']);
  });
});

describe('ops triage --format markdown', () => {
  it('renders a stored report the same way every time (snapshot)', () => {
    const evidence = sampleEvidence();
    const markdown = renderMarkdown({ incidentId: 7, evidence, hypotheses: diagnose(evidence) });
    const snapshot = join(PROJECT_ROOT, 'test', 'fixtures', 'triage-report.md');
    if (process.env.UPDATE_SNAPSHOTS === '1') writeFileSync(snapshot, markdown);
    assert.ok(existsSync(snapshot), 'no snapshot: run with UPDATE_SNAPSHOTS=1 once and review it');
    assert.equal(markdown, readFileSync(snapshot, 'utf8'));
  });
});

describe('ops triage: a model promotion behind an incident', () => {
  it('moves the alias back, and the service it broke is healthy again', async (t) => {
    // The service answers with whatever model production points at; v2 makes it fail.
    let ledger: Database.Database | undefined;
    t.after(() => ledger?.close());
    const productionVersion = () => {
      ledger ??= new Database(p.ledger, { readonly: true });
      return (ledger.prepare(`SELECT version FROM model_aliases WHERE model = 'ranker' AND alias = 'production'`).get() as { version: number }).version;
    };
    const app = await recorder(t, (_req, res) => {
      res.writeHead(productionVersion() === 2 ? 500 : 200).end();
      return true;
    });
    const p = watchProject(
      t,
      [
        'project: shop',
        'environments:',
        '  prod: { target: docker }',
        'watch:',
        '  resolveAfter: 10m',
        '  sources:',
        `    - { type: http, service: search, env: prod, url: "${app.url}/health", failures: 1 }`,
      ].join('\n'),
    );
    writeFileSync(join(p.dir, 'train.js'), "require('node:fs').writeFileSync(require('node:path').join(process.env.OPS_ARTIFACT_DIR, 'metrics.json'), JSON.stringify({ auc: Number(JSON.parse(process.env.OPS_PARAMS).auc) }));\n");
    for (const auc of ['0.81', '0.83']) {
      const trained = await p.ops(['model', 'train', 'ranker', '--param', `auc=${auc}`, '--register', '--', 'node', 'train.js']);
      assert.equal(trained.code, 0, trained.stderr);
    }
    assert.equal((await p.ops(['model', 'promote', 'ranker@1', '--to', 'production'])).code, 0);
    assert.equal((await p.ops(['watch', '--once'])).code, 0, 'v1 serves');
    assert.equal((await p.ops(['model', 'promote', 'ranker@2', '--to', 'production', '--reason', 'better offline'])).code, 0);

    const watched = await p.ops(['watch', '--once']);
    assert.equal(watched.code, 1, watched.stderr);
    const incident = watched.json.opened[0];
    const triaged = await p.ops(['triage', String(incident.id)]);
    assert.equal(triaged.code, 0, triaged.stderr);
    const promotion = triaged.json.hypotheses.find((h: { cause: string }) => h.cause === 'model-promotion');
    assert.equal(promotion?.title, 'model promotion: ranker@production moved v1 -> v2', JSON.stringify(triaged.json.hypotheses));
    assert.match(promotion.evidence[0], /^ranker@production moved from v1 to v2 at .* \(better offline\)$/);
    const [back] = promotion.actions;
    assert.equal(back.command, 'ops model rollback ranker --alias production --to 1');

    const applied = await p.ops(['triage', String(incident.id), '--apply', String(back.n), '--yes']);
    assert.equal(applied.code, 0, `${applied.stderr}${JSON.stringify(applied.json?.applied)}`);
    assert.equal(applied.json.applied.result, 'ranker@production moved v2 -> v1');
    assert.equal(applied.json.applied.check.healthy, true, applied.json.applied.check.detail);
    assert.equal(applied.json.applied.incident.state, 'resolved');
    assert.equal(applied.json.applied.incident.cause, 'model promotion: ranker@production moved v1 -> v2');
    const history = await p.ops(['model', 'history', 'ranker', '--alias', 'production']);
    assert.deepEqual(
      history.json.map((e: { fromVersion: number | null; toVersion: number; reason: string | null }) => [e.fromVersion, e.toVersion, e.reason]),
      [
        [2, 1, `triage of incident #${incident.id}`],
        [1, 2, 'better offline'],
        [null, 1, null],
      ],
    );
  });
});
