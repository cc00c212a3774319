/**
 * A fake Kubernetes API server, owned by the test suite (no real API server can run here).
 *
 * It serves what the real kubectl uses for apply (server-side), get, logs, diff and rollout undo:
 * discovery, GET/LIST (label and field selectors), POST, PATCH (apply, JSON, merge), DELETE and
 * pod logs, for Deployments, ReplicaSets, Pods, Services, ConfigMaps and Events. A small controller
 * plays the Deployment and ReplicaSet controllers and the kubelet: every template change gets a
 * ReplicaSet with the next revision, pods follow a scenario chosen by their image:
 *   ready      the pod starts and becomes ready;
 *   crashloop  the container exits 1 and goes into CrashLoopBackOff;
 *   pull       ErrImagePull then ImagePullBackOff (by default whenever the image is absent from the
 *              real registry it names);
 *   stuck      the pod stays Pending (unschedulable) until the progress deadline passes.
 */
import { randomUUID, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Scenario = 'ready' | 'crashloop' | 'pull' | 'stuck';

type Obj = Record<string, any>;

interface ResourceType {
  group: string;
  version: string;
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
}

const ALL_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const TYPES: ResourceType[] = [
  { group: '', version: 'v1', name: 'pods', kind: 'Pod', namespaced: true, verbs: ALL_VERBS, shortNames: ['po'] },
  { group: '', version: 'v1', name: 'services', kind: 'Service', namespaced: true, verbs: ALL_VERBS, shortNames: ['svc'] },
  { group: '', version: 'v1', name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ALL_VERBS, shortNames: ['cm'] },
  { group: '', version: 'v1', name: 'events', kind: 'Event', namespaced: true, verbs: ALL_VERBS, shortNames: ['ev'] },
  { group: '', version: 'v1', name: 'endpoints', kind: 'Endpoints', namespaced: true, verbs: ALL_VERBS, shortNames: ['ep'] },
  { group: '', version: 'v1', name: 'namespaces', kind: 'Namespace', namespaced: false, verbs: ALL_VERBS, shortNames: ['ns'] },
  { group: 'apps', version: 'v1', name: 'deployments', kind: 'Deployment', namespaced: true, verbs: ALL_VERBS, shortNames: ['deploy'] },
  { group: 'apps', version: 'v1', name: 'replicasets', kind: 'ReplicaSet', namespaced: true, verbs: ALL_VERBS, shortNames: ['rs'] },
];

const REVISION = 'deployment.kubernetes.io/revision';
/** Objects stored with put(): served as given, never touched by the controller. */
const STATIC = 'fake.kube/static';
const STARTUP_MS = 300;
const CRASH_EVERY_MS = 400;

export interface FakeKube {
  url: string;
  kubeconfig: string;
  /** Every request kubectl made, "METHOD path". */
  requests: string[];
  /** Store an object as given (status included), outside the controller's reach; replaces one of the same name. */
  put(resource: string, namespace: string, obj: Obj): void;
  /** Force a scenario for an image (by exact reference or repository). */
  setScenario(image: string, scenario: Scenario): void;
  get(resource: string, namespace: string, name: string): Obj | undefined;
  list(resource: string, namespace: string): Obj[];
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function statusError(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function matchesLabels(labels: Record<string, string> = {}, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const neq = term.split('!=');
    if (neq.length === 2) return labels[neq[0]!.trim()] !== neq[1]!.trim();
    const [key, value] = term.split(/==?/);
    return value === undefined ? key!.trim() in labels : labels[key!.trim()] === value.trim();
  });
}

function matchesFields(obj: Obj, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [path, value] = term.split(/==?/);
    const actual = path!.split('.').reduce<any>((o, k) => o?.[k], obj);
    return String(actual) === value;
  });
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** RFC 6902 JSON patch (the operations kubectl rollout undo sends). */
function jsonPatch(target: Obj, ops: Array<{ op: string; path: string; value?: unknown }>): Obj {
  const out = structuredClone(target);
  for (const op of ops) {
    const keys = op.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop()!;
    const parent = keys.reduce<any>((o, k) => (o[k] ??= {}), out);
    if (op.op === 'remove') delete parent[last];
    else parent[last] = structuredClone(op.value);
  }
  return out;
}

