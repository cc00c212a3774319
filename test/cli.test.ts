import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gitRepo } from './helpers/git.js';
import { cleanEnv, PROJECT_ROOT, runOps } from './helpers/ops.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'ops-cli-'));
const ANSI = /\x1b\[/;

describe('command line', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const result = await runOps([flag]);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `${version}\n`);
    }
  });

  it('--help lists the commands, the global options, examples and exit codes', async () => {
    const result = await runOps(['--help']);
    assert.equal(result.code, 0);
    for (const text of ['init', 'doctor', 'runs', 'exec', '--json', '--quiet', '--verbose', '--no-input', '--no-color', '--config', '--ledger', '--cwd', 'Examples:', 'Exit codes:', '130']) {
      assert.ok(result.stdout.includes(text), `help lacks ${text}`);
    }
  });

  it('every command has help with examples', async () => {
    for (const command of [['init'], ['doctor'], ['runs', 'list'], ['runs', 'show'], ['exec']]) {
      const result = await runOps([...command, '--help']);
      assert.equal(result.code, 0, command.join(' '));
      assert.match(result.stdout, /Examples:\n\s+\$ ops /, command.join(' '));
    }
  });

  it('usage errors exit 2', async () => {
    const unknownCommand = await runOps(['deploy-everything']);
    assert.equal(unknownCommand.code, 2);
    assert.match(unknownCommand.stderr, /unknown command/);
    const unknownOption = await runOps(['runs', 'list', '--colour']);
    assert.equal(unknownOption.code, 2);
    assert.match(unknownOption.stderr, /unknown option '--colour'/);
    const badLimit = await runOps(['runs', 'list', '--limit', 'many']);
    assert.equal(badLimit.code, 2);
    const badStatus = await runOps(['--ledger', join(tempDir(), 'l.db'), 'runs', 'list', '--status', 'done']);
    assert.equal(badStatus.code, 2);
    assert.match(badStatus.stderr, /^error: unknown status "done"; use one of running, succeeded, failed, interrupted\n$/);
  });

  it('--json prints exactly one JSON document on stdout, messages on stderr', async () => {
    const dir = tempDir();
    const ledger = join(dir, 'l.db');
    const exec = await runOps(['--ledger', ledger, '--json', 'exec', '--', 'sh', '-c', 'echo out; echo err >&2'], { cwd: dir });
    assert.equal(exec.code, 0, exec.stderr);
    // The child's own output passes through; the result document is last on stdout.
    const doc = JSON.parse(exec.stdout.slice(exec.stdout.indexOf('{')));
    assert.deepEqual(Object.keys(doc).sort(), ['exitCode', 'runId', 'status']);
    const list = await runOps(['--ledger', ledger, 'runs', 'list', '--json'], { cwd: dir });
    assert.equal(JSON.parse(list.stdout).length, 1);
    assert.equal(list.stderr, '');
  });

  it('no colour when piped, with NO_COLOR, TERM=dumb or --no-color; colour when forced', async () => {
    const dir = tempDir();
    const args = ['--ledger', join(dir, 'l.db'), 'doctor'];
    for (const env of [{}, { NO_COLOR: '1', FORCE_COLOR: '1' }, { TERM: 'dumb', FORCE_COLOR: '1' }]) {
      const result = await runOps(args, { cwd: dir, env: cleanEnv(env) });
      assert.doesNotMatch(result.stdout + result.stderr, ANSI, JSON.stringify(env));
    }
    const noColorFlag = await runOps(['--no-color', ...args], { cwd: dir, env: cleanEnv({ FORCE_COLOR: '1' }) });
    assert.doesNotMatch(noColorFlag.stdout, ANSI);
    const forced = await runOps(args, { cwd: dir, env: cleanEnv({ FORCE_COLOR: '1' }) });
    assert.match(forced.stdout, ANSI);
  });

  it('in CI progress is plain timestamped lines on stderr', async () => {
    const dir = tempDir();
    const result = await runOps(['--ledger', join(dir, 'l.db'), 'doctor'], { cwd: dir, env: cleanEnv({ CI: 'true' }) });
    assert.match(result.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z checking the environment \.\.\.$/m);
    assert.doesNotMatch(result.stderr, /[⠋⠙⠹⠸]/);
  });

  it('--cwd runs as if started in that folder', async () => {
    const dir = tempDir();
    const result = await runOps(['--cwd', dir, 'runs', 'list', '--json'], { cwd: PROJECT_ROOT });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), []);
    assert.deepEqual(readdirSync(dir), [], 'a read-only command leaves no ledger behind');
  });

  it('--cwd to a folder that does not exist is a usage error and creates nothing', async () => {
    const missing = join(tempDir(), 'nonexistent');
    const result = await runOps(['--cwd', missing, 'runs', 'list']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `error: --cwd ${missing} is not a folder; pass an existing project folder\n`);
    assert.equal(existsSync(missing), false);
  });

  it('commands that only read create no ledger: lists say so and exit 0, shows exit 1', async () => {
    const dir = tempDir();
    const env = cleanEnv();
    for (const list of [['runs', 'list'], ['model', 'list'], ['incident', 'list']]) {
      const result = await runOps(list, { cwd: dir, env });
      assert.equal(result.code, 0, `${list.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /no ledger here yet \(.*\.ops\/ledger\.db\)/, list.join(' '));
    }
    const doctor = JSON.parse((await runOps(['doctor', '--json'], { cwd: dir, env })).stdout);
    assert.match(doctor.checks.find((c: { name: string }) => c.name === 'ledger').detail, /no ledger here yet/);
    for (const show of [['runs', 'show', '3'], ['incident', 'show', '1'], ['model', 'show', 'churn'], ['triage', '1']]) {
      const result = await runOps(show, { cwd: dir, env });
      assert.equal(result.code, 1, `${show.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /no ledger here yet/, show.join(' '));
    }
    assert.deepEqual(readdirSync(dir), [], 'no .ops folder, no ledger');
    // A command that records creates it.
    assert.equal((await runOps(['exec', '--', 'true'], { cwd: dir, env })).code, 0);
    assert.deepEqual(readdirSync(dir), ['.ops']);
    const listed = await runOps(['runs', 'list', '--json'], { cwd: dir, env });
    assert.equal(JSON.parse(listed.stdout).length, 1);
    assert.doesNotMatch(listed.stderr, /no ledger here yet/);
  });
});

