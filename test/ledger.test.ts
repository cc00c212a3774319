import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { RUN_STALE_AFTER_MS } from '../src/core/context.js';
import { Ledger, SCHEMA_VERSION } from '../src/ledger/index.js';
import { childPids, cleanEnv, OPS_BIN, processName, runOps } from './helpers/ops.js';
import { BACKENDS, freshLedger } from './helpers/postgres.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'ops-ledger-'));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** One clear line on stderr, no stack trace. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /);
}


/**
 * `ops exec` of a long command, resolved once the command has started (so the run is recorded):
 * by default a shell that says so; a given command, once ops has a child of that name.
 */
async function startLongRun(ledgerPath: string, command?: string[]) {
  const dir = tempDir();
  const env = cleanEnv();
  const child = spawn(process.execPath, [OPS_BIN, '--ledger', ledgerPath, 'exec', '--', ...(command ?? ['sh', '-c', 'echo started; sleep 30'])], { cwd: dir, env });
  if (!command) {
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve()));
  } else {
    const started = () => childPids(child.pid!).some((pid) => processName(pid) === command[0]);
    while (!started()) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { dir, ledgerPath, env, child };
}

describe('ledger', () => {
  it('creates a 0600 WAL database at the latest schema with a 30 s busy timeout', async () => {
    const path = join(tempDir(), '.ops', 'ledger.db');
    const ledger = Ledger.open(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(ledger.sqlite!.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(ledger.sqlite!.pragma('foreign_keys', { simple: true }), 1);
    assert.ok((ledger.sqlite!.pragma('busy_timeout', { simple: true }) as number) >= 30_000);
    assert.deepEqual((await ledger.schemaVersion()), { current: SCHEMA_VERSION, supported: SCHEMA_VERSION });
    const tables = (ledger.sqlite!.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
    for (const table of ['runs', 'run_logs', 'artifacts', 'builds', 'releases', 'locks', 'datasets', 'model_versions', 'model_aliases', 'alias_events', 'lineage_edges', 'incidents', 'incident_events', 'risk_scores']) {
      assert.ok(tables.includes(table), `missing table ${table}`);
    }
    await ledger.close();
  });

  it('runs list uses an index, not a full scan', async () => {
    const ledger = Ledger.open(join(tempDir(), 'l.db'));
    const plan = (sql: string) => (ledger.sqlite!.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join('; ');
    assert.doesNotMatch(plan(`SELECT * FROM runs WHERE kind = 'x' ORDER BY id DESC LIMIT 50`), /^SCAN runs$|USE TEMP B-TREE/);
    assert.doesNotMatch(plan(`SELECT * FROM runs WHERE status = 'failed' ORDER BY id DESC LIMIT 50`), /^SCAN runs$|USE TEMP B-TREE/);
    assert.match(plan(`SELECT id FROM runs WHERE status = 'running'`), /USING (COVERING )?INDEX runs_status/);
    await ledger.close();
  });

  it('8 processes writing 500 runs each into one ledger lose nothing', { timeout: 300_000 }, async () => {
    const path = join(tempDir(), 'shared.db');
    const writer = new URL('./fixtures/ledger-writer.js', import.meta.url).pathname;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [writer, path, '500', String(i)], { env: cleanEnv() });
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => resolve({ code, stderr }));
        }),
      ),
    );
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /locked|BUSY/i);
    }
    const ledger = Ledger.open(path);
    assert.equal((ledger.sqlite!.prepare(`SELECT count(*) AS n FROM runs WHERE status = 'succeeded'`).get() as { n: number }).n, 4000);
    assert.equal((ledger.sqlite!.prepare(`SELECT count(*) AS n FROM run_logs`).get() as { n: number }).n, 4000);
    assert.equal((ledger.sqlite!.prepare(`SELECT count(DISTINCT pid) AS n FROM runs`).get() as { n: number }).n, 8);
    assert.deepEqual((await ledger.integrityCheck()), ['ok']);
    await ledger.close();
  });

  it('refuses a ledger from a newer schema and leaves it byte for byte unchanged', async () => {
    const dir = tempDir();
    const path = join(dir, 'new.db');
    const db = new Database(path);
    db.exec('CREATE TABLE future (x)');
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    const before = sha256(path);
    const result = await runOps(['--ledger', path, 'runs', 'list'], { cwd: dir });
    assert.equal(result.code, 2);
    assertOneLineError(result.stderr, /schema version \d+, newer than this ops understands.*upgrade ops/);
    assert.equal(sha256(path), before);
    assert.equal(result.stdout, '');
  });

  it('reports a corrupt ledger in one line and does not touch it', async () => {
    const dir = tempDir();
    const path = join(dir, 'corrupt.db');
    writeFileSync(path, Buffer.alloc(8192, 7));
    const before = sha256(path);
    const result = await runOps(['--ledger', path, 'runs', 'list'], { cwd: dir });
    assert.equal(result.code, 2);
    assertOneLineError(result.stderr, /not a valid SQLite database.*move it aside/);
    assert.equal(sha256(path), before);
  });

  it('reports a path that is a folder in one line', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'ledger.db'));
    const result = await runOps(['--ledger', join(dir, 'ledger.db'), 'runs', 'list'], { cwd: dir });
    assert.equal(result.code, 2);
    assertOneLineError(result.stderr, /cannot open ledger/);
  });

  it('reports unreadable and read-only ledgers in one line', { skip: process.getuid?.() !== 0 && 'needs root to run ops as another user' }, async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const path = join(dir, 'l.db');
    await Ledger.open(path).close();
    const before = sha256(path);
    // root reads anything: run ops as nobody against a file owned by root.
    const asNobody = { uid: 65534, gid: 65534, cwd: dir, env: cleanEnv({ HOME: dir, XDG_CONFIG_HOME: dir }) };
    chmodSync(join(dir, 'l.db'), 0o600);
    const unreadable = await runOps(['--ledger', path, 'runs', 'list'], asNobody);
    assert.equal(unreadable.code, 2, unreadable.stderr);
    assertOneLineError(unreadable.stderr, /ledger .*l\.db/);

    chmodSync(path, 0o644);
    for (const f of ['l.db-wal', 'l.db-shm']) {
      try {
        chmodSync(join(dir, f), 0o644);
      } catch {
        /* not present */
      }
    }
    const readOnly = await runOps(['--ledger', path, 'exec', '--', 'true'], asNobody);
    assert.equal(readOnly.code, 2, readOnly.stderr);
    assertOneLineError(readOnly.stderr, /read-only|cannot open ledger/);
    assert.equal(sha256(path), before);
    chownSync(dir, 0, 0);
  });
});

