import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SCHEMA_VERSION } from '../src/ledger/index.js';
import { baseImage, dockerEngine, registry } from './helpers/engine.js';
import { cleanEnv, runOps } from './helpers/ops.js';

interface Check {
  name: string;
  required: boolean;
  ok: boolean;
  detail: string;
  fix?: string;
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'ops-doctor-'));

async function doctor(dir: string, env: NodeJS.ProcessEnv = cleanEnv()) {
  const result = await runOps(['doctor', '--json'], { cwd: dir, env });
  const report = JSON.parse(result.stdout) as { ok: boolean; checks: Check[] };
  const check = (name: string) => report.checks.find((c) => c.name === name)!;
  return { result, report, check };
}

describe('ops doctor', () => {
  it('passes against the real engine and the real registry', async (t) => {
    if (!(await dockerEngine(t))) return;
    const addr = await registry(t);
    if (!addr) return;
    const dir = tempDir();
    writeFileSync(join(dir, 'ops.config.yaml'), `project: demo\nregistry:\n  url: ${addr}\n  insecure: true\n`);
    const { result, report, check } = await doctor(dir);
    assert.equal(result.code, 0, result.stdout);
    assert.equal(report.ok, true);
    assert.match(check('docker engine').detail, /^Docker \d+\.\d+/);
    assert.match(check('registry').detail, /answered 200/);
    assert.match(check('ledger').detail, /ledger\.db: no ledger here yet \(the first command that records something creates it\)$/, 'doctor only reads');
    assert.match(check('config').detail, /project demo/);
    assert.equal((await runOps(['exec', '--', 'true'], { cwd: dir, env: cleanEnv() })).code, 0);
    assert.match((await doctor(dir)).check('ledger').detail, new RegExp(`schema ${SCHEMA_VERSION}/${SCHEMA_VERSION}, integrity ok`));
  });

  it('a table for people, exit 1 and a fix for each failed required check', async (t) => {
    if (!(await dockerEngine(t))) return;
    const dir = tempDir();
    // Nothing listens on port 9 (discard) on loopback.
    writeFileSync(join(dir, 'ops.config.yaml'), 'project: demo\nregistry:\n  url: 127.0.0.1:9\n  insecure: true\n');
    const { result, check } = await doctor(dir);
    assert.equal(result.code, 1);
    assert.equal(check('registry').ok, false);
    assert.match(check('registry').fix!, /start the registry at 127\.0\.0\.1:9/);
    const table = await runOps(['doctor'], { cwd: dir });
    assert.equal(table.code, 1);
    assert.match(table.stdout, /^CHECK\s+STATUS\s+DETAIL$/m);
    assert.match(table.stdout, /^registry\s+FAIL\s+.*fix: start the registry/m);
  });

  it('reports missing git, kubectl and engine with their fixes', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'ops.config.yaml'),
      'project: demo\nenvironments:\n  prod:\n    target: kubernetes\n    namespace: demo\n',
    );
    const bin = tempDir();
    symlinkSync(process.execPath, join(bin, 'node'));
    const { result, check } = await doctor(dir, cleanEnv({ PATH: bin, DOCKER_HOST: 'tcp://127.0.0.1:9' }));
    assert.equal(result.code, 1);
    assert.equal(check('git').ok, false);
    assert.match(check('git').fix!, /install git/);
    assert.equal(check('kubectl').ok, false);
    assert.equal(check('kubectl').required, true);
    assert.match(check('kubectl').fix!, /install kubectl/);
    assert.equal(check('docker engine').ok, false);
    assert.match(check('docker engine').fix!, /start the Docker engine/);
    assert.equal(check('node').ok, true);
  });

  it('without a config it warns and suggests ops init', async () => {
    const dir = tempDir();
    const { check } = await doctor(dir);
    assert.equal(check('config').ok, false);
    assert.equal(check('config').required, false);
    assert.equal(check('config').fix, 'run `ops init`');
  });
});

describe('test helpers', () => {
  it('the base image runs busybox, and the registry accepts a push of it', async (t) => {
    const image = await baseImage(t);
    if (!image) return;
    const output = execFileSync('docker', ['run', '--rm', image, 'sh', '-c', 'echo hello from $(uname -s)'], { encoding: 'utf8' });
    assert.equal(output.trim(), 'hello from Linux');
    const addr = await registry(t);
    if (!addr) return;
    const ref = `${addr}/ops-test/busybox:helpers`;
    execFileSync('docker', ['tag', image, ref]);
    execFileSync('docker', ['push', ref], { stdio: 'ignore' });
    const tags = (await (await fetch(`http://${addr}/v2/ops-test/busybox/tags/list`)).json()) as { tags: string[] };
    assert.ok(tags.tags.includes('helpers'));
  });
});
