import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Ledger } from '../src/ledger/index.js';
import { cleanEnv, runOps, runOpsJson } from './helpers/ops.js';

const RUNS = 1500;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A real ledger of RUNS finished runs with a log line each, its WAL checkpointed into the file. */
async function ledgerWithRuns(): Promise<{ dir: string; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ops-corrupt-'));
  const path = join(dir, 'ledger.db');
  const ledger = Ledger.open(path);
  const now = Date.now();
  await ledger.transaction(async () => {
    for (let i = 0; i < RUNS; i++) {
      const id = await ledger.runs.insert({ kind: 'exec', actor: 'a', host: 'h', pid: 1, ci: false, argv: ['exec', '--', 'echo', String(i)], params: { command: ['echo', String(i)] } }, now - 60_000);
      await ledger.runs.appendLog(id, 'stdout', `line ${i} ${'x'.repeat(200)}\n`, now - 59_000);
      await ledger.runs.finish(id, { status: 'succeeded', exitCode: 0 }, now - 58_000);
    }
  });
  await ledger.close();
  return { dir, path };
}

/** Set when the last quick_check ran (the schedule runs one when it is over an hour old). */
function setLastCheck(path: string, at: number): void {
  const db = new Database(path);
  db.prepare(`UPDATE ledger_checks SET checked_at = ? WHERE name = 'quick_check'`).run(at);
  db.close();
}

/** Overwrite whole pages of the file with random bytes. */
function writeGarbage(path: string, firstPage: number, pages: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, randomBytes(4096 * pages), 0, 4096 * pages, 4096 * (firstPage - 1));
  closeSync(fd);
}

/**
 * A command run while the hourly check is due starts it in the background: wait (generously) for
 * the problem it stores. Returns that result.
 */
