// `npm run bench`: every performance goal, each measured side by side against its baseline.
import { foundationBenchmarks } from './foundation.js';
import { report } from './lib.js';

const results = foundationBenchmarks();
report(results);
process.exitCode = results.every((r) => r.pass) ? 0 : 1;
