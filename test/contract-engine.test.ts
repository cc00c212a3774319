import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { listContainers, removeContainer, stopContainer } from '../src/adapters/docker.js';
import { HEALTHY_DOCKERFILE, UNHEALTHY_DOCKERFILE } from './helpers/deploy.js';
import { engineWithBaseImage } from './helpers/engine.js';
import { gitRepo } from './helpers/git.js';
import { cleanEnv, runOps, runOpsJson } from './helpers/ops.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TIME_KEY = /(^at$|At$|^time$|Time$|^date$|Date$|^since$|^until$)/;
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/**
 * Every timestamp-like field of a JSON document: by name (`at`, `...At`, `...Time`, `date`), any
 * string that reads like a date, and any number that would be epoch milliseconds of this century's
 * first half whatever its name. Each must be ISO 8601 UTC with Z (or null).
 */
function assertIsoTimes(value: unknown, where: string, path = '$'): number {
  let seen = 0;
  if (Array.isArray(value)) {
    value.forEach((item, i) => (seen += assertIsoTimes(item, where, `${path}[${i}]`)));
    return seen;
  }
  if (value === null || typeof value !== 'object') return 0;
  for (const [key, field] of Object.entries(value)) {
    const at = `${where} ${path}.${key}`;
    if (TIME_KEY.test(key) && field !== null && typeof field !== 'object') {
      assert.equal(typeof field, 'string', `${at} is ${JSON.stringify(field)}, not an ISO string`);
      assert.match(field as string, ISO_UTC, at);
      seen++;
    } else if (typeof field === 'string' && DATE_LIKE.test(field)) {
      assert.match(field, ISO_UTC, `${at} reads like a time: ${field}`);
      seen++;
    } else if (typeof field === 'number' && field > 1.4e12 && field < 2.6e12 && !/(Ms|Bytes|Size|size|count|Count)$/.test(key)) {
      assert.fail(`${at} is ${field}: epoch milliseconds?`);
    } else {
      seen += assertIsoTimes(field, where, `${path}.${key}`);
    }
  }
  return seen;
}

