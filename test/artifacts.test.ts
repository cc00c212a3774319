import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { cleanEnv, runOps } from './helpers/ops.js';

function project(t: TestContext): { dir: string; ops(args: string[]): ReturnType<typeof runOps>; store: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ops-artifacts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ops.config.yaml'), 'project: models\n');
  const env = cleanEnv();
  return { dir, store: join(dir, '.ops', 'artifacts'), ops: (args) => runOps(args, { cwd: dir, env }) };
}

/** Every path under `dir` (folders and files), with its mode bits. */
function modes(dir: string): Array<{ path: string; dir: boolean; mode: number }> {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((entry) => {
    const path = join(entry.parentPath, entry.name);
    const info = statSync(path);
    return { path, dir: info.isDirectory(), mode: info.mode & 0o777 };
  });
}

/** Every byte the store holds (none when there is no store), as one string, to look for content that must not be there. */
const storedText = (store: string) =>
  existsSync(store)
    ? modes(store)
        .filter((e) => !e.dir)
        .map((e) => readFileSync(e.path, 'latin1'))
        .join('\n')
    : '';

describe('artifact store: symbolic links and permissions', () => {
  it('refuses a link that leads outside the folder (a 0600 file stays out of the store), nowhere, or to a folder', async (t) => {
    const p = project(t);
    const outside = join(p.dir, 'outside-secret.txt');
    writeFileSync(outside, 'PRIVATE-KEY-MATERIAL-42\n');
    chmodSync(outside, 0o600);
    const model = join(p.dir, 'model');
    mkdirSync(join(model, 'sub'), { recursive: true });
    writeFileSync(join(model, 'weights.bin'), 'weights\n');
    symlinkSync(outside, join(model, 'sub', 'stolen.txt'));

    const refused = await p.ops(['model', 'register', 'churn', '--artifact', 'model']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(
      refused.stderr,
      `error: artifact folder ${model}: the symbolic link "sub/stolen.txt" -> "${outside}" leads outside the folder; copy the file into the folder, or remove the link: ops stores links only to files inside the artifact folder, never what they point at outside it\n`,
    );
    const text = storedText(p.store);
    assert.doesNotMatch(text, /PRIVATE-KEY-MATERIAL-42/);
    assert.doesNotMatch(text, /weights/, 'refused before anything was stored');

    rmSync(join(model, 'sub', 'stolen.txt'));
    symlinkSync(join(model, 'missing.bin'), join(model, 'dangling'));
    const dangling = await p.ops(['model', 'register', 'churn', '--artifact', 'model']);
    assert.equal(dangling.code, 2);
    assert.match(dangling.stderr, /the symbolic link "dangling" -> "\S+missing\.bin" leads nowhere/);

    rmSync(join(model, 'dangling'));
    symlinkSync('sub', join(model, 'sub-again'));
    const folder = await p.ops(['model', 'register', 'churn', '--artifact', 'model']);
    assert.equal(folder.code, 2);
    assert.match(folder.stderr, /the symbolic link "sub-again" -> "sub" leads to a folder/);

    // The same through a training run: its artifact folder is checked the same way, and the run fails.
    const trained = await p.ops(['model', 'train', 'churn', '--', 'sh', '-c', `ln -s ${outside} "$OPS_ARTIFACT_DIR/key.txt"; echo ok > "$OPS_ARTIFACT_DIR/metrics.txt"`]);
    assert.notEqual(trained.code, 0, trained.stderr);
    assert.match(trained.stderr, /the symbolic link "key\.txt" -> "\S+outside-secret\.txt" leads outside the folder/);
    assert.doesNotMatch(storedText(p.store), /PRIVATE-KEY-MATERIAL-42/);
  });

  it('stores a link to a file inside the folder as a link, and creates folders 0700 and files 0600 like the ledger', async (t) => {
    const p = project(t);
    const model = join(p.dir, 'model');
    mkdirSync(join(model, 'blobs'), { recursive: true });
    writeFileSync(join(model, 'blobs', 'abc123'), 'the weights\n');
    symlinkSync('blobs/abc123', join(model, 'model.bin'));
    chmodSync(join(model, 'blobs', 'abc123'), 0o644);

    const registered = await p.ops(['model', 'register', 'churn', '--artifact', 'model', '--json']);
    assert.equal(registered.code, 0, registered.stderr);
    const shown = JSON.parse((await p.ops(['model', 'show', 'churn@1', '--json'])).stdout);
    const byPath = Object.fromEntries(shown.files.map((f: { path: string }) => [f.path, f]));
    assert.deepEqual(Object.keys(byPath).sort(), ['blobs/abc123', 'model.bin']);
    assert.equal(byPath['model.bin'].link, 'blobs/abc123', 'stored as a link, naming its target');
    assert.equal(byPath['model.bin'].digest, byPath['blobs/abc123'].digest, 'reading it gives the target, which is in the tree');
    assert.equal(byPath['blobs/abc123'].link, undefined);

    const entries = modes(p.store);
    assert.ok(entries.some((e) => !e.dir) && entries.some((e) => e.dir));
    assert.equal(statSync(p.store).mode & 0o777, 0o700);
    for (const entry of entries) assert.equal(entry.mode, entry.dir ? 0o700 : 0o600, `${entry.path} is ${entry.mode.toString(8)}`);
    assert.equal(statSync(join(p.dir, '.ops', 'ledger.db')).mode & 0o777, 0o600);

    // A store an older ops left 0755 is made private at the next write.
    chmodSync(p.store, 0o755);
    writeFileSync(join(p.dir, 'other.bin'), 'other\n');
    assert.equal((await p.ops(['model', 'register', 'churn', '--artifact', 'other.bin'])).code, 0);
    assert.equal(statSync(p.store).mode & 0o777, 0o700);
  });
});
