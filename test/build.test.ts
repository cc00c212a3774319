import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { BuildResult } from '../src/core/build/index.js';
import { Ledger } from '../src/ledger/index.js';
import { dockerEngine, engineWithBaseImage, registry } from './helpers/engine.js';
import { gitRepo, type GitRepo } from './helpers/git.js';
import { cleanEnv, OPS_BIN, runOps, runOpsInTerminal } from './helpers/ops.js';

/** What `ops build --json` prints for each service. */
type Built = Pick<BuildResult, 'service' | 'image' | 'tags' | 'digest' | 'inputDigest' | 'cached' | 'sizeBytes' | 'durationMs' | 'status'>;

/** A repository with one service whose content is unique to this test (so no other test's image is a cache hit). */
function project(t: TestContext, options: { registry?: string; dockerfile?: string; buildArgs?: Record<string, string>; services?: string } = {}): GitRepo {
  const repo = gitRepo('ops-build-');
  t.after(() => repo.cleanup());
  const name = `ops-test/app-${randomBytes(4).toString('hex')}`;
  const image = options.registry ? `${options.registry}/${name}` : name;
  const args = options.buildArgs ? `    buildArgs:\n${Object.entries(options.buildArgs).map(([k, v]) => `      ${k}: "${v}"`).join('\n')}\n` : '';
  repo.commit(
    {
      'ops.config.yaml': `project: build-test\nservices:\n  app:\n    context: app\n    image: ${image}\n${args}${options.services ?? ''}`,
      'app/Dockerfile': options.dockerfile ?? 'FROM ops/busybox:latest\nCOPY . /app\nRUN cat /app/nonce.txt\n',
      'app/.dockerignore': '*.log\n',
      'app/nonce.txt': randomBytes(16).toString('hex'),
      '.gitignore': '.ops/\n',
    },
    'app',
  );
  return repo;
}

async function build(repo: GitRepo, args: string[] = [], env = cleanEnv()) {
  const result = await runOps(['build', '--json', ...args], { cwd: repo.dir, env });
  let built: Built[] = [];
  try {
    built = JSON.parse(result.stdout) as Built[];
  } catch {
    /* no JSON: the caller checks the exit code and stderr */
  }
  return { ...result, built };
}

