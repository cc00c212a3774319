import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { gitRepo } from './helpers/git.js';
import { runOps, runOpsInTerminal } from './helpers/ops.js';

function sampleRepo() {
  const repo = gitRepo();
  repo.git('remote', 'add', 'origin', 'https://git.example.test/acme/Shop-Front.git');
  repo.commit(
    {
      'web/Dockerfile': 'FROM ops/busybox:latest\nEXPOSE 8080 9090/tcp 53/udp\n',
      'worker/Dockerfile.gpu': 'FROM ops/busybox:latest\n',
      'node_modules/x/Dockerfile': 'FROM scratch\n',
      '.gitignore': 'node_modules\n',
    },
    'services',
  );
  return repo;
}

describe('ops init', () => {
  it('without input detects Dockerfiles and the remote and writes a valid config', async () => {
    const repo = sampleRepo();
    const result = await runOps(['init', '--no-input', '--registry', '127.0.0.1:5000'], { cwd: repo.dir });
    assert.equal(result.code, 0, result.stderr);
    const config = parse(readFileSync(join(repo.dir, 'ops.config.yaml'), 'utf8'));
    assert.equal(config.project, 'shop-front');
    assert.deepEqual(Object.keys(config.services), ['web', 'worker-gpu']);
    assert.equal(config.services.web.image, '127.0.0.1:5000/shop-front/web');
    assert.equal(config.services['worker-gpu'].dockerfile, 'Dockerfile.gpu');
    assert.deepEqual(config.services.web.ports, ['8080:8080', '9090:9090'], 'EXPOSEd TCP ports are published on the docker target');
    assert.equal(config.services['worker-gpu'].ports, undefined);
    assert.deepEqual(config.registry, { url: '127.0.0.1:5000', insecure: true });
    assert.deepEqual(config.environments, { local: { target: 'docker' } });
    assert.equal(readFileSync(join(repo.dir, '.gitignore'), 'utf8'), 'node_modules\n.ops/\n');
    // The written file passes the same validation every command applies.
    const doctor = await runOps(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(JSON.parse(doctor.stdout).checks.find((c: { name: string }) => c.name === 'config').ok, true);
    repo.cleanup();
  });

  it('takes services and a kubernetes environment from flags', async () => {
    const repo = sampleRepo();
    const result = await runOps(
      ['init', '--no-input', '--project', 'Shop', '--service', 'api=web/Dockerfile', '--env', 'prod', '--target', 'kubernetes', '--namespace', 'shop', '--json'],
      { cwd: repo.dir },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).services, ['api']);
    const config = parse(readFileSync(join(repo.dir, 'ops.config.yaml'), 'utf8'));
    assert.deepEqual(config.services, { api: { context: 'web', dockerfile: 'Dockerfile', image: 'shop/api' } });
    assert.deepEqual(config.environments.prod, { target: 'kubernetes', namespace: 'shop', manifests: 'k8s' });
    repo.cleanup();
  });

  it('never overwrites without --force (exit 4 when it cannot ask) and adds .ops/ once', async () => {
    const repo = sampleRepo();
    writeFileSync(join(repo.dir, 'ops.config.yaml'), 'project: mine\n');
    const refused = await runOps(['init'], { cwd: repo.dir });
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /^error: .*ops\.config\.yaml already exists; pass --force to overwrite it/);
    assert.equal(readFileSync(join(repo.dir, 'ops.config.yaml'), 'utf8'), 'project: mine\n');
    assert.equal(readFileSync(join(repo.dir, '.gitignore'), 'utf8'), 'node_modules\n');

    for (let i = 0; i < 2; i++) assert.equal((await runOps(['init', '--force'], { cwd: repo.dir })).code, 0);
    assert.equal(parse(readFileSync(join(repo.dir, 'ops.config.yaml'), 'utf8')).project, 'shop-front');
    assert.equal(readFileSync(join(repo.dir, '.gitignore'), 'utf8'), 'node_modules\n.ops/\n');
    repo.cleanup();
  });

  it('rejects a bad service name before writing anything', async () => {
    const repo = sampleRepo();
    const result = await runOps(['init', '--service', 'Bad_Name=web/Dockerfile'], { cwd: repo.dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--service name "Bad_Name" is not a valid name/);
    assert.throws(() => readFileSync(join(repo.dir, 'ops.config.yaml')));
    repo.cleanup();
  });

  it('asks on a terminal: project, services, registry, target; and confirms an overwrite', async () => {
    const repo = sampleRepo();
    const wizard = await runOpsInTerminal(['init'], repo.dir, [
      [/Project name/, '\x15shop-tty\r'],
      [/Services to build/, ' \r'], // untick the first service (web), keep worker-gpu
      [/Registry to push to/, '127.0.0.1:5000\r'],
      [/Where does "local" run/, '\r'],
    ]);
    assert.equal(wizard.code, 0, wizard.stdout);
    const config = parse(readFileSync(join(repo.dir, 'ops.config.yaml'), 'utf8'));
    assert.equal(config.project, 'shop-tty');
    assert.deepEqual(Object.keys(config.services), ['worker-gpu']);
    assert.equal(config.services['worker-gpu'].image, '127.0.0.1:5000/shop-tty/worker-gpu');

    const declined = await runOpsInTerminal(['init'], repo.dir, [[/exists\. Overwrite it\?/, 'n\r']]);
    assert.equal(declined.code, 0);
    assert.match(declined.stdout, /left ops\.config\.yaml as it was/);
    assert.equal(parse(readFileSync(join(repo.dir, 'ops.config.yaml'), 'utf8')).project, 'shop-tty');
    repo.cleanup();
  });
});