describe('ops exec and runs', () => {
  it('records the command, git state, exit code and a redacted log', async () => {
    const repo = gitRepo();
    repo.commit({ 'README.md': 'hi\n' }, 'first');
    const env = cleanEnv({ DEPLOY_TOKEN: 'tok-very-secret-123' });
    const result = await runOps(
      ['exec', '--kind', 'migrate', '--', 'sh', '-c', 'echo "using $DEPLOY_TOKEN"; echo password=hunter22 >&2; echo "run $OPS_RUN_ID"; exit 3'],
      { cwd: repo.dir, env },
    );
    assert.equal(result.code, 3);
    assert.doesNotMatch(result.stdout + result.stderr, /tok-very-secret-123|hunter22/);
    assert.match(result.stdout, /run 1/);

    const show = await runOps(['runs', 'show', '1', '--json'], { cwd: repo.dir, env });
    const run = JSON.parse(show.stdout);
    assert.equal(run.kind, 'migrate');
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 3);
    assert.equal(run.git.sha, repo.git('rev-parse', 'HEAD'));
    assert.equal(run.git.branch, 'main');
    assert.equal(run.git.dirty, false);
    const log = run.logs.map((l: { text: string }) => l.text).join('');
    assert.match(log, /using \[REDACTED\]/);
    assert.match(log, /password=\[REDACTED\]/);
    assert.doesNotMatch(JSON.stringify(run), /tok-very-secret-123|hunter22/);
    repo.cleanup();
  });

  it('filters runs by kind, status and since', async () => {
    const dir = tempDir();
    const ledger = join(dir, 'l.db');
    await runOps(['--ledger', ledger, 'exec', '--kind', 'a', '--', 'true'], { cwd: dir });
    await runOps(['--ledger', ledger, 'exec', '--kind', 'b', '--', 'false'], { cwd: dir });
    await runOps(['--ledger', ledger, 'exec', '--kind', 'b', '--', 'true'], { cwd: dir });
    const list = async (...args: string[]) => JSON.parse((await runOps(['--ledger', ledger, 'runs', 'list', '--json', ...args], { cwd: dir })).stdout) as Array<{ id: number }>;
    assert.deepEqual((await list('--kind', 'b')).map((r) => r.id), [3, 2]);
    assert.deepEqual((await list('--status', 'failed')).map((r) => r.id), [2]);
    assert.deepEqual((await list('--limit', '1')).map((r) => r.id), [3]);
    assert.equal((await list('--since', '1h')).length, 3);
    assert.equal((await list('--since', '2999-01-01')).length, 0);
    const missing = await runOps(['--ledger', ledger, 'runs', 'show', '99'], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: run 99 does not exist/);
  });

  it('a missing git binary is one clear line with exit 2', async () => {
    const repo = gitRepo();
    const bin = tempDir();
    symlinkSync(process.execPath, join(bin, 'node'));
    const result = await runOps(['exec', '--', 'true'], { cwd: repo.dir, env: cleanEnv({ PATH: bin }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: git is not installed or not on PATH; install git \(Debian: apt-get install git\) or add it to PATH\n$/);
    repo.cleanup();
  });

  it('a command that does not exist is a usage error', async () => {
    const dir = tempDir();
    const result = await runOps(['--ledger', join(dir, 'l.db'), 'exec', '--', 'no-such-command-xyz'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no-such-command-xyz is not installed or not on PATH/);
  });
});
