import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { quote } from '../src/errors.js';
import { Ledger } from '../src/ledger/index.js';
import { unavailable } from './helpers/engine.js';
import { cleanEnv, runOps } from './helpers/ops.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-messages-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** stderr minus commander's "(add --help for usage)" line: what an error says. */
const errorLines = (stderr: string) => stderr.split('\n').filter((line) => line !== '' && line !== '(add --help for usage)');

/** A server that accepts connections and never answers (a hung API server or engine). */
async function silentServer(t: TestContext, listen: (server: Server) => void): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => {
    server.once('listening', () => resolve());
    listen(server);
  });
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return server;
}

describe('echoed input is quoted, escaped and cut', () => {
  it('quote() escapes control characters and quotes, and cuts long input saying its length', () => {
    assert.equal(quote('web'), '"web"');
    assert.equal(quote('x\nerror: fake'), '"x\\nerror: fake"');
    assert.equal(quote('a"b\\c\t\x1b[31m\u2028'), '"a\\"b\\\\c\\t\\x1b[31m\\u2028"');
    const long = quote('n'.repeat(10_000));
    assert.equal(long, `"${'n'.repeat(80)}…" (10000 characters)`);
  });

  it('a name with a newline or 10,000 characters gives one short error line; commander errors too', async (t) => {
    const dir = tempDir(t);
    const ledger = join(dir, 'l.db');
    const fake = await runOps(['--ledger', ledger, 'model', 'show', 'x\nerror: everything is fine']);
    assert.equal(fake.code, 2);
    assert.deepEqual(errorLines(fake.stderr), ['error: "x\\nerror: everything is fine" is not a valid model name; use letters, digits, dots, dashes and underscores (like "churn-classifier")']);

    const huge = await runOps(['--ledger', ledger, 'model', 'show', 'm'.repeat(10_000)]);
    assert.equal(huge.code, 2);
    const [line, ...rest] = errorLines(huge.stderr);
    assert.deepEqual(rest, []);
    assert.ok(line!.length < 300, `${line!.length} characters`);
    assert.match(line!, /^error: "m{80}…" \(10000 characters\) is not a valid model name/);

    const unknownService = await runOps(['--ledger', ledger, 'deploy', 'web\x1b[2J', '--env', 'prod'], { cwd: dir, env: cleanEnv() });
    assert.equal(unknownService.code, 2);
    assert.doesNotMatch(unknownService.stderr, /\x1b/, 'no escape sequence reaches the terminal');

    const command = await runOps([`bogus\nerror: ${'z'.repeat(5000)}`]);
    assert.equal(command.code, 2);
    const lines = errorLines(command.stderr);
    assert.equal(lines.length, 1, command.stderr);
    assert.match(lines[0]!, /^error: unknown command 'bogus\\nerror: z+…' \(5013 characters\)/);
    assert.ok(lines[0]!.length < 300);
  });

  it('rejects control characters in kinds and names, and stores nothing', async (t) => {
    const dir = tempDir(t);
    const ledger = join(dir, 'l.db');
    const exec = await runOps(['--ledger', ledger, 'exec', '--kind', 'deploy\n42  exec  succeeded', '--', 'true']);
    assert.equal(exec.code, 2);
    assert.deepEqual(errorLines(exec.stderr), [
      'error: --kind "deploy\\n42  exec  succeeded" is not a valid kind; use letters, digits, dots, dashes, colons and underscores, at most 64 (like db-migrate); no spaces or control characters',
    ]);
    assert.equal(existsSync(ledger), false, 'refused before the ledger was opened');

    assert.equal((await runOps(['--ledger', ledger, 'exec', '--kind', 'db-migrate', '--', 'true'])).code, 0);
    const list = await runOps(['--ledger', ledger, 'runs', 'list', '--kind', 'a\tb']);
    assert.equal(list.code, 2);
    assert.match(list.stderr, /^error: --kind "a\\tb" is not a valid kind/);
    const table = await runOps(['--ledger', ledger, 'runs', 'list']);
    assert.equal(table.stdout.trim().split('\n').length, 2, 'a header and the one run');

    for (const args of [['incident', 'list', '--service', 'web\nx'], ['incident', 'list', '--env', 'prod\x07']]) {
      const result = await runOps(['--ledger', ledger, ...args]);
      assert.equal(result.code, 2, args.join(' '));
      assert.deepEqual(errorLines(result.stderr).length, 1);
      assert.match(result.stderr, /a name cannot contain control characters/);
    }
    const db = Ledger.open(ledger);
    t.after(() => db.close());
    assert.deepEqual((await db.runs.list({ limit: 10 })).map((r) => r.kind), ['db-migrate']);
  });
});

