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

    it('appends predictions per version, skips a known id, labels by id, and reads windows newest first', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      const at = Date.UTC(2026, 2, 1, 12);
      const p = (version: number, id: string | null, atMs: number, output: string | number) => ({ model: 'churn', version, externalId: id, inputs: { tenure: atMs % 7, plan: 'pro' }, output, source: 'log' as const, atMs });
      assert.equal(await ledger.predictions.append([p(1, 'a', at, 'yes'), p(1, 'b', at + 1000, 'no'), p(2, null, at + 2000, 'yes'), p(2, null, at + 3000, 'no')]), 4);
      assert.equal(await ledger.predictions.append([p(2, 'a', at + 4000, 'no'), p(2, 'c', at + 5000, 0.5)]), 1, 'id "a" is known: skipped');
      assert.equal(await ledger.predictions.append([{ ...p(1, 'a', at, 'yes'), model: 'other' }]), 1, 'ids are per model');

      const labelled = await ledger.predictions.label([{ id: 'a', label: 'no', model: 'churn' }, { id: 'c', label: 1, model: null }, { id: 'zz', label: 'yes', model: null }], at + 9000);
      assert.deepEqual(labelled, { labelled: 2, unknown: ['zz'] });

      const all = await ledger.predictions.window({ model: 'churn' });
      assert.deepEqual(all.map((r) => [r.version, r.externalId, r.output, r.label]), [
        [2, 'c', 0.5, 1],
        [2, null, 'no', undefined],
        [2, null, 'yes', undefined],
        [1, 'b', 'no', undefined],
        [1, 'a', 'yes', 'no'],
      ]);
      assert.deepEqual(all[4]!.inputs, { tenure: at % 7, plan: 'pro' });
      assert.equal(all[0]!.at, new Date(at + 5000).toISOString());
      assert.deepEqual((await ledger.predictions.window({ model: 'churn', version: 2, limit: 2 })).map((r) => r.output), [0.5, 'no']);
      assert.deepEqual((await ledger.predictions.window({ model: 'churn', sinceMs: at + 2500 })).map((r) => r.output), [0.5, 'no']);
      assert.equal((await ledger.predictions.window({ model: 'other' }))[0]!.label, undefined, "another model's id is not labelled by --model churn");
      assert.deepEqual((await ledger.predictions.externalIds('churn')).sort(), ['a', 'b', 'c']);
    });

    it('keeps where each append-only predictions file was read to', async (t) => {
      const ledger = await open(t, backend);
      if (!ledger) return;
      assert.equal(await ledger.predictions.fileMark('/var/log/p.jsonl'), undefined);
      await ledger.predictions.setFileMark('/var/log/p.jsonl', { offset: 120, lines: 3, head: 'h1' }, 1);
      await ledger.predictions.setFileMark('/var/log/p.jsonl', { offset: 250, lines: 6, head: 'h2' }, 2);
      assert.deepEqual(await ledger.predictions.fileMark('/var/log/p.jsonl'), { offset: 250, lines: 6, head: 'h2' });
    });
  });
}
