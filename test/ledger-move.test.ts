import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { seededRandom } from '../src/core/forest/forest.js';
import { cleanEnv, runOps, runOpsJson } from './helpers/ops.js';
import { freshLedger, PG_PASSWORD, postgresServer, type PostgresServer } from './helpers/postgres.js';

const SECRET = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';

function churnCsv(rows: number): string {
  const random = seededRandom(11);
  const lines = ['day,tenure,tickets,churned'];
  for (let i = 0; i < rows; i++) {
    const tenure = Math.round(random() * 60);
    const tickets = Math.round(random() * 10);
    lines.push(`2026-02-${String(1 + (i % 28)).padStart(2, '0')},${tenure},${tickets},${tickets * 6 - tenure + (random() - 0.5) * 20 > 0 ? 'yes' : 'no'}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A project folder with its own HOME; `ops` runs there with the given extra environment. */
function place(t: TestContext, project: string, extra: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ops-move-'));
  const home = mkdtempSync(join(tmpdir(), 'ops-move-home-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'ops.config.yaml'), `project: ${project}\n`);
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'churn.csv'), churnCsv(240));
  const env = cleanEnv({ HOME: home, ...extra });
  return { dir, ops: (args: string[]) => runOpsJson(args, { cwd: dir, env }) };
}

const ok = (what: string, result: { code: number | null; stderr: string }) => assert.equal(result.code, 0, `${what}: ${result.stderr}`);
const dbName = (url: string) => new URL(url).pathname.slice(1);
const count = (pg: PostgresServer, url: string, table: string) => Number(pg.psql(dbName(url), `SELECT count(*) FROM ${table}`));

/** A local SQLite ledger with runs, logs (one echoing a secret), a trained and promoted model, logged predictions. */
async function localLedger(t: TestContext) {
  const a = place(t, 'shop', { API_TOKEN: SECRET });
  ok('train', await a.ops(['model', 'train', 'churn', '--data', 'data/churn.csv', '--target', 'churned', '--features', 'tenure,tickets', '--split', 'time:day', '--param', 'nTrees=15', '--register']));
  ok('promote', await a.ops(['model', 'promote', 'churn@1', '--to', 'staging', '--force', '--reason', 'first']));
  ok('exec', await a.ops(['exec', '--', 'sh', '-c', 'echo "token is $API_TOKEN"']));
  ok('predict --log', await a.ops(['model', 'predict', 'churn@1', '--data', 'data/churn.csv', '--log']));
  return a;
}

describe('ops ledger migrate, export, import (real PostgreSQL)', () => {
  it('migrate copies a SQLite ledger into PostgreSQL with ids, lineage and artifacts, checks it, copies nothing the second time, and refuses another project', async (t) => {
    const url = await freshLedger(t, 'postgres');
    if (!url) return;
    const pg = (await postgresServer()) as PostgresServer;
    const a = await localLedger(t);

    const nowhere = place(t, 'shop');
    const none = await nowhere.ops(['ledger', 'migrate', '--to', url]);
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /error: no ledger at \S+ledger\.db: nothing to migrate/);
    assert.equal(pg.psql(dbName(url), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`), '0', 'the target not even opened for a missing source');

    const first = await a.ops(['ledger', 'migrate', '--to', url]);
    ok('migrate', first);
    const tables = first.json.tables as Array<{ table: string; source: number; target: number; copied: number; same: boolean }>;
    assert.ok(tables.every((r) => r.same && r.source === r.target && r.copied === r.source), JSON.stringify(tables));
    const rows = Object.fromEntries(tables.map((r) => [r.table, r.source]));
    assert.equal(rows.predictions, 240);
    assert.ok(rows.model_versions === 1 && rows.alias_events === 1 && rows.lineage_edges >= 1 && rows.run_logs >= 1, JSON.stringify(rows));
    assert.equal(first.json.verified, true);
    assert.ok(first.json.blobs.source >= 5, JSON.stringify(first.json.blobs));
    assert.deepEqual([first.json.blobs.copied, first.json.blobs.verified], [first.json.blobs.source, first.json.blobs.source]);
    for (const [table, n] of Object.entries(rows)) assert.equal(count(pg, url, table), n, table);
    assert.equal(pg.psql(dbName(url), `SELECT value FROM ledger_meta WHERE key = 'project'`), 'shop');

    const text = await a.ops(['ledger', 'migrate', '--to', url]);
    ok('second migrate', text);
    assert.ok((text.json.tables as Array<{ copied: number }>).every((r) => r.copied === 0), 'the second run copies nothing');
    assert.equal(text.json.blobs.copied, 0);

    // Machine B: another folder and HOME, only the URL. The same ids, the same lineage, the same predictions.
    const b = place(t, 'shop', { OPS_LEDGER: url });
    const [runsA, runsB] = [await a.ops(['runs', 'list', '--limit', '10']), await b.ops(['runs', 'list', '--limit', '10'])];
    assert.deepEqual(runsB.json.map((r: { id: number; kind: string; argv: string[] }) => [r.id, r.kind, r.argv]), runsA.json.map((r: { id: number; kind: string; argv: string[] }) => [r.id, r.kind, r.argv]));
    const [lineageA, lineageB] = [await a.ops(['model', 'lineage', 'churn@staging']), await b.ops(['model', 'lineage', 'churn@staging'])];
    ok('lineage on B', lineageB);
    assert.deepEqual(lineageB.json, lineageA.json);
    const [predictA, predictB] = [await a.ops(['model', 'predict', 'churn@1', '--data', 'data/churn.csv']), await b.ops(['model', 'predict', 'churn@1', '--data', 'data/churn.csv'])];
    ok('predict on B', predictB);
    assert.deepEqual(predictB.json, predictA.json, 'the artifacts came along');
    const execRun = runsB.json.find((r: { kind: string }) => r.kind === 'exec').id;
    const logs = await b.ops(['runs', 'show', String(execRun)]);
    assert.match(JSON.stringify(logs.json.logs), /token is \[REDACTED\]/);
    // New ids continue after the copied ones.
    ok('exec on B', await b.ops(['exec', '--', 'true']));
    assert.equal((await b.ops(['runs', 'list', '--limit', '1'])).json[0].id, rows.runs + 1);

    // Another project's ledger: refused before anything is written, unless told; then the check says it differs.
    const other = await freshLedger(t, 'postgres');
    const c = place(t, 'billing', { OPS_LEDGER: other! });
    ok('billing exec', await c.ops(['exec', '--', 'true']));
    const refused = await a.ops(['ledger', 'migrate', '--to', other!]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1);
    assert.match(refused.stderr, /error: ledger postgres:\/\/ops:(\*\*\*|\[REDACTED\])@127\.0\.0\.1:\d+\/\w+ already holds data of a project it does not name, and ledger \S+ledger\.db is project "shop"; copy into an empty database, or pass --allow-other-project/);
    assert.equal(count(pg, other!, 'runs'), 1);
    assert.equal(count(pg, other!, 'model_versions'), 0);
    const forced = await a.ops(['ledger', 'migrate', '--to', other!, '--allow-other-project']);
    assert.equal(forced.code, 1, forced.stderr);
    assert.match(forced.stderr, new RegExp(`differs from ledger \\S+ after the copy: runs \\(${rows.runs} rows in the source, ${rows.runs} in the target\\)`));
    assert.equal(forced.json.result.tables.find((r: { table: string }) => r.table === 'model_versions').same, true);
    for (const output of [first, text, refused, forced, runsB, logs]) assert.doesNotMatch(output.stdout + output.stderr, new RegExp(PG_PASSWORD));
  });

  it('export -> import -> export: SQLite to JSON Lines to PostgreSQL to JSON Lines is identical; secrets stay redacted; a file cut short imports nothing', async (t) => {
    const url = await freshLedger(t, 'postgres');
    if (!url) return;
    const pg = (await postgresServer()) as PostgresServer;
    const a = await localLedger(t);
    const exported = await a.ops(['ledger', 'export', '--out', 'one.jsonl']);
    ok('export', exported);
    const one = readFileSync(join(a.dir, 'one.jsonl'), 'utf8');
    assert.equal(exported.json.rows, one.split('\n').filter((l) => l.startsWith('{"type":"row"')).length);
    assert.doesNotMatch(one, new RegExp(SECRET));
    assert.match(one, /token is \[REDACTED\]/);
    const lines = one.trimEnd().split('\n');
    assert.deepEqual(JSON.parse(lines[0]!), { type: 'ledger', format: 'ops-ledger', version: 1, schema: JSON.parse(lines[0]!).schema, project: 'shop' });
    assert.equal(JSON.parse(lines[lines.length - 1]!).type, 'end');

    const b = place(t, 'shop', { OPS_LEDGER: url });
    writeFileSync(join(b.dir, 'one.jsonl'), one);
    const imported = await b.ops(['ledger', 'import', 'one.jsonl']);
    ok('import', imported);
    assert.equal(imported.json.verified, true);
    const toStdout = await runOpsJson(['ledger', 'export'], { cwd: b.dir, env: cleanEnv({ OPS_LEDGER: url }) });
    assert.equal(toStdout.code, 2, 'stdout is the export: --json needs --out');
    const plain = await runOps(['ledger', 'export'], { cwd: b.dir, env: cleanEnv({ OPS_LEDGER: url }) });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, one, 'SQLite -> JSONL -> PostgreSQL -> JSONL: the same bytes');

    const again = await b.ops(['ledger', 'import', 'one.jsonl']);
    ok('import again', again);
    assert.ok((again.json.tables as Array<{ copied: number }>).every((r) => r.copied === 0));

    // Back into a SQLite file on a third machine: the artifacts land in its private folder, the export is the same again.
    const local = place(t, 'shop');
    writeFileSync(join(local.dir, 'one.jsonl'), one);
    ok('import into SQLite', await local.ops(['ledger', 'import', 'one.jsonl']));
    const backAgain = await runOps(['ledger', 'export'], { cwd: local.dir, env: cleanEnv() });
    assert.equal(backAgain.stdout, one, 'PostgreSQL -> JSONL -> SQLite -> JSONL: the same bytes');
    ok('verify on the imported SQLite ledger', await local.ops(['model', 'verify', 'churn@1']));
    assert.equal(statSync(join(local.dir, '.ops', 'artifacts')).mode & 0o777, 0o700);

    // Cut short (the end line gone): nothing imported, one line.
    const empty = await freshLedger(t, 'postgres');
    const cut = place(t, 'shop', { OPS_LEDGER: empty! });
    writeFileSync(join(cut.dir, 'cut.jsonl'), `${lines.slice(0, -1).join('\n')}\n`);
    const refused = await cut.ops(['ledger', 'import', 'cut.jsonl']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^error: cut\.jsonl stops before its end line: it was cut short; export the ledger again; nothing was imported\n$/);
    for (const table of ['runs', 'predictions', 'blobs']) assert.equal(count(pg, empty!, table), 0, table);
  });
});