describe('empty path flags', () => {
  it("--ledger '' (and --config '', --cwd '', OPS_LEDGER='') is a usage error, not the default path", async (t) => {
    const dir = tempDir(t);
    for (const [args, env] of [
      [['--ledger', '', 'runs', 'list'], {}],
      [['--config', '', 'runs', 'list'], {}],
      [['--cwd', '', 'runs', 'list'], {}],
      [['runs', 'list'], { OPS_LEDGER: '' }],
    ] as Array<[string[], NodeJS.ProcessEnv]>) {
      const result = await runOps(args, { cwd: dir, env: cleanEnv(env) });
      assert.equal(result.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${result.stderr}`);
      assert.match(result.stderr, /not an empty value; give a path, or leave the option out for the default/);
    }
    assert.equal(existsSync(join(dir, '.ops')), false, 'no ledger was created at the default path');
  });
});

describe('timeouts and unreachable tools are named', () => {
  it('a kubectl that hangs reads "kubectl timed out after 2 s" with the fix, in deploy and in watch', async (t) => {
    if (!existsSync('/usr/bin/kubectl') && !existsSync('/usr/local/bin/kubectl')) return unavailable(t, 'kubectl', 'not installed');
    const hung = await silentServer(t, (server) => server.listen(0, '127.0.0.1'));
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{ name: hung, cluster: { server: "http://127.0.0.1:${(hung.address() as AddressInfo).port}" } }]`,
        'contexts: [{ name: hung, context: { cluster: hung, user: u } }]',
        'current-context: hung',
        'users: [{ name: u, user: { token: abc } }]',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'ops.config.yaml'),
      [
        'project: shop',
        'services: { web: { image: registry.local/web } }',
        'environments: { prod: { target: kubernetes, namespace: shop, manifests: k8s, timeout: 2s } }',
        'watch: { sources: [{ type: kubernetes, service: web, env: prod }] }',
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'k8s'));
    writeFileSync(join(dir, 'k8s', 'web.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec: { selector: { matchLabels: { app: web } }, template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: registry.local/web }] } } }\n');
    const env = cleanEnv({ KUBECONFIG: join(dir, 'kubeconfig') });

    const deploy = await runOps(['deploy', 'web', '--env', 'prod', '--image', 'registry.local/web:1'], { cwd: dir, env });
    assert.equal(deploy.code, 1, deploy.stderr);
    assert.match(deploy.stderr, /^error: kubectl timed out after 2 s; check that the cluster answers \(`kubectl cluster-info`\)/m);
    assert.doesNotMatch(deploy.stderr, /exited with code/);

    const watch = await runOps(['watch', '--once', '--json'], { cwd: dir, env });
    assert.equal(watch.code, 0, watch.stderr);
    const [source] = JSON.parse(watch.stdout).sources;
    assert.equal(source.ok, false);
    assert.match(source.error, /^kubectl timed out after 2 s; check that the cluster answers/);
  });

  it('a dead, refusing or silent Docker socket on deploy names the socket, the timeout and the fix', async (t) => {
    const dir = tempDir(t);
    const config = (socket: string) =>
      writeFileSync(join(dir, 'ops.config.yaml'), ['project: shop', 'services: { web: { image: registry.local/web } }', `environments: { local: { target: docker, host: "unix://${socket}" } }`, ''].join('\n'));
    const deploy = () => runOps(['deploy', 'web', '--env', 'local', '--image', 'registry.local/web:1'], { cwd: dir, env: cleanEnv() });

    config(join(dir, 'gone.sock'));
    const dead = await deploy();
    assert.equal(dead.code, 1, dead.stderr);
    assert.deepEqual(errorLines(dead.stderr).filter((l) => l.startsWith('error:')), [
      `error: cannot reach the Docker engine: no socket at unix://${join(dir, 'gone.sock')}; start the Docker engine (\`systemctl start docker\`, or \`dockerd &\` without systemd), or point DOCKER_HOST or the environment's host at a running engine`,
    ]);
    assert.doesNotMatch(dead.stderr, /connect ENOENT/);

    // A file where the socket was, nobody listening (connect answers ECONNREFUSED, as for an engine that died).
    const stale = join(dir, 'stale.sock');
    writeFileSync(stale, '');
    config(stale);
    const refused = await deploy();
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^error: cannot reach the Docker engine at unix:\/\/\S+stale\.sock: connection refused \(ECONNREFUSED: nothing listens there\); start the Docker engine/m);

    const silent = join(dir, 'silent.sock');
    await silentServer(t, (s) => s.listen(silent));
    config(silent);
    const hung = await deploy();
    assert.equal(hung.code, 1, hung.stderr);
    assert.match(hung.stderr, /^error: the Docker engine at unix:\/\/\S+silent\.sock \(GET \/images\/\S+\/json\) timed out after 10 s; check that dockerd is running and not overloaded \(`docker info`\)/m);
  });
});