/** Key order, nulls and empty objects differ between what kubectl sends and what we stored: hash a canonical form. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!value || typeof value !== 'object') return value;
  const empty = (v: unknown) => v === null || (typeof v === 'object' && Object.keys(v as object).length === 0);
  return Object.fromEntries(
    Object.entries(value)
      .map(([k, v]) => [k, canonical(v)] as const)
      .filter(([k, v]) => !empty(v) && k !== 'pod-template-hash')
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}
const templateHash = (template: unknown) => createHash('sha256').update(JSON.stringify(canonical(template))).digest('hex').slice(0, 10);

export async function startFakeKube(options: { registry?: string } = {}): Promise<FakeKube> {
  const store = new Map<string, Obj>();
  const requests: string[] = [];
  const scenarios = new Map<string, Scenario>();
  const registryAnswers = new Map<string, boolean>();
  let resourceVersion = 1;
  const key = (type: ResourceType, namespace: string | undefined, name: string) => `${type.name}/${type.namespaced ? namespace : ''}/${name}`;
  const typeByName = (name: string) => TYPES.find((t) => t.name === name);

  function save(type: ResourceType, obj: Obj): Obj {
    obj.metadata.resourceVersion = String(++resourceVersion);
    store.set(key(type, obj.metadata.namespace, obj.metadata.name), obj);
    return obj;
  }

  function listOf(type: ResourceType, namespace: string | undefined): Obj[] {
    return [...store.entries()]
      .filter(([k]) => k.startsWith(`${type.name}/${type.namespaced && namespace ? `${namespace}/` : ''}`))
      .map(([, v]) => v);
  }

  function create(type: ResourceType, namespace: string | undefined, body: Obj): Obj {
    const obj = structuredClone(body);
    obj.apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
    obj.kind = type.kind;
    obj.metadata ??= {};
    if (type.namespaced) obj.metadata.namespace = namespace ?? obj.metadata.namespace ?? 'default';
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString();
    obj.metadata.generation = 1;
    if (type.kind === 'Deployment') obj.status = { observedGeneration: 0 };
    return save(type, withDefaults(obj));
  }

  function withDefaults(obj: Obj): Obj {
    if (obj.kind === 'Deployment') {
      obj.spec.replicas ??= 1;
      obj.spec.progressDeadlineSeconds ??= 600;
    }
    return obj;
  }

  /** Apply a new desired object over the stored one, bumping generation when the spec changes. */
  function replaceSpec(type: ResourceType, current: Obj, next: Obj): Obj {
    const obj = structuredClone(next);
    obj.apiVersion = current.apiVersion;
    obj.kind = current.kind;
    obj.metadata = { ...current.metadata, labels: next.metadata?.labels ?? current.metadata.labels, annotations: next.metadata?.annotations ?? current.metadata.annotations };
    obj.status = current.status;
    withDefaults(obj);
    obj.metadata.generation = JSON.stringify(current.spec) === JSON.stringify(next.spec) ? current.metadata.generation : current.metadata.generation + 1;
    return save(type, obj);
  }

  async function imageInRegistry(image: string): Promise<boolean> {
    const slash = image.indexOf('/');
    const host = image.slice(0, slash);
    if (slash < 0 || !/[.:]/.test(host) || (options.registry && host !== options.registry)) return true;
    const rest = image.slice(slash + 1);
    const at = rest.includes('@') ? rest.indexOf('@') : rest.lastIndexOf(':');
    const url = `http://${host}/v2/${rest.slice(0, at)}/manifests/${rest.slice(at + 1)}`;
    if (!registryAnswers.has(url)) {
      const response = await fetch(url, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } }).catch(() => null);
      registryAnswers.set(url, Boolean(response?.ok));
    }
    return registryAnswers.get(url)!;
  }

  async function scenarioOf(image: string): Promise<Scenario> {
    const repository = image.replace(/[:@][^/]*$/, '');
    return scenarios.get(image) ?? scenarios.get(repository) ?? ((await imageInRegistry(image)) ? 'ready' : 'pull');
  }

  function podStatus(pod: Obj, now: number): Obj {
    const age = now - Date.parse(pod.metadata.creationTimestamp);
    const scenario = pod.metadata.annotations['fake.kube/scenario'] as Scenario;
    const containers = (pod.spec.containers as Obj[]).map((c) => ({ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false }));
    const waiting = (reason: string, message?: string) => containers.map((c) => ({ ...c, state: { waiting: { reason, ...(message ? { message } : {}) } } }));
    const conditions = (ready: boolean, scheduled = true) => [
      { type: 'PodScheduled', status: scheduled ? 'True' : 'False', ...(scheduled ? {} : { reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.' }) },
      { type: 'Ready', status: ready ? 'True' : 'False' },
    ];
    if (scenario === 'stuck') return { phase: 'Pending', conditions: conditions(false, false) };
    if (age < STARTUP_MS) return { phase: 'Pending', conditions: conditions(false), containerStatuses: waiting('ContainerCreating') };
    if (scenario === 'ready') {
      const started = new Date(Date.parse(pod.metadata.creationTimestamp) + STARTUP_MS).toISOString();
      return { phase: 'Running', conditions: conditions(true), containerStatuses: containers.map((c) => ({ ...c, ready: true, started: true, state: { running: { startedAt: started } } })) };
    }
    if (scenario === 'pull') {
      const message = `rpc error: code = NotFound desc = failed to pull and unpack image "${containers[0]!.image}": not found`;
      return { phase: 'Pending', conditions: conditions(false), containerStatuses: waiting(age < STARTUP_MS * 2 ? 'ErrImagePull' : 'ImagePullBackOff', message) };
    }
    const restarts = Math.floor((age - STARTUP_MS) / CRASH_EVERY_MS) + 1;
    return {
      phase: 'Running',
      conditions: conditions(false),
      containerStatuses: containers.map((c) => ({
        ...c,
        restartCount: restarts,
        state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${c.name} pod=${pod.metadata.name}` } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: pod.metadata.creationTimestamp, finishedAt: new Date(now).toISOString() } },
      })),
    };
  }

  async function reconcile(): Promise<void> {
    const now = Date.now();
    const rsType = typeByName('replicasets')!;
    const podType = typeByName('pods')!;
    for (const dep of listOf(typeByName('deployments')!, undefined)) {
      if (dep.metadata.annotations?.[STATIC]) continue;
      const ns = dep.metadata.namespace;
      const owned = listOf(rsType, ns).filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === dep.metadata.uid);
      const hash = templateHash(dep.spec.template);
      const maxRevision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations[REVISION])));
      let current = owned.find((rs) => rs.metadata.labels['pod-template-hash'] === hash);
      if (!current) {
        current = create(rsType, ns, {
          metadata: {
            name: `${dep.metadata.name}-${hash}`,
            labels: { ...dep.spec.template.metadata?.labels, 'pod-template-hash': hash },
            annotations: { ...dep.metadata.annotations, [REVISION]: String(maxRevision + 1) },
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name, uid: dep.metadata.uid, controller: true }],
          },
          spec: {
            replicas: dep.spec.replicas,
            selector: { matchLabels: { ...dep.spec.selector.matchLabels, 'pod-template-hash': hash } },
            template: { ...structuredClone(dep.spec.template), metadata: { ...dep.spec.template.metadata, labels: { ...dep.spec.template.metadata?.labels, 'pod-template-hash': hash } } },
          },
        });
        current.status = { replicas: 0 };
        owned.push(current);
      } else if (Number(current.metadata.annotations[REVISION]) !== maxRevision && dep.metadata.annotations?.[REVISION] !== current.metadata.annotations[REVISION]) {
        // A rollback to an older template: that ReplicaSet becomes the newest revision again.
        current.metadata.annotations[REVISION] = String(maxRevision + 1);
      }
      if (dep.metadata.annotations?.[REVISION] !== current.metadata.annotations[REVISION]) {
        dep.metadata.annotations = { ...dep.metadata.annotations, [REVISION]: current.metadata.annotations[REVISION] };
        dep.status.progressSince = now;
      }
      current.spec.replicas = dep.spec.replicas;

      const podsOf = (rs: Obj) => listOf(podType, ns).filter((p) => p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid);
      for (const rs of owned) {
        const pods = podsOf(rs);
        for (let i = pods.length; i < rs.spec.replicas; i++) {
          const image = rs.spec.template.spec.containers[0].image as string;
          const pod = create(podType, ns, {
            metadata: {
              name: `${rs.metadata.name}-${randomUUID().slice(0, 5)}`,
              labels: rs.spec.template.metadata.labels,
              annotations: { 'fake.kube/scenario': await scenarioOf(image) },
              ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true }],
            },
            spec: structuredClone(rs.spec.template.spec),
          });
          pod.status = podStatus(pod, now);
        }
        for (const extra of pods.slice(rs.spec.replicas)) store.delete(key(podType, ns, extra.metadata.name));
        for (const pod of podsOf(rs)) pod.status = podStatus(pod, now);
        const ready = podsOf(rs).filter((p) => p.status.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True')).length;
        rs.status = { replicas: podsOf(rs).length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation };
      }

      const newReady = current.status.availableReplicas as number;
      const complete = newReady >= dep.spec.replicas;
      if (complete) for (const rs of owned) if (rs !== current) rs.spec.replicas = 0;
      const all = owned.flatMap(podsOf);
      const available = owned.reduce((n, rs) => n + (rs.status.availableReplicas ?? 0), 0);
      const since = dep.status.progressSince ?? now;
      const overdue = !complete && now - since > dep.spec.progressDeadlineSeconds * 1000;
      dep.status = {
        ...dep.status,
        observedGeneration: dep.metadata.generation,
        replicas: all.length,
        updatedReplicas: podsOf(current).length,
        readyReplicas: available,
        availableReplicas: available,
        unavailableReplicas: Math.max(0, dep.spec.replicas - available),
        conditions: [
          { type: 'Available', status: available >= dep.spec.replicas ? 'True' : 'False', reason: available >= dep.spec.replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
          overdue
            ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${current.metadata.name}" has timed out progressing.` }
            : { type: 'Progressing', status: 'True', reason: complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: `ReplicaSet "${current.metadata.name}" is progressing.` },
        ],
      };
      if (!complete) dep.status.progressSince = since;
    }
  }

  function discovery(path: string): unknown {
    const resourceList = (group: string, version: string) => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: TYPES.filter((t) => t.group === group && t.version === version).flatMap((t) => [
        { name: t.name, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: t.verbs, shortNames: t.shortNames },
        ...(t.name === 'pods' ? [{ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] }] : []),
      ]),
    });
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] };
    if (path === '/apis') {
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } }] };
    }
    if (path === '/api/v1') return resourceList('', 'v1');
    if (path === '/apis/apps/v1') return resourceList('apps', 'v1');
    // OpenAPI v3, only as far as kubectl reads it: whether PATCH takes fieldValidation (then the
    // server, not kubectl, validates).
    if (path === '/openapi/v3') {
      return { paths: Object.fromEntries(['api/v1', 'apis/apps/v1'].map((gv) => [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=fake` }])) };
    }
    const openapi = /^\/openapi\/v3\/(api\/v1|apis\/apps\/v1)$/.exec(path);
    if (openapi) {
      const gv = openapi[1]!;
      const paths = Object.fromEntries(
        TYPES.filter((t) => (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`) === gv).map((t) => [
          `/${gv}/${t.namespaced ? 'namespaces/{namespace}/' : ''}${t.name}/{name}`,
          { patch: { 'x-kubernetes-group-version-kind': { group: t.group, version: t.version, kind: t.kind }, parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string' } }], responses: {} } },
        ]),
      );
      return { openapi: '3.0.0', info: { title: 'Kubernetes (fake)', version: 'v1.32.0' }, paths };
    }
    if (path === '/version') return { major: '1', minor: '32', gitVersion: 'v1.32.0-fake', platform: 'linux/amd64' };
    return undefined;
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://fake');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    await reconcile();
    const found = discovery(url.pathname);
    if (found) return json(res, 200, found);
    // /api/v1[/namespaces/ns]/resource[/name[/sub]] or /apis/group/version/...
    const parts = url.pathname.split('/').filter(Boolean);
    const [group, version, rest] = parts[0] === 'api' ? ['', parts[1], parts.slice(2)] : [parts[1], parts[2], parts.slice(3)];
    if (!rest || rest.length === 0) return statusError(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest.splice(0, 2);
    }
    const type = TYPES.find((t) => t.group === group && t.version === version && t.name === rest[0]);
    if (!type) return statusError(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const name = rest[1];
    const sub = rest[2];
    const dryRun = url.searchParams.get('dryRun') === 'All';

    if (req.method === 'GET' && !name) {
      const items = listOf(type, namespace).filter(
        (o) => matchesLabels(o.metadata.labels, url.searchParams.get('labelSelector')) && matchesFields(o, url.searchParams.get('fieldSelector')),
      );
      return json(res, 200, { kind: `${type.kind}List`, apiVersion: type.group ? `${type.group}/${type.version}` : type.version, metadata: { resourceVersion: String(resourceVersion) }, items });
    }
    const existing = name ? store.get(key(type, namespace, name)) : undefined;
    if (req.method === 'GET' && sub === 'log') {
      if (!existing) return statusError(res, 404, 'NotFound', `pods "${name}" not found`);
      const annotations = existing.metadata.annotations ?? {};
      if (annotations['fake.kube/logs'] !== undefined) {
        // Seeded logs: the current container's, and with ?previous=true the one before its restart.
        const previous = url.searchParams.get('previous') === 'true';
        const text = previous ? annotations['fake.kube/previous-logs'] : annotations['fake.kube/logs'];
        if (text === undefined) return statusError(res, 400, 'BadRequest', `previous terminated container "${existing.spec.containers[0].name}" in pod "${name}" not found`);
        const tail = Number(url.searchParams.get('tailLines') ?? Infinity);
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return void res.end(`${text.split('\n').filter(Boolean).slice(-tail).join('\n')}\n`);
      }
      const scenario = annotations['fake.kube/scenario'];
      if (scenario !== 'crashloop' && scenario !== 'ready') {
        return statusError(res, 400, 'BadRequest', `container "${existing.spec.containers[0].name}" in pod "${name}" is waiting to start: trying and failing to pull image`);
      }
      const lines = scenario === 'crashloop' ? ['starting web', 'loading config from /etc/web/config.yaml', 'fatal: required environment variable DATABASE_URL is not set'] : ['listening on :8080'];
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return void res.end(`${lines.join('\n')}\n`);
    }
    if (req.method === 'GET') {
      return existing ? json(res, 200, existing) : statusError(res, 404, 'NotFound', `${type.name}${type.group ? `.${type.group}` : ''} "${name}" not found`);
    }
    const text = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? '');
    if (req.method === 'POST') {
      const body = JSON.parse(text) as Obj;
      if (store.has(key(type, namespace, body.metadata.name))) return statusError(res, 409, 'AlreadyExists', `${type.name} "${body.metadata.name}" already exists`);
      return json(res, 201, dryRun ? body : create(type, namespace, body));
    }
    if (req.method === 'PATCH') {
      if (contentType.startsWith('application/apply-patch')) {
        const body = JSON.parse(text) as Obj;
        if (dryRun) return json(res, 200, withDefaults(existing ? { ...existing, spec: body.spec, metadata: { ...existing.metadata, ...body.metadata } } : body));
        return existing ? json(res, 200, replaceSpec(type, existing, body)) : json(res, 201, create(type, namespace, body));
      }
      if (!existing) return statusError(res, 404, 'NotFound', `${type.name} "${name}" not found`);
      const patch = JSON.parse(text);
      const next = contentType.includes('json-patch') ? jsonPatch(existing, patch) : mergePatch(existing, patch);
      if (dryRun) return json(res, 200, next);
      return json(res, 200, replaceSpec(type, existing, next));
    }
    if (req.method === 'DELETE') {
      if (!existing) return statusError(res, 404, 'NotFound', `${type.name} "${name}" not found`);
      store.delete(key(type, namespace, name!));
      return json(res, 200, existing);
    }
    statusError(res, 405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => statusError(res, 500, 'InternalError', err.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'ops-kube-')), 'config');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${url}`,
      'users:',
      '- name: tester\n  user:\n    token: fake-token',
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: default',
      'current-context: fake',
      '',
    ].join('\n'),
  );

  return {
    url,
    kubeconfig,
    requests,
    setScenario: (image, scenario) => void scenarios.set(image, scenario),
    put: (resource, namespace, obj) => {
      const type = typeByName(resource)!;
      const stored = structuredClone(obj);
      stored.apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
      stored.kind = type.kind;
      const previous = store.get(key(type, namespace, stored.metadata.name));
      stored.metadata = { uid: previous?.metadata.uid ?? randomUUID(), creationTimestamp: new Date().toISOString(), ...stored.metadata, namespace, annotations: { ...stored.metadata?.annotations, [STATIC]: 'true' } };
      save(type, stored);
    },
    get: (resource, namespace, name) => store.get(key(typeByName(resource)!, namespace, name)),
    list: (resource, namespace) => listOf(typeByName(resource)!, namespace),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