describe('ops build', () => {
  it('builds with the git sha tag, OCI labels, and records the build', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const repo = project(t);
    const { code, stderr, built } = await build(repo);
    assert.equal(code, 0, stderr);
    const sha = repo.git('rev-parse', 'HEAD');
    assert.equal(built[0]!.status, 'built');
    assert.deepEqual(built[0]!.tags, [`${built[0]!.image}:${sha.slice(0, 7)}`]);
    assert.ok(built[0]!.sizeBytes! > 0);

    const docker = (await dockerEngine(t))!;
    const info = await docker.getImage(built[0]!.tags[0]!).inspect();
    assert.equal(info.Config.Labels['org.opencontainers.image.revision'], sha);
    assert.equal(info.Config.Labels['ops.input-digest'], built[0]!.inputDigest);
    assert.match(info.Config.Labels['org.opencontainers.image.created']!, /^\d{4}-\d\d-\d\dT/);

    const ledger = Ledger.open(join(repo.dir, '.ops', 'ledger.db'));
    const [run] = await ledger.runs.list({ kind: 'build', limit: 1 });
    assert.equal(run!.status, 'succeeded');
    const [record] = await ledger.builds.forRun(run!.id);
    assert.equal(record!.imageId, info.Id);
    assert.equal(record!.inputDigest, built[0]!.inputDigest);
    assert.deepEqual(record!.git, { sha, branch: 'main', dirty: false });
    assert.equal(info.Config.Labels['ops.run'], String(run!.id));
    await ledger.close();
  });

  it('an unchanged tree is a cache hit that skips the engine build', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const repo = project(t);
    const first = await build(repo);
    assert.equal(first.code, 0, first.stderr);
    const second = await build(repo);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.built[0]!.status, 'cached');
    assert.equal(second.built[0]!.cached, true);
    assert.equal(second.built[0]!.inputDigest, first.built[0]!.inputDigest);
    const forced = await build(repo, ['--no-cache']);
    assert.equal(forced.built[0]!.status, 'built');
  });

  it('dirty trees get -dirty-<hash> tags, different for different changes', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const repo = project(t);
    const short = repo.git('rev-parse', 'HEAD').slice(0, 7);
    repo.write({ 'app/nonce.txt': 'change one' });
    const one = await build(repo);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.built[0]!.tags[0]!, new RegExp(`:${short}-dirty-[0-9a-f]{8}$`));
    repo.write({ 'app/nonce.txt': 'change two' });
    const two = await build(repo);
    assert.match(two.built[0]!.tags[0]!, new RegExp(`:${short}-dirty-[0-9a-f]{8}$`));
    assert.notEqual(one.built[0]!.tags[0], two.built[0]!.tags[0]);
    // An untracked file makes the tree dirty too, and changes the hash.
    repo.write({ 'notes.txt': 'untracked' });
    const three = await build(repo, ['--dry-run']);
    assert.notEqual(three.built[0]!.tags[0], two.built[0]!.tags[0]);
  });

  it('honours .dockerignore: an ignored file does not change the input digest', async (t) => {
    const repo = project(t);
    const before = await build(repo, ['--dry-run']);
    assert.equal(before.code, 0, before.stderr);
    repo.write({ 'app/debug.log': 'noise' });
    const ignored = await build(repo, ['--dry-run']);
    assert.equal(ignored.built[0]!.inputDigest, before.built[0]!.inputDigest);
    repo.write({ 'app/extra.txt': 'content' });
    const counted = await build(repo, ['--dry-run']);
    assert.notEqual(counted.built[0]!.inputDigest, before.built[0]!.inputDigest);
  });

  it('a failing RUN step exits 1, names the step and shows its last lines', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const repo = project(t, { dockerfile: 'FROM ops/busybox:latest\nRUN echo preparing\nRUN echo "boom: no such thing" && false\n' });
    const result = await build(repo);
    assert.equal(result.code, 1);
    assert.equal(result.built[0]!.status, 'failed');
    assert.match(result.stderr, /error: app: build failed at Step 3\/\d+ : RUN echo "boom: no such thing" && false: .*returned a non-zero code: 1/);
    assert.match(result.stderr, /^  boom: no such thing$/m);
  });

  it('bad input is a usage error before the engine is contacted', async (t) => {
    const repo = project(t);
    const noEngine = cleanEnv({ DOCKER_HOST: 'tcp://127.0.0.1:9' });
    repo.write({ 'app/Dockerfile': null });
    const missing = await build(repo, [], noEngine);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: service app: Dockerfile .*app\/Dockerfile does not exist; create it, or fix services\.app\.dockerfile/);
    const unknown = await build(repo, ['nope'], noEngine);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown service "nope"; use one of: app/);
    const badTag = await build(repo, ['--tag', 'bad tag;rm'], noEngine);
    assert.equal(badTag.code, 2);
    assert.match(badTag.stderr, /--tag "bad tag;rm" is not a valid image tag/);
    writeFileSync(join(repo.dir, 'ops.config.yaml'), 'project: x\nservices:\n  app:\n    image: "Bad Image;rm -rf"\n');
    const badImage = await build(repo, [], noEngine);
    assert.equal(badImage.code, 2);
    assert.match(badImage.stderr, /services\.app\.image: expected an image repository/);
  });

  it('pushes to the registry and records the digest the registry serves', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const addr = await registry(t);
    if (!addr) return;
    const repo = project(t, { registry: addr });
    const result = await build(repo, ['--push', '--tag', 'extra']);
    assert.equal(result.code, 0, result.stderr);
    const [built] = result.built;
    assert.equal(built!.tags.length, 2);
    const repository = built!.image.slice(addr.length + 1);
    const response = await fetch(`http://${addr}/v2/${repository}/manifests/extra`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    const served = response.headers.get('docker-content-digest');
    assert.ok(served);
    assert.equal(built!.digest, `${built!.image}@${served}`);
    const ledger = Ledger.open(join(repo.dir, '.ops', 'ledger.db'));
    const [run] = await ledger.runs.list({ kind: 'build', limit: 1 });
    assert.equal((await ledger.builds.forRun(run!.id))[0]!.repoDigest, `${built!.image}@${served}`);
    await ledger.close();
  });

  it('an image already pushed from the same inputs is a cache hit in the registry', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const addr = await registry(t);
    if (!addr) return;
    const repo = project(t, { registry: addr });
    const first = await build(repo, ['--push']);
    assert.equal(first.code, 0, first.stderr);
    // Another machine: no local image, no ledger.
    const docker = (await dockerEngine(t))!;
    await docker.getImage(first.built[0]!.tags[0]!).remove({ force: true });
    rmSync(join(repo.dir, '.ops'), { recursive: true, force: true });
    const second = await build(repo, ['--push', '--tag', 'second-tag']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.built[0]!.status, 'cached');
    assert.equal(second.built[0]!.digest, first.built[0]!.digest);
    await assert.rejects(docker.getImage(first.built[0]!.tags[0]!).inspect(), /no such image/i);
    const repository = first.built[0]!.image.slice(addr.length + 1);
    const tagged = await fetch(`http://${addr}/v2/${repository}/manifests/second-tag`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(`${first.built[0]!.image}@${tagged.headers.get('docker-content-digest')}`, first.built[0]!.digest);
  });

  it('a secret-looking build arg never reaches the stored log or the output', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const secret = `tok-${randomBytes(6).toString('hex')}`;
    const repo = project(t, { buildArgs: { API_TOKEN: secret }, dockerfile: 'FROM ops/busybox:latest\nARG API_TOKEN\nRUN echo "token is $API_TOKEN"\n' });
    const result = await runOps(['build', '--verbose'], { cwd: repo.dir });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, new RegExp(secret));
    assert.match(result.stderr, /token is \[REDACTED\]/);
    const ledger = Ledger.open(join(repo.dir, '.ops', 'ledger.db'));
    const [run] = await ledger.runs.list({ kind: 'build', limit: 1 });
    const log = (await ledger.runs.logs(run!.id)).map((l) => l.text).join('');
    assert.match(log, /token is \[REDACTED\]/);
    assert.doesNotMatch(JSON.stringify((await ledger.runs.get(run!.id))) + log, new RegExp(secret));
    await ledger.close();
  });

  it('builds services in parallel; one failure does not hide the others', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const repo = project(t, {
      services: '  broken:\n    context: broken\n    image: ops-test/broken\n',
    });
    repo.commit({ 'broken/Dockerfile': 'FROM ops/busybox:latest\nRUN exit 3\n' }, 'broken');
    const result = await build(repo, ['--parallel', '2']);
    assert.equal(result.code, 1);
    const byService = Object.fromEntries(result.built.map((b) => [b.service, b.status]));
    assert.deepEqual(byService, { app: 'built', broken: 'failed' });
  });

  it('on a terminal a spinner names the current step; in CI plain lines do', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    // A unique RUN line, so the engine's layer cache cannot skip the step.
    const repo = project(t, { dockerfile: `FROM ops/busybox:latest\nRUN sleep 1 && echo ${randomBytes(4).toString('hex')}\nCOPY . /app\n` });
    const terminal = await runOpsInTerminal(['build'], repo.dir, []);
    assert.equal(terminal.code, 0, terminal.stdout);
    assert.match(terminal.stdout, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏](\x1b\[\d+m)? build: app: Step 2\/\d+ : RUN sleep 1/);
    assert.match(terminal.stdout, /✔(\x1b\[\d+m)? build/);
    const ci = await runOps(['build', '--no-cache'], { cwd: repo.dir, env: cleanEnv({ CI: 'true' }) });
    assert.match(ci.stderr, /^\S+Z build: app: Step 2\/\d+ : RUN sleep 1 && echo [0-9a-f]{8}$/m);
    assert.doesNotMatch(ci.stderr, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✔]/);
  });

  it('SIGINT during a build marks the run interrupted', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const repo = project(t, { dockerfile: 'FROM ops/busybox:latest\nRUN echo slow-step-started && sleep 30\n' });
    const child = spawn(process.execPath, [OPS_BIN, 'build', '--verbose'], { cwd: repo.dir, env: cleanEnv() });
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => d.toString().includes('slow-step-started') && resolve()));
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 130);
    const ledger = Ledger.open(join(repo.dir, '.ops', 'ledger.db'));
    const [run] = await ledger.runs.list({ kind: 'build', limit: 1 });
    assert.equal(run!.status, 'interrupted');
    await ledger.close();
  });
});
