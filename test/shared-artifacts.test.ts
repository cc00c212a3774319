import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { seededRandom } from '../src/core/forest/forest.js';
import { gitRepo } from './helpers/git.js';
import { growHistory } from './helpers/history.js';
import { cleanEnv, runOpsJson, runProcess } from './helpers/ops.js';
import { freshLedger, postgresServer, type PostgresServer } from './helpers/postgres.js';

function churnCsv(rows: number): string {
  const random = seededRandom(7);
  const lines = ['day,tenure,tickets,churned'];
  for (let i = 0; i < rows; i++) {
    const tenure = Math.round(random() * 60);
    const tickets = Math.round(random() * 10);
    lines.push(`2026-01-${String(1 + (i % 28)).padStart(2, '0')},${tenure},${tickets},${tickets * 6 - tenure + (random() - 0.5) * 20 > 0 ? 'yes' : 'no'}`);
  }
  return `${lines.join('\n')}\n`;
}

interface Machine {
  dir: string;
  home: string;
  ops(args: string[]): ReturnType<typeof runOpsJson>;
}

/** A "machine": its own cwd and HOME (and XDG folders), the ledger URL from OPS_LEDGER, nothing else shared. */
function machine(t: TestContext, url: string, dir?: string): Machine {
  const home = mkdtempSync(join(tmpdir(), 'ops-home-'));
  const cwd = dir ?? mkdtempSync(join(tmpdir(), 'ops-machine-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  if (!dir) t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const env = cleanEnv({ HOME: home, OPS_LEDGER: url });
  return { dir: cwd, home, ops: (args) => runOpsJson(args, { cwd, env }) };
}

/** Every file under `dir` (none when it does not exist). */
const filesUnder = (dir: string) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);

const databaseOf = (url: string) => new URL(url).pathname.slice(1);

async function server(t: TestContext): Promise<{ pg: PostgresServer; url: string } | undefined> {
  const url = await freshLedger(t, 'postgres');
  if (!url) return undefined;
  return { pg: (await postgresServer()) as PostgresServer, url };
}

describe('shared artifacts: a PostgreSQL ledger keeps them in the database', () => {
  it('a model trained and registered on machine A predicts the same on machine B, which has no artifact folder; chunks are deduplicated and checked', async (t) => {
    const found = await server(t);
    if (!found) return;
    const { pg, url } = found;
    const db = databaseOf(url);
    const a = machine(t, url);
    const b = machine(t, url);
    for (const m of [a, b]) {
      writeFileSync(join(m.dir, 'ops.config.yaml'), 'project: models\n');
      mkdirSync(join(m.dir, 'data'));
      writeFileSync(join(m.dir, 'data', 'churn.csv'), churnCsv(300));
    }

    const trained = await a.ops(['model', 'train', 'churn', '--data', 'data/churn.csv', '--target', 'churned', '--features', 'tenure,tickets', '--split', 'time:day', '--param', 'nTrees=20', '--register']);
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal(trained.json.registered.version, 1);
    const onA = await a.ops(['model', 'predict', 'churn@1', '--data', 'data/churn.csv']);
    assert.equal(onA.code, 0, onA.stderr);
    const onB = await b.ops(['model', 'predict', 'churn@1', '--data', 'data/churn.csv']);
    assert.equal(onB.code, 0, onB.stderr);
    assert.equal(onB.stdout, onA.stdout, 'B predicts from the bytes A stored');
    assert.equal(onB.json.rows.length, 300);
    assert.equal((await b.ops(['model', 'verify', 'churn@1'])).code, 0);
    for (const m of [a, b]) assert.deepEqual(filesUnder(join(m.dir, '.ops')), [], 'nothing of the ledger on either machine');

    // Every file of the tree (and the tree) is one blob, stored once however often it is stored.
    const blobs = () => Number(pg.psql(db, 'SELECT count(*) FROM blobs'));
    const storedFiles = trained.json.artifacts.length;
    assert.equal(blobs(), storedFiles + 1);
    const model = join(a.dir, 'model');
    mkdirSync(join(model, 'weights'), { recursive: true });
    // 2.5 MiB: three chunks (1 MiB, 1 MiB, 0.5 MiB).
    const weights = Buffer.alloc(2.5 * 1024 * 1024);
    for (let i = 0; i < weights.length; i++) weights[i] = (i * 31 + (i >> 12)) & 0xff;
    writeFileSync(join(model, 'weights', 'big.bin'), weights);
    symlinkSync('weights/big.bin', join(model, 'current.bin'));
    const first = await a.ops(['model', 'register', 'big', '--artifact', 'model']);
    assert.equal(first.code, 0, first.stderr);
    const again = await a.ops(['model', 'register', 'big', '--artifact', 'model']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.artifactDigest, first.json.artifactDigest);
    assert.equal(blobs(), storedFiles + 1 + 2, 'the second registration stored nothing new (the big file and its tree once)');
    const digest = `sha256:${createHash('sha256').update(weights).digest('hex')}`;
    assert.equal(pg.psql(db, `SELECT string_agg(idx || ':' || length(bytes), ',' ORDER BY idx) FROM blob_chunks WHERE digest = '${digest}'`), '0:1048576,1:1048576,2:524288');
    assert.equal(pg.psql(db, `SELECT size_bytes || '/' || chunks FROM blobs WHERE digest = '${digest}'`), `${weights.length}/3`);

    // B sees the link as a link, and the file behind it by the same digest.
    const shown = await b.ops(['model', 'show', 'big@2']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(
      shown.json.files.map((f: { path: string; link?: string; digest: string }) => [f.path, f.link ?? null, f.digest]),
      [
        ['current.bin', 'weights/big.bin', digest],
        ['weights/big.bin', null, digest],
      ],
    );
    assert.equal((await b.ops(['model', 'verify', 'big@2'])).code, 0);
    const promoted = await b.ops(['model', 'promote', 'churn@1', '--to', 'production', '--force', '--reason', 'from machine B']);
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.equal(promoted.json.promoted, true);

    // Two machines storing the same new files at once: each blob once, both registrations whole.
    const shared = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    for (const m of [a, b]) {
      mkdirSync(join(m.dir, 'same'));
      writeFileSync(join(m.dir, 'same', 'w.bin'), shared);
    }
    const before = blobs();
    const both = await Promise.all([a.ops(['model', 'register', 'twin', '--artifact', 'same']), b.ops(['model', 'register', 'twin', '--artifact', 'same'])]);
    for (const r of both) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(both.map((r) => r.json.version).sort(), [1, 2]);
    assert.equal(both[0]!.json.artifactDigest, both[1]!.json.artifactDigest);
    assert.equal(blobs(), before + 2, 'the file and its tree, once');
    assert.equal(pg.psql(db, `SELECT count(*) FROM blob_chunks WHERE digest = 'sha256:${createHash('sha256').update(shared).digest('hex')}'`), '4');

    // One byte of the middle chunk changed in the database: refused in one line naming the chunk.
    pg.psql(db, `UPDATE blob_chunks SET bytes = overlay(bytes placing '\\x00'::bytea from 100) WHERE digest = '${digest}' AND idx = 1`);
    const corrupt = await b.ops(['model', 'verify', 'big@2']);
    assert.equal(corrupt.code, 1);
    assert.equal(corrupt.stderr.trim().split('\n').length, 1, corrupt.stderr);
    assert.match(corrupt.stderr, new RegExp(`^error: artifact ${digest} \\(chunk 2 of 3 in the ledger postgres://ops:(\\*\\*\\*|\\[REDACTED\\])@127\\.0\\.0\\.1:\\d+/${db}\\) is corrupt: its content hashes to sha256:[0-9a-f]{64}, the ledger recorded sha256:[0-9a-f]{64}; register the model again`));
    assert.doesNotMatch(corrupt.stderr, /test-pg-secret/);

    // The model itself damaged: predict on B refuses it rather than predicting from it.
    pg.psql(db, `UPDATE blob_chunks SET bytes = overlay(bytes placing '\\x20'::bytea from 2) WHERE digest = '${trained.json.artifacts.find((f: { path: string }) => f.path === 'model.json').digest}'`);
    const refused = await b.ops(['model', 'predict', 'churn@1', '--data', 'data/churn.csv']);
    assert.equal(refused.code, 1);
    assert.equal(refused.json.error.code, 'corrupt_artifact', 'no predictions, the error document');
    assert.match(refused.stderr, /^error: artifact sha256:[0-9a-f]{64} \(chunk 1 of 1 in the ledger .*\) is corrupt: .*\n$/);
  });

  it('the risk scorer trained on machine A scores on machine B (another clone, no artifact folder) the same', async (t) => {
    const found = await server(t);
    if (!found) return;
    const repo = gitRepo('ops-shared-risk-');
    t.after(() => repo.cleanup());
    growHistory(repo, 40);
    const a = machine(t, found.url, repo.dir);
    const trained = await a.ops(['risk', 'train']);
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal(trained.json.promotion.promoted, true);

    const cloned = mkdtempSync(join(tmpdir(), 'ops-shared-risk-b-'));
    t.after(() => rmSync(cloned, { recursive: true, force: true }));
    await runProcess('git', ['clone', '-q', repo.dir, join(cloned, 'repo')]);
    const b = machine(t, found.url, join(cloned, 'repo'));
    const range = ['risk', 'score', '--range', 'HEAD~3..HEAD'];
    const [onA, onB] = [await a.ops(range), await b.ops(range)];
    assert.equal(onA.code, 0, onA.stderr);
    assert.equal(onB.code, 0, onB.stderr);
    assert.equal(onB.json.model, 'risk-scorer@1');
    assert.deepEqual(
      onB.json.commits.map((c: { sha: string; score: number }) => [c.sha, c.score]),
      onA.json.commits.map((c: { sha: string; score: number }) => [c.sha, c.score]),
    );
    assert.deepEqual(filesUnder(join(cloned, 'repo', '.ops')), []);
  });
});
