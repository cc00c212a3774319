// `npm run bench`: every performance goal, each measured side by side against its baseline.
import { artifactBenchmarks } from './artifacts.js';
import { buildBenchmarks } from './build.js';
import { dataBenchmarks } from './data.js';
import { deployBenchmarks } from './deploy.js';
import { foundationBenchmarks } from './foundation.js';
import { intakeBenchmarks } from './intake.js';
import { ledgerCheckBenchmarks } from './ledger-check.js';
import { modelBenchmarks } from './models.js';
import { report, type Result } from './lib.js';
import { metricsBenchmarks } from './metrics.js';
import { pgLedgerBenchmarks } from './pg-ledger.js';
import { riskBenchmarks } from './risk.js';
import { triageBenchmarks } from './triage.js';
import { watchBenchmarks } from './watch.js';
import { writerBenchmarks } from './writers.js';

// `npm run bench -- build` runs one group; no argument runs them all.
const groups: Record<string, () => Result[]> = { foundation: foundationBenchmarks, build: buildBenchmarks, deploy: deployBenchmarks, models: modelBenchmarks, risk: riskBenchmarks, watch: watchBenchmarks, triage: triageBenchmarks, data: dataBenchmarks, intake: intakeBenchmarks, writers: writerBenchmarks, metrics: metricsBenchmarks, artifacts: artifactBenchmarks, 'ledger-check': ledgerCheckBenchmarks, postgres: pgLedgerBenchmarks };
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(groups);
const results: Result[] = [];
for (const name of chosen) {
  const group = groups[name];
  if (!group) throw new Error(`unknown benchmark group ${name}: ${Object.keys(groups).join(', ')}`);
  const measured = group();
  report(measured);
  results.push(...measured);
}
process.exitCode = results.every((r) => r.pass) ? 0 : 1;
