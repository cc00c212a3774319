import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { deployProject, type DeployJson } from './helpers/deploy.js';
import { baseImage, dockerEngine, registry } from './helpers/engine.js';
import { startFakeKube, type FakeKube } from './helpers/fake-kube.js';
import { runOps } from './helpers/ops.js';

const MANIFEST = (image: string, progressDeadlineSeconds = 3) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  progressDeadlineSeconds: ${progressDeadlineSeconds}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;

const K8S_ENV = ['  k8s:', '    target: kubernetes', '    namespace: shop', '    manifests: k8s', '    deadline: 60s'].join('\n');

/** A project whose k8s environment points kubectl at a fresh fake API server; images go to the real registry. */
async function kubeProject(t: TestContext, extraEnv = '') {
  if (!(await dockerEngine(t)) || !(await baseImage(t))) return undefined;
  const registryAddr = await registry(t);
  if (!registryAddr) return undefined;
  const kube = await startFakeKube({ registry: registryAddr });
  t.after(() => kube.close());
  const p = await deployProject(t, { registry: registryAddr, environments: `${K8S_ENV}\n${extraEnv}` });
  p.env.KUBECONFIG = kube.kubeconfig;
  p.commit({ 'k8s/deployment.yaml': MANIFEST(p.image) }, 'manifests');
  return { p, kube, registryAddr };
}

const image = (kube: FakeKube) => kube.get('deployments', 'shop', 'web')?.spec.template.spec.containers[0].image as string | undefined;

