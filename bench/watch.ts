import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairedReports, PROJECT_ROOT, ratioOf, type Result } from './lib.js';

const SHARED = process.env.OPS_SHARED_DATA ?? join(PROJECT_ROOT, '..', 'shared', 'data');
const SERVICES = 50;
const RUN = [process.execPath, join(PROJECT_ROOT, 'dist', 'bench', 'watch-run.js')];

function docker(args: string[]): string {
  const result = spawnSync('docker', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker ${args[0]} failed: ${result.stderr.trim()} (start the engine: bash scripts/setup.sh engine base-image)`);
  return result.stdout.trim();
}

/**
 * One `--once` cycle over 50 services with docker sources (one running container each, up for a
 * minute) against polling each service in turn (its list call and inspects), one after another;
 * beside it, against the calls the cycle itself makes (one list for the project), one after another.
 */
function cycleBenchmarks(): Result[] {
  const project = `bench-watch-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'ops-bench-watch-'));
  const services = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);
  writeFileSync(
    join(dir, 'ops.config.yaml'),
    [`project: ${project}`, `ledger: ${join(dir, 'ledger.db')}`, 'environments:', '  local: { target: docker }', 'watch:', '  sources:', ...services.map((s) => `    - { type: docker, service: ${s}, env: local }`)].join('\n'),
  );
  const ids: string[] = [];
  try {
    for (const service of services) {
      ids.push(docker(['run', '-d', '--label', `ops.project=${project}`, '--label', `ops.service=${service}`, '--label', 'ops.env=local', 'ops/busybox:latest', 'sleep', '3600']));
    }
    // Containers up for minutes are settled (listed, not inspected), as a running fleet mostly is.
    spawnSync('sleep', ['61']);
    const cycle = { label: 'one --once cycle', argv: [...RUN, 'cycle', dir] };
    const perService = pairedReports<{ ms: number }>(cycle, { label: 'each service polled in turn', argv: [...RUN, 'calls', dir] }, 15);
    const batched = pairedReports<{ ms: number }>(cycle, { label: "the cycle's own calls in turn", argv: [...RUN, 'batched', dir] }, 15);
    return [
      ratioOf(`watch cycle over ${SERVICES} docker services`, ['one --once cycle', 'each service polled in turn (list + inspects)'], perService, (r) => r.ms, 0.6),
      ratioOf(`the same cycle against its own docker calls one after another`, ['one --once cycle', 'one project list + inspects in turn'], batched, (r) => r.ms, Infinity),
    ];
  } finally {
    if (ids.length) docker(['rm', '-f', ...ids]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The detector over every NAB series against parsing them; and its NAB score (goal: standard >= 60). */
function nabBenchmarks(): Result[] {
  const nab = join(SHARED, 'nab');
  const pairs = pairedReports<{ ms: number }>({ label: 'detector', argv: [...RUN, 'nab-detect', nab] }, { label: 'parse', argv: [...RUN, 'nab-parse', nab] }, 9);
  const evaluation = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'ops.js'), 'watch', 'eval', '--nab', nab, '--json'], { encoding: 'utf8' });
  if (evaluation.status !== 0) throw new Error(`ops watch eval failed: ${evaluation.stderr}`);
  const profiles = (JSON.parse(evaluation.stdout) as { profiles: Array<{ profile: string; score: number }> }).profiles;
  const standard = profiles.find((p) => p.profile === 'standard')!.score;
  return [
    ratioOf('NAB: the detector over 58 series (~365,000 points) vs parsing them', ['detector', 'node parse'], pairs, (r) => r.ms, 1.5),
    { name: 'NAB score (ops watch eval)', text: `${profiles.map((p) => `${p.profile} ${p.score.toFixed(1)}`).join(', ')} (goal: standard >= 60)`, pass: standard >= 60 },
  ];
}

export function watchBenchmarks(): Result[] {
  return [...cycleBenchmarks(), ...nabBenchmarks()];
}
