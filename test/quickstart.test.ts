import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from './helpers/deploy.js';
import { engineWithBaseImage } from './helpers/engine.js';
import { cleanEnv, PROJECT_ROOT, runOpsJson, runProcess } from './helpers/ops.js';

// The README's quick start is the product's first impression: its printed story is pinned here,
// on the suite's build (OPS_QUICKSTART_BUILT skips the reinstall) at a free host port.
describe('scripts/quickstart.sh (real engine and registry)', () => {
  it('names the crashed release first, scores the commits since what runs, and a gate blocks a worse model', async (t) => {
    if (!(await engineWithBaseImage(t))) return;
    const dir = join(mkdtempSync(join(tmpdir(), 'ops-qs-')), 'quickstart');
    t.after(() => {
      try {
        execFileSync('docker', ['rm', '-f', ...execFileSync('docker', ['ps', '-aq', '--filter', 'label=ops.project=quickstart']).toString().split('\n').filter(Boolean)]);
      } catch {
        // No container left, or none started.
      }
      rmSync(join(dir, '..'), { recursive: true, force: true });
    });
    const port = await freePort();
    const env = cleanEnv({ OPS_QUICKSTART_BUILT: '1', OPS_QUICKSTART_DIR: dir, OPS_QUICKSTART_PORT: String(port) });
    const script = await runProcess('bash', [join(PROJECT_ROOT, 'scripts', 'quickstart.sh')], { env, timeoutMs: 540_000 });
    assert.equal(script.code, 0, script.stderr.slice(-3000));
    const ops = (args: string[]) => runOpsJson(args, { cwd: dir, env: cleanEnv() });

    // The incident's first suspect is r4, the release whose container crashed, and none of the releases replaced before it began.
    const incident = await ops(['incident', 'show', '1']);
    assert.equal(incident.code, 0, incident.stderr);
    assert.deepEqual(
      incident.json.suspects.map((s: { release: { revision: number } }) => s.release.revision),
      [4],
    );
    assert.match(script.stdout, /suspected deploys:\nRANK +RELEASE +SERVICE +REVISION.*\n1 +4 +web +4 /);
    assert.match(script.stdout, /1\. bad deploy of r4: crash on start: missing environment variable DATABASE_URL/);
    assert.match(script.stdout, /incident #1 resolved, cause: release 4 \(web r4 in local\)/);

    // What runs after the rollback is revision 3's image, built from an older commit than HEAD: the
    // release records that commit, and risk score covers the commits since it, HEAD's crash among them.
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir }).toString().trim();
    const status = await ops(['deploy', 'status', '--env', 'local']);
    const live = status.json.find((s: { service: string }) => s.service === 'web').release;
    assert.equal(live.description, 'rollback to 3');
    assert.notEqual(live.gitSha, head);
    assert.match(script.stdout, new RegExp(`risk \\d+% for ${live.gitSha}\\.\\.${head} \\(2 commits, risk-scorer@1\\)`));

    // The risk scorer's retrain is gated on the same held-out rows as the version it replaces.
    assert.match(script.stdout, /gate auc \+0 vs baseline: [\d.]+ \(v1: [\d.]+\) (passed|FAILED) \(both scored on v2's \d+ held-out rows\)/);

    // A single shallow tree is worse than the forest on the same rows: the gate blocks it (exit 3)
    // and production stays on version 1.
    assert.match(script.stdout, /auc +0\.\d+ +0\.\d+ +\+0 vs baseline +FAIL \(both scored on v2's 150 held-out rows\)/);
    assert.match(script.stderr, /error: promotion of demand@2 to production blocked by its gate/);
    const demand = await ops(['model', 'history', 'demand', '--alias', 'production']);
    assert.equal(demand.code, 0, demand.stderr);
    assert.deepEqual(
      demand.json.map((move: { toVersion: number; until: string | null }) => [move.toVersion, move.until]),
      [[1, null]],
    );
  });
});
