import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SZZ_BATCH } from '../src/core/risk/history.js';
import { cleanEnv, OPS_BIN, runOpsJson } from './helpers/ops.js';

const FIXES = 600;
const FILES = 30;

/**
 * A history of FIXES bugs, built with `git fast-import`: each "change" appends a line to one of
 * FILES modules, and a "fix:" some commits later rewrites that line, so SZZ blames every change.
 */
function buggyHistory(dir: string): void {
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const files: string[][] = Array.from({ length: FILES }, (_, f) => [`// module ${f}`]);
  const chunks: string[] = [];
  let at = Date.UTC(2020, 0, 1) / 1000;
  const commit = (message: string, file: number) => {
    at += 3600;
    const text = `${files[file]!.join('\n')}\n`;
    chunks.push(`commit refs/heads/main\nauthor Ada <ada@example.test> ${at} +0000\ncommitter Ada <ada@example.test> ${at} +0000\ndata ${Buffer.byteLength(message)}\n${message}\nM 100644 inline src/m${file}.js\ndata ${Buffer.byteLength(text)}\n${text}\n`);
  };
  const open: Array<{ file: number; line: number; n: number }> = [];
  for (let n = 0; n < FIXES; n++) {
    const file = n % FILES;
    files[file]!.push(`export const v${n} = compute(${n});`);
    open.push({ file, line: files[file]!.length - 1, n });
    commit(`change ${n}`, file);
    if (open.length > 3) {
      const bug = open.shift()!;
      files[bug.file]![bug.line] = `export const v${bug.n} = compute(${bug.n}) + 1;`;
      commit(`fix: off by one in v${bug.n}`, bug.file);
    }
  }
  for (const bug of open) {
    files[bug.file]![bug.line] = `export const v${bug.n} = compute(${bug.n}) + 1;`;
    commit(`fix: off by one in v${bug.n}`, bug.file);
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: chunks.join('') });
  execFileSync('git', ['reset', '-q', '--hard', 'main'], { cwd: dir });
}

const count = (ledger: string, sql: string): number => {
  const db = new Database(ledger, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('ops risk mine: a killed SZZ resumes', () => {
  let dir: string;
  let repo: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-risk-resume-'));
    repo = join(dir, 'repo');
    buggyHistory(repo);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('saves SZZ progress in batches: killed mid-SZZ, the next mine processes only the rest and labels as an uninterrupted one', async () => {
    const ledger = join(dir, 'killed.db');
    const child = spawn(process.execPath, [OPS_BIN, 'risk', 'mine', '--labels', '--ledger', ledger], { cwd: repo, env: cleanEnv(), stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    // Kill it as soon as a first batch of fixes is saved, long before all FIXES are.
    let saved = 0;
    for (let polls = 0; polls < 6000 && child.exitCode === null; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        saved = count(ledger, `SELECT count(*) AS n FROM szz_fixes`);
      } catch {
        continue;
      }
      if (saved >= SZZ_BATCH) {
        child.kill('SIGKILL');
        break;
      }
    }
    await exited;
    assert.ok(saved >= SZZ_BATCH && saved < FIXES, `killed with ${saved} of ${FIXES} fixes saved`);
    assert.equal(count(ledger, `SELECT count(*) AS n FROM runs WHERE kind = 'mine' AND status = 'running'`), 1, 'the killed run is still open');
    const before = count(ledger, `SELECT count(*) AS n FROM szz_fixes`);

    const resumed = await runOpsJson(['risk', 'mine', '--labels', '--ledger', ledger], { cwd: repo, env: cleanEnv() });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.json.szz.fixes, FIXES - before, 'only the fixes not saved yet are blamed again');
    assert.equal(count(ledger, `SELECT count(*) AS n FROM runs WHERE kind = 'mine' AND status = 'interrupted'`), 1, 'the killed run is recorded as interrupted');
    // Both mines are runs like any other: `ops runs list` shows them, newest first.
    const listed = await runOpsJson(['runs', 'list', '--kind', 'mine', '--ledger', ledger], { cwd: repo, env: cleanEnv() });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.json.map((r: { status: string }) => r.status), ['succeeded', 'interrupted']);

    const fresh = join(dir, 'fresh.db');
    const whole = await runOpsJson(['risk', 'mine', '--labels', '--ledger', fresh], { cwd: repo, env: cleanEnv() });
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(whole.json.szz.fixes, FIXES);
    const labels = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare(`SELECT sha, source, evidence FROM commit_labels ORDER BY sha, evidence`).all();
      } finally {
        db.close();
      }
    };
    const resumedLabels = labels(ledger);
    assert.equal(resumedLabels.length, FIXES, 'every change is labelled by its fix');
    assert.deepEqual(resumedLabels, labels(fresh));
  });
});
