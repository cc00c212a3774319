// One side of the watch benchmarks, timed in its own process; prints {"ms": ...}.
//   watch-run cycle <project dir>        one `ops watch --once` cycle (runCycle) over its docker sources
//   watch-run calls <project dir>        polling each service in turn: its list call, then an inspect of each container not settled
//   watch-run batched <project dir>      the calls the cycle makes (one list for the project, inspects), one after another
//   watch-run nab-parse <nab dir>        read and parse every NAB series
//   watch-run nab-detect <nab dir>       the detector over every series (parsing untimed)
import { inspectContainer, listContainers } from '../src/adapters/docker.js';
import { createContext } from '../src/core/context.js';
import { serviceLabels } from '../src/core/deploy/docker.js';
import { systemClock } from '../src/core/output.js';
import { runCycle } from '../src/core/watch/index.js';
import { settled } from '../src/core/watch/sources/docker.js';
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
    const listed = await listContainers({}, process.env, serviceLabels(config.project, source.service, source.env));
    for (const c of listed.filter((c) => !settled(c))) await inspectContainer({}, process.env, c.id);
  }
  ms = performance.now() - started;
} else if (mode === 'batched') {
  const ctx = await context();
  const config = ctx.requireConfig();
  const started = performance.now();
  const listed = await listContainers({}, process.env, { 'ops.project': config.project });
  for (const c of listed.filter((c) => !settled(c))) await inspectContainer({}, process.env, c.id);
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