async function checkFinds(path: string, dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const list = await runOps(['--ledger', path, 'runs', 'list', '--limit', '1'], { cwd: dir, env });
  assert.equal(list.code, 0, list.stderr);
  for (let i = 0; i < 600; i++) {
    const db = new Database(path, { readonly: true });
    const { result } = db.prepare(`SELECT result FROM ledger_checks WHERE name = 'quick_check'`).get() as { result: string };
    db.close();
    if (result !== 'ok') return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the background quick_check stored no problem within 60 s');
}

function rootPage(path: string, table: string): number {
  const db = new Database(path, { readonly: true });
  const page = (db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = ?`).get(table) as { rootpage: number }).rootpage;
  db.close();
  return page;
}

function assertCorruptLine(stderr: string): void {
  const errors = stderr.trim().split('\n').filter((line) => line.startsWith('error: '));
  assert.equal(errors.length, 1, stderr);
  assert.match(errors[0]!, /^error: ledger .*ledger\.db is corrupt \(.+\); ops writes nothing more to it; run `ops doctor --recover`/);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

describe('a ledger whose pages are corrupt', () => {
  it('the hourly quick_check finds garbage in the middle of the file: writes are refused in one line, the file is untouched', async () => {
    const { dir, path } = await ledgerWithRuns();
    setLastCheck(path, Date.now() - 2 * 3_600_000);
    const pages = statSync(path).size / 4096;
    writeGarbage(path, Math.floor(pages / 2), 4);
    const env = cleanEnv();
    assert.match(await checkFinds(path, dir, env), /^quick_check: .*page/);
    const before = sha256(path);

    const exec = await runOps(['--ledger', path, 'exec', '--', 'true'], { cwd: dir, env });
    assert.equal(exec.code, 2, exec.stderr);
    assertCorruptLine(exec.stderr);
    assert.equal(sha256(path), before);

    // Reads go on (what is readable), with the warning.
    const list = await runOps(['--ledger', path, 'runs', 'list', '--limit', '3'], { cwd: dir, env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stderr, /warning: ledger .* is corrupt .*run `ops doctor --recover`/);
    assert.equal(sha256(path), before);

    const doctor = await runOpsJson(['--ledger', path, 'doctor'], { cwd: dir, env });
    const check = doctor.json.checks.find((c: { name: string }) => c.name === 'ledger');
    assert.equal(check.ok, false);
    assert.match(check.fix, /ops doctor --recover/);
    assert.equal(sha256(path), before);
  });

  it('a due check on a sound ledger stores ok with the time it was started, and the command goes on', async () => {
    const { dir, path } = await ledgerWithRuns();
    setLastCheck(path, 0);
    const startedBefore = Date.now();
    const exec = await runOps(['--ledger', path, 'exec', '--', 'true'], { cwd: dir, env: cleanEnv() });
    assert.equal(exec.code, 0, exec.stderr);
    assert.doesNotMatch(exec.stderr, /corrupt/);
    const db = new Database(path, { readonly: true });
    const row = db.prepare(`SELECT checked_at, result FROM ledger_checks WHERE name = 'quick_check'`).get() as { checked_at: number; result: string };
    db.close();
    assert.equal(row.result, 'ok');
    assert.ok(row.checked_at >= startedBefore, 'the claim stored the time the check was started');
  });

  it('a statement meeting SQLITE_CORRUPT (the runs table\'s root page) marks it too, between checks', async () => {
    const { dir, path } = await ledgerWithRuns();
    // The last check was just now (none is due): only the statement can find it.
    setLastCheck(path, Date.now());
    writeGarbage(path, rootPage(path, 'runs'), 1);
    const before = sha256(path);
    const env = cleanEnv();
    for (const args of [['runs', 'list'], ['exec', '--', 'true']]) {
      const result = await runOps(['--ledger', path, ...args], { cwd: dir, env });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assertCorruptLine(result.stderr);
    }
    assert.equal(sha256(path), before);
  });

  it('ops doctor --recover copies what is readable into a new ledger and keeps the corrupt file; commands work again', async () => {
    const { dir, path } = await ledgerWithRuns();
    setLastCheck(path, Date.now() - 2 * 3_600_000);
    const pages = statSync(path).size / 4096;
    writeGarbage(path, Math.floor(pages / 2), 4);
    const env = cleanEnv();
    await checkFinds(path, dir, env);
    const corrupt = sha256(path);

    const recover = await runOpsJson(['--ledger', path, 'doctor', '--recover'], { cwd: dir, env });
    assert.equal(recover.code, 0, recover.stderr);
    assert.equal(recover.json.ok, true);
    assert.deepEqual(recover.json.integrity, ['ok']);
    assert.ok(existsSync(recover.json.kept));
    assert.equal(sha256(recover.json.kept), corrupt, 'the corrupt file is kept as it was');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const runs = recover.json.tables.find((t: { table: string }) => t.table === 'runs');
    assert.ok(runs.rows >= RUNS / 2 && runs.rows <= RUNS, `runs recovered: ${runs.rows} of ${RUNS}`);

    const exec = await runOps(['--ledger', path, '--json', 'exec', '--', 'true'], { cwd: dir, env });
    assert.equal(exec.code, 0, exec.stderr);
    assert.doesNotMatch(exec.stderr, /corrupt/);
    const ledger = Ledger.open(path);
    assert.deepEqual(await ledger.integrityCheck(), ['ok']);
    assert.equal((await ledger.runs.get(JSON.parse(exec.stdout).runId))!.status, 'succeeded');
    await ledger.close();
  });

  it('ops doctor --recover refuses a file whose schema cannot be read, and leaves it as it was', async () => {
    const { dir, path } = await ledgerWithRuns();
    writeGarbage(path, 1, 2);
    const before = sha256(path);
    const recover = await runOps(['--ledger', path, 'doctor', '--recover'], { cwd: dir, env: cleanEnv() });
    assert.equal(recover.code, 2, recover.stderr);
    assert.match(recover.stderr, /^error: (nothing in ledger .* can be read|cannot read ledger).*; restore it from a backup/m);
    assert.equal(sha256(path), before);
    assert.deepEqual(readdirSync(dir).sort(), ['ledger.db']);
  });
});
