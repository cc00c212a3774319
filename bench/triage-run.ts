// One side of the triage benchmark, timed in its own process; prints {"ms": ...}.
//   triage-run setup <project dir>    seed the ledger: two releases each of web and its 9 dependencies (the live ones in the correlation window)
//   triage-run triage <project dir>   `ops triage` of the newest incident (evidence, diagnosis), 5,000 log lines
//   triage-run calls <project dir>    the docker and git calls that triage makes, run with the same concurrency, results unparsed
import { containerLogs, inspectContainer, inspectImage, listContainers } from '../src/adapters/docker.js';
import { gitOutput } from '../src/adapters/git.js';
import { createContext } from '../src/core/context.js';
import { serviceLabels } from '../src/core/deploy/docker.js';
import { systemClock } from '../src/core/output.js';
import { triage } from '../src/core/triage/index.js';

const [mode, dir] = process.argv.slice(2) as [string, string];
const quiet = { info() {}, warn() {}, debug() {}, passthrough() {}, step: <T>(_: string, work: (u: (d: string) => void) => Promise<T>) => work(() => {}) };
const LOG_LINES = 5000;

const ctx = await createContext({ cwd: dir, env: process.env, argv: ['bench'], output: quiet, clock: systemClock, interactive: false, cancel: new AbortController().signal });
const shas = (await gitOutput(dir, ['rev-list', '--reverse', 'HEAD'])).split('\n').filter(Boolean);

let ms = 0;
let shape: Record<string, number> = {};
if (mode === 'setup') {
  const releases = ctx.ledger().releases;
  const now = Date.now();
  const services = ['web', ...ctx.requireConfig().services.web!.dependsOn];
  // Each service: r1 two hours ago (outside the window, replaced), r2 in the last 50 minutes and
  // live: ten suspects, each with a predecessor to diff against (consecutive commits).
  for (const [i, service] of services.entries()) {
    for (const [at, sha] of [[now - 2 * 3600_000 - i * 60_000, shas[i]!], [now - (50 - 5 * i) * 60_000, shas[i + 1]!]] as const) {
      const release = await releases.create(
        { runId: null, service, env: 'local', target: 'docker', image: 'ops/busybox:latest', digest: null, configHash: `sha256:${i % 3}`, gitSha: sha, actor: 'bench', description: 'upgrade', rollbackTo: null, risk: { status: 'scored', probability: 0.1 * (i % 10), level: 'low' }, riskScoreId: null },
        at,
      );
      await releases.finish(release.id, { status: 'deployed' }, at + 1000);
    }
  }
} else if (mode === 'triage') {
  ctx.ledger();
  const started = performance.now();
  const report = await triage(ctx, undefined, { logLines: LOG_LINES });
  ms = performance.now() - started;
  shape = { suspects: report.evidence.releases.length, diffs: report.evidence.releases.filter((r) => r.diff).length, logLines: report.evidence.containers[0]?.logs.length ?? 0 };
} else if (mode === 'calls') {
  const config = ctx.requireConfig();
  const started = performance.now();
  await Promise.all([
    listContainers({}, process.env, serviceLabels(config.project, 'web', 'local')).then((listed) =>
      Promise.all(listed.map((c) => Promise.all([inspectContainer({}, process.env, c.id), containerLogs({}, process.env, c.id, LOG_LINES)]))),
    ),
    Promise.all(shas.slice(1).map((sha, i) => gitOutput(dir, ['diff', '--numstat', '-M', shas[i]!, sha]))),
  ]);
  await inspectImage({}, process.env, 'ops/busybox:latest');
  ms = performance.now() - started;
} else {
  throw new Error(`unknown mode ${mode}`);
}
await ctx.closeLedger();
process.stdout.write(`${JSON.stringify({ ms, ...shape })}\n`);
