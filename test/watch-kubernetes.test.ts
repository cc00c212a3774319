import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { startFakeKube, type FakeKube } from './helpers/fake-kube.js';
import { watchProject } from './helpers/watch.js';

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

function pod(name: string, status: Record<string, unknown>): Record<string, unknown> {
  return { metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'registry.local/web:1' }] }, status };
}

const running = (restartCount = 0) => ({ name: 'app', image: 'registry.local/web:1', ready: true, restartCount, state: { running: { startedAt: ago(60_000) } } });
const waiting = (reason: string, message: string, extra: Record<string, unknown> = {}) => ({ name: 'app', image: 'registry.local/web:1', ready: false, restartCount: 0, state: { waiting: { reason, message } }, ...extra });

/** One object per condition the kubernetes source knows, stored as the API server would serve them. */
function seed(kube: FakeKube, restarts: number): void {
  const put = (resource: string, obj: Record<string, unknown>) => kube.put(resource, 'default', obj);
  put('pods', pod('web-crash', { phase: 'Running', containerStatuses: [{ ...waiting('CrashLoopBackOff', 'back-off 40s restarting failed container'), restartCount: 5, lastState: { terminated: { reason: 'Error', exitCode: 3, finishedAt: ago(5000) } } }] }));
  put('pods', pod('web-pull', { phase: 'Pending', containerStatuses: [waiting('ErrImagePull', 'manifest unknown')] }));
  put('pods', pod('web-badname', { phase: 'Pending', containerStatuses: [waiting('InvalidImageName', 'couldn\'t parse image reference "Web:latest"')] }));
  put('pods', pod('web-config', { phase: 'Pending', containerStatuses: [waiting('CreateContainerConfigError', 'secret "db" not found')] }));
  put('pods', pod('web-run', { phase: 'Pending', containerStatuses: [waiting('RunContainerError', 'exec: "/app": permission denied')] }));
  put('pods', pod('web-oom', { phase: 'Running', containerStatuses: [{ ...running(2), lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] }));
  put('pods', pod('web-exit', { phase: 'Failed', containerStatuses: [{ name: 'app', image: 'registry.local/web:1', ready: false, restartCount: 0, state: { terminated: { reason: 'Error', exitCode: 2 } } }] }));
  put('pods', pod('web-flaky', { phase: 'Running', containerStatuses: [running(restarts)] }));
  put('pods', pod('web-pending', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] }));
  put('pods', pod('web-probe', { phase: 'Running', containerStatuses: [running()] }));
  put('pods', pod('web-evicted', { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }));
  put('pods', { metadata: { name: 'other-crash', labels: { app: 'other' } }, status: { phase: 'Running', containerStatuses: [waiting('CrashLoopBackOff', 'not ours')] } });
  put('events', { metadata: { name: 'probe.1' }, involvedObject: { kind: 'Pod', name: 'web-probe' }, reason: 'Unhealthy', message: 'Readiness probe failed: HTTP probe failed with statuscode: 500', count: 4, lastTimestamp: ago(5000), type: 'Warning' });
  put('events', { metadata: { name: 'sched.1' }, involvedObject: { kind: 'Pod', name: 'web-pending' }, reason: 'FailedScheduling', message: '0/3 nodes are available: 3 Insufficient memory.', count: 1, lastTimestamp: ago(5000), type: 'Warning' });
  put('events', { metadata: { name: 'old.1' }, involvedObject: { kind: 'Pod', name: 'web-crash' }, reason: 'Unhealthy', message: 'an old probe failure', count: 1, lastTimestamp: ago(3_600_000), type: 'Warning' });
  put('deployments', { metadata: { name: 'web', labels: { app: 'web' } }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'registry.local/web:1' }] } } }, status: { replicas: 3, availableReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-5d4f" has timed out progressing.' }] } });
  put('services', { metadata: { name: 'web', labels: { app: 'web' } }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  put('endpoints', { metadata: { name: 'web', labels: { app: 'web' } }, subsets: [{ notReadyAddresses: [{ ip: '10.0.0.7' }], ports: [{ port: 8080 }] }] });
}

async function kube(t: TestContext): Promise<FakeKube> {
  const fake = await startFakeKube();
  t.after(() => fake.close());
  return fake;
}

describe('ops watch: kubernetes sources (real kubectl, the test suite\'s fake API server)', () => {
  it('names every condition k8sgpt and Skaffold check, in one incident for the service, and counts rising restarts', async (t) => {
    const fake = await kube(t);
    seed(fake, 1);
    const p = watchProject(
      t,
      ['project: shop', 'environments:', '  prod: { target: kubernetes, namespace: default }', 'watch:', '  sources:', '    - { type: kubernetes, service: web, env: prod }'].join('\n'),
      { KUBECONFIG: fake.kubeconfig },
    );
    const first = await p.ops(['watch', '--once']);
    assert.equal(first.code, 1, first.stderr);
    const signals = first.json.sources[0].signals as Array<{ condition: string; resource: string; message: string }>;
    const found = Object.fromEntries(signals.map((s) => [`${s.condition} ${s.resource}`, s.message]));
    assert.deepEqual(Object.keys(found).sort(), [
      'CrashLoopBackOff web-crash/app',
      'CreateContainerConfigError web-config/app',
      'Evicted web-evicted',
      'ImagePullBackOff web-pull/app',
      'InvalidImageName web-badname/app',
      'NoReadyEndpoints service/web',
      'OOMKilled web-oom/app',
      'ProbeFailed web-probe',
      'ProgressDeadlineExceeded deployment/web',
      'ReplicasUnavailable deployment/web',
      'RunContainerError web-run/app',
      'Terminated web-exit/app',
      'Unschedulable web-pending',
    ]);
    assert.match(found['CrashLoopBackOff web-crash/app']!, /CrashLoopBackOff \(5 restarts\), last Error with exit code 3/);
    assert.match(found['Unschedulable web-pending']!, /3 Insufficient memory/);
    assert.match(found['ProbeFailed web-probe']!, /Readiness probe failed.*\(x4\)/);
    assert.match(found['ReplicasUnavailable deployment/web']!, /1 of 3 replicas available/);
    assert.match(found['NoReadyEndpoints service/web']!, /no ready endpoints \(1 not ready\)/);
    assert.equal(first.json.opened.length, 1, 'one service, one incident');
    assert.equal(first.json.opened[0].signalCount, 13);

    // The flaky pod restarts twice between cycles.
    seed(fake, 3);
    const second = await p.ops(['watch', '--once']);
    const rising = second.json.sources[0].signals.find((s: any) => s.condition === 'RestartsRising');
    assert.equal(rising?.resource, 'web-flaky/app');
    assert.match(rising.message, /restarted 2 time\(s\) since the last check \(3 in all\)/);
    assert.equal(second.json.opened.length, 0);
    const detail = (await p.ops(['incident', 'show', String(first.json.opened[0].id)])).json;
    assert.equal(detail.signals.length, 14);
    assert.ok(fake.requests.some((r) => r.startsWith('GET /api/v1/namespaces/default/pods?labelSelector=app%3Dweb')), fake.requests.join('\n'));

    // Run hourly from cron, an event of an hour ago is still news; every 30 s (the default) it is not.
    const probes = (report: any) => report.sources[0].signals.filter((s: any) => s.condition === 'ProbeFailed').map((s: any) => s.resource).sort();
    assert.deepEqual(probes(second.json), ['web-probe']);
    const hourly = await p.ops(['watch', '--once', '--interval', '1h']);
    assert.deepEqual(probes(hourly.json), ['web-crash', 'web-probe']);
  });

  it('records an API server that does not answer as a source error', async (t) => {
    const fake = await kube(t);
    await fake.close();
    const p = watchProject(
      t,
      ['project: shop', 'environments:', '  prod: { target: kubernetes }', 'watch:', '  sources:', '    - { type: kubernetes, service: web, env: prod }'].join('\n'),
      { KUBECONFIG: fake.kubeconfig },
    );
    const r = await p.ops(['watch', '--once']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.sources[0].ok, false);
    assert.match(r.json.sources[0].error, /kubectl get .*connection refused/);
    assert.deepEqual(r.json.open, []);
  });
});
