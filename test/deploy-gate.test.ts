import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyRiskGate } from '../src/core/deploy/gate.js';
import { ExitCode, OpsError } from '../src/errors.js';
import { testContext } from './helpers/context.js';

const thresholds = { warn: 0.5, block: 0.8 };
const scored = (probability: number) => ({ status: 'scored' as const, probability, level: probability >= 0.8 ? 'high' : 'medium', reason: 'touches 41 files' });

async function context(interactive: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'ops-gate-'));
  const ctx = await testContext({ cwd: dir, ledger: join(dir, 'l.db') });
  return { ctx: { ...ctx, interactive }, lines: (ctx.output as unknown as { lines: string[] }).lines, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('deploy risk gate', () => {
  it('passes "not scored" through, recording an accepted reason when given', async () => {
    const { ctx, cleanup } = await context(false);
    try {
      const verdict = { status: 'not scored' as const, reason: 'no risk-scorer version holds the alias "production"' };
      assert.deepEqual(await applyRiskGate(ctx, verdict, thresholds), verdict);
      assert.deepEqual(await applyRiskGate(ctx, verdict, thresholds, 'hotfix'), { ...verdict, accepted: 'hotfix' });
    } finally {
      cleanup();
    }
  });

  it('warns above risk.warn, blocks above risk.block with exit 3 unless --accept-risk, asks at a terminal', async () => {
    const { ctx, lines, cleanup } = await context(false);
    try {
      assert.deepEqual(await applyRiskGate(ctx, scored(0.2), thresholds), scored(0.2));
      assert.equal(lines.length, 0);
      await applyRiskGate(ctx, scored(0.6), thresholds);
      assert.match(lines.pop()!, /^warning: risk 0\.60 \(medium\): touches 41 files; above risk\.warn 0\.5$/);

      await assert.rejects(applyRiskGate(ctx, scored(0.9), thresholds), (err: OpsError) => {
        assert.equal(err.exitCode, ExitCode.gate);
        assert.match(err.message, /deploy blocked: risk 0\.90 \(high\): touches 41 files is above risk\.block 0\.8/);
        assert.match(err.hint!, /--accept-risk/);
        return true;
      });
      assert.deepEqual(await applyRiskGate(ctx, scored(0.9), thresholds, 'incident fix, reviewed by two'), { ...scored(0.9), accepted: 'incident fix, reviewed by two' });

      const terminal = { ...ctx, interactive: true };
      const asked: string[] = [];
      const yes = await applyRiskGate(terminal, scored(0.9), thresholds, undefined, async (m) => (asked.push(m), true));
      assert.match(yes.accepted!, /^confirmed at the terminal by /);
      assert.match(asked[0]!, /above risk\.block 0\.8\. Deploy anyway\?/);
      await assert.rejects(applyRiskGate(terminal, scored(0.9), thresholds, undefined, async () => false), (err: OpsError) => err.exitCode === ExitCode.gate);
    } finally {
      cleanup();
    }
  });
});