describe('ops deploy (kubernetes target: real kubectl, fake API server, real registry)', () => {
  it('rolls out, fails fast on CrashLoopBackOff with the pod, container and log lines, and rolls back automatically', async (t) => {
    const setup = await kubeProject(t);
    if (!setup) return;
    const { p, kube } = setup;
    // --build: built, pushed to the real registry (the fake kubelet pulls from there), deployed.
    const r1 = await p.ops(['deploy', 'web', '--env', 'k8s', '--build']);
    assert.equal(r1.code, 0, r1.stderr);
    const first = (r1.json as DeployJson).image;
    assert.equal(first, `${p.image}:${p.git('rev-parse', '--short=7', 'HEAD')}`);
    assert.equal((r1.json as DeployJson).status, 'deployed');
    assert.equal(image(kube), first, 'the manifest image was substituted with the built reference');
    assert.equal(kube.get('deployments', 'shop', 'web')!.metadata.annotations['kubernetes.io/change-cause'], 'ops deploy web to k8s, release 1');
    assert.ok(kube.requests.some((r) => r.startsWith('PATCH /apis/apps/v1/namespaces/shop/deployments/web?fieldManager=ops')), 'kubectl applied server-side');

    const crashing = await p.release('crashing');
    kube.setScenario(crashing, 'crashloop');
    const r2 = await p.ops(['deploy', 'web', '--env', 'k8s']);
    assert.equal(r2.code, 1, r2.stderr);
    // Failed fast: the pod's state ended the wait, not the 60 s deadline.
    assert.doesNotMatch(r2.stderr, /deadline/);
    assert.match(r2.stderr, /error: web r2 to k8s failed: pod web-[0-9a-f]+-[0-9a-f]+ container web: CrashLoopBackOff \(last exit code 1, Error\)/);
    assert.match(r2.stderr, /rolled back: kubectl rollout undo deployment\/web: ready again/);
    assert.match(r2.stderr, /last log lines:\n(.*\n)*.*fatal: required environment variable DATABASE_URL is not set/);
    assert.equal(image(kube), first, 'kubectl rollout undo restored the previous template');

    const history = await p.ops(['deploy', 'history', 'web', '--env', 'k8s']);
    assert.deepEqual(
      (history.json as DeployJson[]).map((r) => [r.revision, r.status, r.image, r.description]),
      [
        [3, 'deployed', first, 'auto-rollback to 1 after 2 failed'],
        [2, 'rolled_back', crashing, 'upgrade'],
        [1, 'superseded', first, 'install'],
      ],
    );
    const status = await p.ops(['deploy', 'status', 'web', '--env', 'k8s']);
    assert.equal(status.code, 0, status.stderr);
    const [live] = (status.json as Array<{ live: { deployments: Array<{ name: string; available: number; desired: number; images: string[] }> } }>);
    assert.deepEqual(live!.live.deployments.map((d) => [d.name, d.available, d.desired, d.images]), [['web', 2, 2, [first]]]);
  });

  it('fails on an image absent from the registry, and on the progress deadline', async (t) => {
    const setup = await kubeProject(t, ['  k8s-manual:', '    target: kubernetes', '    namespace: shop', '    manifests: k8s', '    deadline: 60s', '    autoRollback: false'].join('\n'));
    if (!setup) return;
    const { p, kube, registryAddr } = setup;
    const absent = `${registryAddr}/ops-test/never-pushed:0000000`;
    const pull = await p.ops(['deploy', 'web', '--env', 'k8s-manual', '--image', absent]);
    assert.equal(pull.code, 1, pull.stderr);
    assert.match(pull.stderr, /pod web-\S+ container web: (ErrImagePull|ImagePullBackOff): rpc error: .*not found/);
    assert.equal((pull.json as DeployJson).status, 'failed');

    const stuck = await p.release('stuck');
    kube.setScenario(stuck, 'stuck');
    const deadline = await p.ops(['deploy', 'web', '--env', 'k8s-manual']);
    assert.equal(deadline.code, 1, deadline.stderr);
    assert.match(deadline.stderr, /deployment\/web: ProgressDeadlineExceeded: ReplicaSet "web-[0-9a-f]+" has timed out progressing/);
    assert.doesNotMatch(deadline.stderr, /not ready within the \d+ s deadline/, 'the Deployment condition ended the wait, not ops\'s own 60 s deadline');
    assert.equal(image(kube), stuck, 'autoRollback off: nothing was undone');
  });

  it('--dry-run renders the manifests and shows kubectl diff without changing anything; kustomize folders work', async (t) => {
    const setup = await kubeProject(t);
    if (!setup) return;
    const { p, kube } = setup;
    const first = await p.release('first');
    assert.equal((await p.ops(['deploy', 'web', '--env', 'k8s'])).code, 0);
    const second = await p.release('second');
    const before = kube.requests.filter((r) => r.startsWith('PATCH') && !r.includes('dryRun')).length;
    const dry = await runOps(['deploy', 'web', '--env', 'k8s', '--dry-run'], { cwd: p.dir, env: p.env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^-\\s+- image: ${first.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.match(dry.stdout, new RegExp(`^\\+\\s+- image: ${second.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.equal(image(kube), first, 'the cluster is unchanged');
    assert.equal(kube.requests.filter((r) => r.startsWith('PATCH') && !r.includes('dryRun')).length, before, 'only dry-run patches were sent');
    const history = await p.ops(['deploy', 'history', 'web', '--env', 'k8s']);
    assert.equal((history.json as DeployJson[]).length, 1, 'no release was recorded');

    p.commit({ 'k8s/kustomization.yaml': 'resources: [deployment.yaml]\nlabels:\n- pairs: {team: shop}\n' }, 'kustomize');
    const kustomized = await p.ops(['deploy', 'web', '--env', 'k8s', '--dry-run']);
    assert.equal(kustomized.code, 0, kustomized.stderr);
    const documents = (kustomized.json as { manifests: Array<{ kind: string; metadata: { labels?: Record<string, string> } }> }).manifests;
    assert.deepEqual(documents.map((d) => [d.kind, d.metadata.labels?.team]), [['Service', 'shop'], ['Deployment', 'shop']]);
  });

  it('rejects an unreadable manifests folder before contacting the cluster', async (t) => {
    const setup = await kubeProject(t);
    if (!setup) return;
    const { p, kube } = setup;
    const ledgerDir = join(p.dir, 'ledger-for-nobody');
    mkdirSync(ledgerDir, { mode: 0o777 });
    chmodSync(ledgerDir, 0o777);
    chmodSync(p.dir, 0o755);
    chmodSync(join(p.dir, 'k8s'), 0o000); // root removes it anyway at cleanup
    const before = kube.requests.length;
    const result = await runOps(['deploy', 'web', '--env', 'k8s', '--image', `${p.image}:abc1234`, '--ledger', join(ledgerDir, 'l.db')], {
      cwd: p.dir,
      env: { ...p.env, HOME: ledgerDir, XDG_CONFIG_HOME: ledgerDir, XDG_CACHE_HOME: ledgerDir },
      uid: 65534,
      gid: 65534,
    });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: cannot read manifests folder .*\/k8s: EACCES; fix environments\.<env>\.manifests, or the folder's permissions\n$/);
    assert.equal(kube.requests.length, before, 'kubectl never reached the cluster');
  });
});
