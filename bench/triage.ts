import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairedReports, PROJECT_ROOT, ratioOf, type Result } from './lib.js';

const RUN = [process.execPath, join(PROJECT_ROOT, 'dist', 'bench', 'triage-run.js')];

function run(file: string, args: string[], cwd?: string): string {
  const result = spawnSync(file, args, { encoding: 'utf8', cwd });
  if (result.status !== 0 && !(file === process.execPath && args.includes('--once'))) {
    throw new Error(`${file} ${args.slice(0, 2).join(' ')} failed: ${result.stderr.trim()} (start the engine: bash scripts/setup.sh engine base-image)`);
  }
  return result.stdout.trim();
}

/** Services web depends on: each one's live release is a suspect of web's incident. */
const DEPENDENCIES = Array.from({ length: 9 }, (_, i) => `dep${i + 1}`);

/**
 * `ops triage` of an incident with 10 suspect releases (the live ones of web and its nine
 * dependencies, each diffed against its predecessor) and a
 * crashed container with 5,000 log lines, against the docker and git calls it makes, run with the
 * same concurrency: what triage adds (ledger reads, parsing, the rules).
 */
export function triageBenchmarks(): Result[] {
  const dir = mkdtempSync(join(tmpdir(), 'ops-bench-triage-'));
  const project = `bench-triage-${process.pid}`;
  let container = '';
  try {
    writeFileSync(
      join(dir, 'ops.config.yaml'),
      [
        `project: ${project}`,
        'services:',
        `  web: { context: ., image: ops-bench/web, dependsOn: [${DEPENDENCIES.join(', ')}] }`,
        ...DEPENDENCIES.map((name) => `  ${name}: { context: ., image: ops-bench/${name} }`),
        'environments:', '  local: { target: docker }', 'watch:', '  sources:', '    - { type: docker, service: web, env: local }'].join('\n'),
    );
    const git = (...args: string[]) => run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@ops.invalid', ...args], dir);
    git('init', '-q', '-b', 'main');
    for (let i = 0; i <= 10; i++) {
      writeFileSync(join(dir, `module${i % 4}.js`), Array.from({ length: 50 + i * 7 }, (_, k) => `export const v${i}_${k} = ${k};`).join('\n'));
      git('add', '-A');
      git('commit', '-q', '-m', `change ${i}`);
    }
    run(process.execPath, [...RUN.slice(1), 'setup', dir]);
    container = run('docker', [
      'run', '-d', '--label', `ops.project=${project}`, '--label', 'ops.service=web', '--label', 'ops.env=local', '--label', 'ops.revision=2', 'ops/busybox:latest', 'sh', '-c',
      'i=0; while [ $i -lt 4999 ]; do echo "GET /items/$i 200 3ms"; i=$((i+1)); done; echo "fatal: environment variable DATABASE_URL is not set" >&2; exit 1',
    ]);
    spawnSync('docker', ['wait', container]);
    run(process.execPath, [join(PROJECT_ROOT, 'bin', 'ops.js'), 'watch', '--once'], dir);
    const pairs = pairedReports<{ ms: number; suspects?: number; diffs?: number; logLines?: number }>({ label: 'ops triage', argv: [...RUN, 'triage', dir] }, { label: 'its docker and git calls', argv: [...RUN, 'calls', dir] }, 15);
    const { suspects, diffs, logLines } = pairs[0]!.subject;
    if (suspects !== 10 || diffs !== 10 || logLines !== 5000) throw new Error(`the triage bench did not set up its incident: ${suspects} suspects, ${diffs} diffs, ${logLines} log lines`);
    return [ratioOf('ops triage: 10 suspect releases, 5,000 log lines', ['ops triage (in process)', 'its docker + git calls, same concurrency'], pairs, (r) => r.ms, 2)];
  } finally {
    if (container) spawnSync('docker', ['rm', '-f', container]);
    rmSync(dir, { recursive: true, force: true });
  }
}