describe('one output contract on the real engine: several services, ops status, times', () => {
  it('deploys in dependsOn order, stops at the first failure, runs independent services in parallel; status shows it; every --json time is ISO UTC', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const project = `oc-${randomBytes(4).toString('hex')}`;
    const repo = gitRepo('ops-contract-');
    const env = cleanEnv();
    t.after(async () => {
      for (const c of await listContainers({}, process.env, { 'ops.project': project }).catch(() => [])) await removeContainer({}, process.env, c.id);
      repo.cleanup();
    });
    const service = (name: string, dependsOn: string[] = []) =>
      [`  ${name}:`, `    context: ${name}`, `    image: ops-test/${project}-${name}`, '    stopTimeout: 1s', '    health:', '      timeout: 30s', `    dependsOn: [${dependsOn.join(', ')}]`];
    const app = (name: string, dockerfile = HEALTHY_DOCKERFILE) => ({ [`${name}/Dockerfile`]: dockerfile, [`${name}/www/index.html`]: `${name}\n`, [`${name}/www/health`]: 'ok\n' });
    repo.commit(
      {
        'ops.config.yaml': [
          `project: ${project}`,
          'services:',
          ...service('db'),
          ...service('web', ['db']),
          ...service('worker'),
          'environments:',
          '  local:',
          '    target: docker',
          'watch:',
          '  sources:',
          '    - { type: docker, service: web, env: local }',
        ].join('\n'),
        ...app('db'),
        ...app('web'),
        ...app('worker'),
        '.gitignore': '.ops/\n',
        'churn.csv': ['tenure,spend,churned', ...Array.from({ length: 40 }, (_, i) => `${i},${(i * 7) % 13},${i % 3 === 0 ? 1 : 0}`)].join('\n'),
      },
      'three services',
    );
    const ops = (...args: string[]) => runOpsJson(args, { cwd: repo.dir, env });
    const built = await ops('build', '--parallel', '2');
    assert.equal(built.code, 0, built.stderr);

    // Named web first, deployed db first: web dependsOn db. Each is a release of its own.
    const first = await ops('deploy', 'web', 'db', '--env', 'local');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.json.order, ['db', 'web']);
    assert.deepEqual(first.json.results.map((r: { service: string; status: string; revision: number }) => [r.service, r.status, r.revision]), [['db', 'deployed', 1], ['web', 'deployed', 1]]);
    const dbFirst = (await ops('deploy', 'history', 'db', '--env', 'local')).json[0];
    const webFirst = (await ops('deploy', 'history', 'web', '--env', 'local')).json[0];
    assert.ok(webFirst.createdAt >= dbFirst.finishedAt, `web began ${webFirst.createdAt}, after db finished ${dbFirst.finishedAt}`);

    // db's next image fails its health check: web is not deployed after it, and says why.
    repo.commit(app('db', UNHEALTHY_DOCKERFILE), 'db breaks');
    assert.equal((await ops('build', 'db')).code, 0);
    const broken = await ops('deploy', 'web', 'db', '--env', 'local');
    assert.equal(broken.code, 1, broken.stderr);
    assert.equal(broken.json.status, 'failed');
    assert.deepEqual(broken.json.order, ['db']);
    const [dbFailed, webSkipped] = broken.json.results;
    assert.deepEqual([dbFailed.service, dbFailed.status, dbFailed.revision], ['db', 'failed', 2]);
    assert.deepEqual([webSkipped.service, webSkipped.status, webSkipped.reason], ['web', 'skipped', 'db failed first']);
    assert.equal((await ops('deploy', 'history', 'web', '--env', 'local')).json.length, 1, 'web got no release');
    assert.match(broken.stderr, /db r2 to local failed/);
    const table = await runOps(['deploy', 'web', 'db', '--env', 'local'], { cwd: repo.dir, env });
    assert.equal(table.code, 1);
    assert.match(table.stdout, /^web +local +- +skipped: db failed first/m);

    // --parallel 2: db (healthy again) and worker are independent and overlap; web waits for db.
    repo.commit(app('db'), 'db fixed');
    assert.equal((await ops('build', 'db')).code, 0);
    const parallel = await ops('deploy', 'db', 'worker', 'web', '--env', 'local', '--parallel', '2');
    assert.equal(parallel.code, 0, parallel.stderr);
    assert.deepEqual(parallel.json.results.map((r: { status: string }) => r.status), ['deployed', 'deployed', 'deployed']);
    const latest = async (name: string) => (await ops('deploy', 'history', name, '--env', 'local')).json[0];
    const [db, worker, web] = [await latest('db'), await latest('worker'), await latest('web')];
    assert.ok(worker.createdAt < db.finishedAt && db.createdAt < worker.finishedAt, `db ${db.createdAt}..${db.finishedAt} and worker ${worker.createdAt}..${worker.finishedAt} overlap`);
    assert.ok(web.createdAt >= db.finishedAt, 'web still waits for db');

    // deploy history's UPDATED is when the release finished, in the one table format.
    const history = await runOps(['deploy', 'history', 'db', '--env', 'local'], { cwd: repo.dir, env });
    const finished = `${db.finishedAt.slice(0, 10)} ${db.finishedAt.slice(11, 19)}Z`;
    assert.match(history.stdout, new RegExp(`^${db.revision} +${finished} +deployed`, 'm'));
    assert.notEqual(db.createdAt.slice(0, 19), db.finishedAt.slice(0, 19), 'a deploy with a health check takes more than a second');

    // The rest of the loop, so that every list and show has something with a time in it.
    assert.equal((await ops('exec', '--', 'true')).code, 0);
    const trained = await ops('model', 'train', 'churn', '--data', 'churn.csv', '--target', 'churned', '--register');
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal((await ops('model', 'promote', 'churn@1', '--to', 'production')).code, 0);
    const [webContainer] = await listContainers({}, process.env, { 'ops.project': project, 'ops.service': 'web' });
    await stopContainer({}, process.env, webContainer!.id, 10_000);
    const watched = await ops('watch', '--once');
    assert.equal(watched.code, 1, watched.stderr);
    const incident = watched.json.opened[0];
    assert.equal((await ops('incident', 'ack', String(incident.id))).code, 0);

    // ops status: one screen of all of it.
    const status = await ops('status');
    assert.equal(status.code, 0, status.stderr);
    const live = Object.fromEntries(status.json.releases.map((r: { service: string }) => [r.service, r]));
    assert.deepEqual(Object.keys(live).sort(), ['db', 'web', 'worker']);
    assert.deepEqual([live.db.revision, live.db.health, live.db.image, live.db.commit], [db.revision, 'healthy', db.image, db.gitSha]);
    assert.deepEqual([live.web.health, live.worker.health], ['unhealthy', 'healthy']);
    assert.match(live.web.live, /exited/);
    assert.deepEqual(status.json.incidents.map((i: { id: number; state: string }) => [i.id, i.state]), [[incident.id, 'acknowledged']]);
    assert.deepEqual(status.json.models, [{ model: 'churn', alias: 'production', version: 1 }]);
    assert.deepEqual(status.json.builds.map((b: { service: string }) => b.service), ['db', 'web', 'worker']);
    const screen = await runOps(['status'], { cwd: repo.dir, env });
    assert.equal(screen.code, 0, screen.stderr);
    assert.match(screen.stdout, new RegExp(`^db +local +r${db.revision} +\\S+ +${db.gitSha.slice(0, 8)} +\\d+[smhd] +healthy: running \\(healthy\\)`, 'm'));
    assert.match(screen.stdout, /^web +local +r\d+ .* unhealthy: exited/m);
    assert.match(screen.stdout, /1 unresolved incident\(s\):/);
    assert.match(screen.stdout, /models: churn@production=v1/);

    // Every --json of every list and show: ISO 8601 UTC times, nothing else.
    const documents: string[][] = [
      ['runs', 'list'],
      ['runs', 'show', '1'],
      ['build', '--dry-run'],
      ['deploy', 'history', 'web', '--env', 'local'],
      ['deploy', 'status', '--env', 'local'],
      ['deploy', 'web', '--env', 'local', '--dry-run'],
      ['model', 'list'],
      ['model', 'show', 'churn'],
      ['model', 'show', 'churn@production'],
      ['model', 'history', 'churn'],
      ['model', 'lineage', 'churn@1'],
      ['incident', 'list'],
      ['incident', 'show', String(incident.id)],
      ['triage', String(incident.id)],
      ['watch', '--once'],
      ['status'],
    ];
    let times = 0;
    for (const args of documents) {
      const result = await ops(...args);
      assert.ok(result.json !== undefined, `ops ${args.join(' ')} --json: ${result.stderr}`);
      times += assertIsoTimes(result.json, `ops ${args.join(' ')}`);
    }
    assert.ok(times > 50, `${times} times checked`);

    // Tables: runs list and runs show print a run's start the same way, in UTC, marked Z.
    const run = (await ops('runs', 'show', '1')).json;
    const shown = `${run.startedAt.slice(0, 10)} ${run.startedAt.slice(11, 19)}Z`;
    assert.match((await runOps(['runs', 'list'], { cwd: repo.dir, env })).stdout, new RegExp(`^1 +build +succeeded +${shown} `, 'm'));
    assert.match((await runOps(['runs', 'show', '1'], { cwd: repo.dir, env })).stdout, new RegExp(`^started +${shown}$`, 'm'));
    assert.match((await runOps(['incident', 'show', String(incident.id)], { cwd: repo.dir, env })).stdout, /^opened +\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/m);
  });
});
