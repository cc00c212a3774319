// One side of the watch benchmarks, timed in its own process; prints {"ms": ...}.
//   watch-run cycle <project dir>        one `ops watch --once` cycle (runCycle) over its docker sources
//   watch-run calls <project dir>        the same docker calls (list, then inspect each) one after another
//   watch-run nab-parse <nab dir>        read and parse every NAB series
//   watch-run nab-detect <nab dir>       the detector over every series (parsing untimed)
import { inspectContainer, listContainers } from '../src/adapters/docker.js';
import { createContext } from '../src/core/context.js';
import { serviceLabels } from '../src/core/deploy/docker.js';
import { systemClock } from '../src/core/output.js';
import { runCycle } from '../src/core/watch/index.js';
import { detect, readNab } from '../src/core/watch/nab-eval.js';

const [mode, dir] = process.argv.slice(2) as [string, string];
const quiet = { info() {}, warn() {}, debug() {}, passthrough() {}, step: <T>(_: string, work: (u: (d: string) => void) => Promise<T>) => work(() => {}) };

async function context() {
  return createContext({ cwd: dir, env: process.env, argv: ['bench'], output: quiet, clock: systemClock, interactive: false, cancel: new AbortController().signal });
}

let ms: number;
if (mode === 'cycle') {
  const ctx = await context();
  ctx.ledger();
  const started = performance.now();
  await runCycle(ctx);
  ms = performance.now() - started;
} else if (mode === 'calls') {
  const ctx = await context();
  const config = ctx.requireConfig();
  const started = performance.now();
  for (const source of config.watch.sources) {
    for (const c of await listContainers({}, process.env, serviceLabels(config.project, source.service, source.env))) await inspectContainer({}, process.env, c.id);
  }
  ms = performance.now() - started;
} else if (mode === 'nab-parse') {
  const started = performance.now();
  await readNab(dir);
  ms = performance.now() - started;
} else if (mode === 'nab-detect') {
  const series = await readNab(dir);
  const started = performance.now();
  for (const s of series) detect(s);
  ms = performance.now() - started;
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify({ ms })}\n`);
