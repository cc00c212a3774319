import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/core/config/load.js';
import { ConfigError } from '../src/errors.js';
import { cleanEnv, runOps } from './helpers/ops.js';

const VALID = `project: shop
services:
  web:
    context: web
    image: 127.0.0.1:5000/shop/web
    ports: ["8080:8080"]
    health:
      http: { path: /health, port: 8080 }
      timeout: 30s
environments:
  local:
    target: docker
  prod:
    target: kubernetes
    namespace: shop
`;

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-config-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function configError(files: Record<string, string>): Promise<string> {
  const dir = project(files);
  const err = await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: dir } }).then(
    () => assert.fail('expected a config error'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, String(err));
  return err.message;
}

describe('configuration', () => {
  it('is found from a subfolder, whose ancestor becomes the project root, with defaults applied', async () => {
    const dir = project({ 'ops.config.yaml': VALID, 'web/src/.keep': '' });
    const loaded = await loadConfig({ cwd: join(dir, 'web', 'src'), env: { XDG_CONFIG_HOME: join(dir, 'xdg') } });
    assert.equal(loaded.root, dir);
    assert.equal(loaded.config!.project, 'shop');
    assert.equal(loaded.config!.services.web!.dockerfile, 'Dockerfile');
    assert.equal(loaded.config!.services.web!.health!.timeout, 30_000);
    assert.equal(loaded.config!.risk.block, 0.8);
    const prod = loaded.config!.environments.prod!;
    assert.equal(prod.target === 'kubernetes' && prod.deadline, 600_000);
  });

  it('merges the XDG user file under the project file, OPS_* over both', async () => {
    const dir = project({
      'ops.config.yaml': VALID,
      'xdg/ops/config.yaml': 'risk:\n  warn: 0.3\n  block: 0.6\nregistry:\n  url: user.example:5000\n',
    });
    const loaded = await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: join(dir, 'xdg'), OPS_RISK__BLOCK: '0.95', OPS_RUN_ID: '7' } });
    assert.equal(loaded.config!.risk.warn, 0.3);
    assert.equal(loaded.config!.risk.block, 0.95);
    assert.equal(loaded.config!.registry!.url, 'user.example:5000');
    assert.equal(loaded.files.length, 2);
  });

  it('accepts .opsrc.json and the "ops" key of package.json', async () => {
    const rc = project({ '.opsrc.json': JSON.stringify({ project: 'rc' }) });
    assert.equal((await loadConfig({ cwd: rc, env: { XDG_CONFIG_HOME: rc } })).config!.project, 'rc');
    const pkg = project({ 'package.json': JSON.stringify({ name: 'x', ops: { project: 'pkg' } }) });
    assert.equal((await loadConfig({ cwd: pkg, env: { XDG_CONFIG_HOME: pkg } })).config!.project, 'pkg');
  });

  it('names file, line and key for malformed YAML', async () => {
    const message = await configError({ 'ops.config.yaml': 'project: shop\nservices:\n  web: [unclosed\n' });
    assert.match(message, /ops\.config\.yaml:\d+:\d+: invalid YAML/);
  });

  it('suggests the nearest key for a typo', async () => {
    const message = await configError({ 'ops.config.yaml': VALID.replace('ports:', 'prots:') });
    assert.match(message, /ops\.config\.yaml:6: services\.web\.prots: unknown key "prots" \(did you mean "ports"\?\)/);
  });

  it('explains a promotion gate by the kind it looks like: a metric gate with a typo, a data gate with a wrong value', async () => {
    const gate = (text: string) => configError({ 'ops.config.yaml': `project: shop\nmodels:\n  gates:\n    production:\n      ${text}\n` });
    assert.match(await gate('- { metrc: auc, threshold: 0.7 }'), /ops\.config\.yaml:5: models\.gates\.production\[0\]\.metrc: unknown key "metrc" \(did you mean "metric"\?\)/);
    assert.match(await gate('- data: passed'), /models\.gates\.production\[0\]\.data: expected "pass", found string "passed"/);
  });

  it('maps a Docker Compose key name to the ops one', async () => {
    const message = await configError({ 'ops.config.yaml': VALID.replace('ports:', 'environment: {}\n    ports:') });
    assert.match(message, /services\.web\.environment: unknown key "environment" \(did you mean "env"\?\)/);
    const build = await configError({ 'ops.config.yaml': VALID.replace('ports:', 'build: .\n    ports:') });
    assert.match(build, /services\.web\.build: unknown key "build" \(did you mean "context"\?\)/);
  });

  it('says what was expected and what was found for a wrong type', async () => {
    const message = await configError({ 'ops.config.yaml': VALID.replace('ports: ["8080:8080"]', 'ports: 8080') });
    assert.match(message, /services\.web\.ports: expected a list, found number 8080/);
    const target = await configError({ 'ops.config.yaml': VALID.replace('target: docker', 'target: dokcer') });
    assert.match(target, /environments\.local\.target: expected one of "docker", "kubernetes", found string "dokcer"/);
    const name = await configError({ 'ops.config.yaml': VALID.replace('  web:', '  Web_App:') });
    assert.match(name, /services\.Web_App: .*lowercase name/);
  });

  it('the CLI prints one line, exits 2 and writes nothing on a bad config', async () => {
    const dir = project({ 'ops.config.yaml': VALID.replace('image:', 'imagee:') });
    const result = await runOps(['runs', 'list'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^error: ops\.config\.yaml:\d+: services\.web\.imagee: unknown key "imagee" \(did you mean "image"\?\)/);
    assert.deepEqual(readdirSync(dir).sort(), ['ops.config.yaml']);
  });

  it('a bad value from an environment variable names the variable, not a line of the file', async () => {
    // The file sets risk.block too: the variable's value is the one that failed.
    const dir = project({ 'ops.config.yaml': `${VALID}risk:\n  block: 0.9\n` });
    const result = await runOps(['deploy', 'status', '--env', 'local'], { cwd: dir, env: cleanEnv({ OPS_RISK__BLOCK: 'abc' }) });
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'error: environment variable OPS_RISK__BLOCK (risk.block): expected number, found string "abc"; fix or unset OPS_RISK__BLOCK\n');
    // A whole mapping replaced by a variable: the variable is still the source.
    const mapping = await runOps(['deploy', 'status', '--env', 'local'], { cwd: dir, env: cleanEnv({ OPS_WATCH: '[1, 2]' }) });
    assert.equal(mapping.code, 2);
    assert.match(mapping.stderr, /^error: environment variable OPS_WATCH \(watch\): expected a mapping, found a list;/);
    // The file's own mistakes still name the file and line.
    const file = project({ 'ops.config.yaml': `${VALID}risk:\n  block: abc\n` });
    const fromFile = await runOps(['deploy', 'status', '--env', 'local'], { cwd: file, env: cleanEnv({ OPS_RISK__WARN: '0.4' }) });
    assert.match(fromFile.stderr, /^error: ops\.config\.yaml:\d+: risk\.block: expected number, found string "abc"/);
  });

  it('a missing --config file is a usage error', async () => {
    const dir = project({});
    const result = await runOps(['--config', 'nope.yaml', 'runs', 'list'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: config file .*nope\.yaml does not exist; check the --config path\n$/);
  });

  it('the ledger path follows flag > OPS_LEDGER > config > default', async () => {
    const dir = project({ 'ops.config.yaml': `${VALID}ledger: state/from-config.db\n` });
    const show = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = await runOps([...args, 'doctor', '--json'], { cwd: dir, env: cleanEnv(env) });
      return JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'ledger').detail as string;
    };
    assert.match(await show([]), /state\/from-config\.db/);
    assert.match(await show([], { OPS_LEDGER: join(dir, 'env.db') }), /env\.db/);
    assert.match(await show(['--ledger', join(dir, 'flag.db')], { OPS_LEDGER: join(dir, 'env.db') }), /flag\.db/);
  });

  it('a cached config is never stale: an edit of the same size, OPS_* and the user file all show', async () => {
    const dir = project({ 'ops.config.yaml': `${VALID}risk:\n  warn: 0.3\n` });
    const env = cleanEnv();
    const warn = async (extra: NodeJS.ProcessEnv = {}) => {
      const r = await runOps(['doctor', '--json'], { cwd: dir, env: { ...env, ...extra } });
      return JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'config').detail as string;
    };
    // In-process loads share one cache file too (keyed by this build of the loader).
    const readWarn = async (extra: NodeJS.ProcessEnv = {}) => (await loadConfig({ cwd: dir, env: { ...env, ...extra } })).config!.risk.warn;
    assert.match(await warn(), /project shop/);
    assert.equal(readdirSync(join(env.XDG_CACHE_HOME!, 'ops', 'config')).length, 1);
    // Same size, new content, a later mtime.
    writeFileSync(join(dir, 'ops.config.yaml'), `${VALID.replace('project: shop', 'project: shoq')}risk:\n  warn: 0.3\n`);
    const later = new Date(Date.now() + 2000);
    utimesSync(join(dir, 'ops.config.yaml'), later, later);
    assert.match(await warn(), /project shoq/);
    assert.equal(await readWarn({ OPS_RISK__WARN: '0.4' }), 0.4);
    assert.equal(await readWarn(), 0.3);
    mkdirSync(join(env.XDG_CONFIG_HOME!, 'ops'), { recursive: true });
    writeFileSync(join(env.XDG_CONFIG_HOME!, 'ops', 'config.yaml'), 'risk:\n  block: 0.99\n');
    const withUser = await loadConfig({ cwd: dir, env });
    assert.equal(withUser.config!.risk.block, 0.99);
  });

  it('an invalid config is never cached', async () => {
    const dir = project({ 'ops.config.yaml': VALID.replace('image:', 'imagee:') });
    const env = cleanEnv();
    for (let i = 0; i < 2; i++) assert.equal((await runOps(['runs', 'list'], { cwd: dir, env })).code, 2);
    assert.throws(() => readdirSync(join(env.XDG_CACHE_HOME!, 'ops', 'config')));
  });
});