// A run's life (killed, interrupted, abandoned), the same bodies on both backends.
for (const backend of BACKENDS) describe(`ledger: runs (${backend})`, () => {
  it('a process killed with SIGKILL mid-run leaves a clean ledger and an interrupted run', async (t) => {
    const target = await freshLedger(t, backend);
    if (!target) return;
    const { dir, ledgerPath, env, child } = await startLongRun(target);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));

    const list = await runOps(['--ledger', ledgerPath, 'runs', 'list', '--json'], { cwd: dir, env });
    assert.equal(list.code, 0, list.stderr);
    const [run] = JSON.parse(list.stdout);
    assert.equal(run.status, 'interrupted');
    assert.match(run.error, /died/);
    // It ended when it last showed life (its last log line), not when `runs list` noticed.
    const reader = Ledger.open(ledgerPath);
    const { at: lastLog } = (await reader.runs.logs(run.id)).at(-1)!;
    await reader.close();
    assert.equal(run.finishedAt, lastLog);
    assert.ok(Date.parse(run.finishedAt) < killedAt, `${run.finishedAt} is not before the kill at ${new Date(killedAt).toISOString()}`);
    if (backend === 'sqlite') {
      const ledger = Ledger.open(ledgerPath);
      assert.deepEqual((await ledger.integrityCheck()), ['ok']);
      await ledger.close();
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} marks the current run interrupted and exits 130`, async (t) => {
      const target = await freshLedger(t, backend);
      if (!target) return;
      // The command is the child itself (no shell in between), so that the abort kills it at once:
      // the race the one signal path closes is the run's own end against the interruption.
      const { ledgerPath, child } = await startLongRun(target, ['sleep', '30']);
      child.kill(signal);
      const code = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(code, 130);
      const ledger = Ledger.open(ledgerPath);
      const run = (await ledger.runs.get(1))!;
      assert.equal(run.status, 'interrupted');
      assert.equal(run.exitCode, 130);
      assert.match(run.error!, new RegExp(signal));
      await ledger.close();
    });
  }

  it('a run whose heartbeat is older than 2 minutes is interrupted, on any host', async (t) => {
    const target = await freshLedger(t, backend);
    if (!target) return;
    const ledger = Ledger.open(target);
    const base = { kind: 'exec', actor: 'a', pid: 424242, ci: false, argv: [] };
    const now = Date.now();
    const stale = await ledger.runs.insert({ ...base, host: 'other-host' }, now - 125_000);
    const fresh = await ledger.runs.insert({ ...base, host: 'other-host' }, now - 30_000);
    // Another host's pid cannot be checked here: only the heartbeat counts.
    await ledger.runs.heartbeat(stale, now - 124_000);
    const marked = await ledger.runs.sweepAbandoned('this-host', () => true, now, RUN_STALE_AFTER_MS);
    assert.deepEqual(marked, [stale]);
    assert.equal((await ledger.runs.get(stale))!.status, 'interrupted');
    // It ended at its last heartbeat, a second after it started, not at the sweep's now.
    assert.equal((await ledger.runs.get(stale))!.durationMs, 1_000);
    assert.equal((await ledger.runs.get(fresh))!.status, 'running');
    await ledger.close();
  });
});
