// The monitor's known answer: logged inputs shifted by one standard deviation are flagged, an
// unshifted sample of the same distribution is not, over 20 seeds (in process, on a real ledger).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Context } from '../src/core/context.js';
import { seededRandom } from '../src/core/forest/forest.js';
import { monitorModel } from '../src/core/models/monitor.js';
import { registerVersion } from '../src/core/models/registry.js';
import { trainBuiltin } from '../src/core/models/train.js';
import { testContext } from './helpers/context.js';

const ROWS = 500;

/** tenure ~ Normal(30 + 10 * shift, 10), tickets ~ Uniform{0..10}. */
function sample(seed: number, rows: number, shift: number): Array<{ tenure: number; tickets: number }> {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: rows }, () => ({ tenure: Number((30 + 10 * (gauss() + shift)).toFixed(3)), tickets: Math.round(random() * 10) }));
}

describe('ops model monitor: a known answer over 20 seeds', () => {
  let dir: string;
  let ctx: Context;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ops-monitor-drift-'));
    writeFileSync(join(dir, 'ops.config.yaml'), 'project: drift\nledger: ledger.db\nmodels:\n  monitor: { minRows: 50 }\n');
    const train = sample(1, 2000, 0).map((r, i) => `${r.tenure},${r.tickets},${(r.tickets * 6 - r.tenure + (i % 7) - 3 > 0) ? 'yes' : 'no'}`);
    writeFileSync(join(dir, 'train.csv'), `tenure,tickets,churned\n${train.join('\n')}\n`);
    ctx = await testContext({ cwd: dir, ledger: join(dir, 'ledger.db') });
    const trained = await trainBuiltin(ctx, 'churn', { data: 'train.csv', target: 'churned', params: { nTrees: '10' } });
    await registerVersion(ctx, 'churn', { runId: trained.runId });
  });
  after(async () => {
    await ctx.ledger().close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('flags tenure shifted by 1 sd in 20 of 20 windows of 500 predictions, and reports the false positives of unshifted windows', async (t) => {
    let at = Date.now() - 3_600_000;
    const log = (rows: Array<{ tenure: number; tickets: number }>) =>
      ctx.ledger().predictions.append(rows.map((inputs) => ({ model: 'churn', version: 1, externalId: null, inputs, output: 'no', source: 'log' as const, atMs: at++ })));
    let detected = 0;
    let falsePositives = 0;
    let ticketsFlagged = 0;
    const lines: string[] = [];
    const stat = (report: Awaited<ReturnType<typeof monitorModel>>, test: string) => report.features.find((f) => f.column === 'tenure')!.tests.find((x) => x.test === test)!.statistic;
    for (let seed = 1; seed <= 20; seed++) {
      await log(sample(1000 + seed, ROWS, 0));
      const same = await monitorModel(ctx, { name: 'churn', version: 1 }, { window: `last:${ROWS}` });
      await log(sample(2000 + seed, ROWS, 1));
      const shifted = await monitorModel(ctx, { name: 'churn', version: 1 }, { window: `last:${ROWS}` });
      if (same.drifted.includes('tenure')) falsePositives++;
      if (shifted.drifted.includes('tenure')) detected++;
      ticketsFlagged += Number(same.drifted.includes('tickets')) + Number(shifted.drifted.includes('tickets'));
      lines.push(`seed ${seed}: shifted psi ${stat(shifted, 'psi')} ks ${stat(shifted, 'ks')}; same psi ${stat(same, 'psi')} ks ${stat(same, 'ks')}`);
    }
    t.diagnostic(`${ROWS} logged predictions per window against 2,000 training rows; psi >= 0.2, ks D >= 0.1 with p < 0.05`);
    t.diagnostic(`tenure shifted by 1 sd: ${detected}/20 flagged; unshifted: ${falsePositives}/20 false positives; tickets (never shifted): ${ticketsFlagged}/40 flagged`);
    for (const line of lines.slice(0, 3)) t.diagnostic(line);
    assert.equal(detected, 20, lines.join('\n'));
    assert.equal(falsePositives, 0, lines.join('\n'));
    assert.equal(ticketsFlagged, 0, lines.join('\n'));
  });
});
