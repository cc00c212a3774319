// The data and monitoring stores on both backends: profiles by digest, suite outcomes by run.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Ledger } from '../src/ledger/index.js';
import { BACKENDS, freshLedger, type Backend } from './helpers/postgres.js';

async function open(t: TestContext, backend: Backend): Promise<Ledger | undefined> {
  const target = await freshLedger(t, backend);
  if (!target) return undefined;
  const ledger = Ledger.open(target);
  t.after(() => ledger.close());
  return ledger;
}

const run = { kind: 'train', actor: 'tester', host: 'host-a', pid: 4242, ci: false, argv: ['model', 'train'] };

for (const backend of BACKENDS) {
  describe(`data stores on ${backend}`, () => {
    it('keeps one profile per digest, finds it by prefix, and records suite outcomes by run', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const now = Date.UTC(2026, 2, 1, 12);
      const digest = `sha256:${'ab12'.repeat(16)}`;
      await ledger.data.saveProfile(digest, 600, { rows: 600, columns: [{ name: 'tenure' }] }, now);
      await ledger.data.saveProfile(digest, 1, { rows: 1, columns: [] }, now + 1);
      const stored = await ledger.data.profile<{ rows: number }>(digest);
      assert.deepEqual(stored, { digest, rows: 600, profile: { rows: 600, columns: [{ name: 'tenure' }] }, createdAt: new Date(now).toISOString() });
      assert.equal(await ledger.data.profile('sha256:none'), undefined);
      assert.deepEqual(await ledger.data.profileDigests('ab12ab'), [digest]);
      assert.deepEqual(await ledger.data.profileDigests('ab_2'), [], 'LIKE wildcards in a prefix are literal');

      const runId = await ledger.runs.insert(run, now);
      const failedId = await ledger.data.recordCheck({ digest, runId, suite: 'checks.yaml', passed: false, failed: ['tickets: not null'], checks: [{ check: 'tickets: not null', passed: false }], override: 'known gap' }, now);
      await ledger.data.recordCheck({ digest, runId, suite: 'more.yaml', passed: true, failed: [], checks: [], override: null }, now + 5);
      assert.equal(typeof failedId, 'number');
      const checks = await ledger.data.checksOfRun(runId);
      assert.deepEqual(
        checks.map((c) => [c.suite, c.passed, c.failed, c.override, c.runId]),
        [
          ['checks.yaml', false, ['tickets: not null'], 'known gap', runId],
          ['more.yaml', true, [], null, runId],
        ],
      );
      assert.deepEqual(checks[0]!.checks, [{ check: 'tickets: not null', passed: false }]);
      assert.equal(checks[1]!.createdAt, new Date(now + 5).toISOString());
    });
  });
}
