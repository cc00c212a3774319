import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, type Result } from './lib.js';

const RUN = [process.execPath, join(PROJECT_ROOT, 'dist', 'bench', 'intake-run.js')];

/** A project folder with its own ledger and these watch.listen settings; removed after `use`. */
function withProject<T>(listen: string[], use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ops-bench-intake-'));
  writeFileSync(join(dir, 'ops.config.yaml'), ['project: bench', `ledger: ${join(dir, 'ledger.db')}`, 'watch:', '  sources: []', '  listen:', ...listen.map((l) => `    ${l}`), ''].join('\n'));
  try {
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run<T>(args: string[]): T {
  const result = spawnSync(RUN[0]!, [...RUN.slice(1), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`intake-run ${args[0]} failed: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as T;
}

interface Soak {
  alerts: number;
  concurrency: number;
  failed: number;
  ms: number;
  alertsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  peakMb: number;
  quartersMb: number[];
}

interface Flood {
  alerts: number;
  bytes: number;
  status: number;
  opened: number;
  ms: number;
  probes: number;
  probeMaxMs: number;
  probeIdleMaxMs: number;
}

/**
 * The intake soak: 10,000 valid one-alert webhooks (500 services, four alert names, a tenth
 * resolved) at concurrency 50 over kept-alive connections, the receiver's RSS sampled every 100 ms.
 * Flat: the peak of the last quarter of the alerts is within 10% of the second quarter's.
 * Beside it, one 4,000-alert body that opens 4,000 incidents, probed by small requests meanwhile:
 * the longest probe is how long the loop was held at once.
 */
export function intakeBenchmarks(): Result[] {
  const soak = withProject(['incidentsPerMinute: 1000'], (dir) => run<Soak>(['soak', dir, '10000', '50']));
  const [, second, , last] = soak.quartersMb;
  const flat = last! <= second! * 1.1;
  const flood = withProject(['maxAlerts: 4000', 'incidentsPerMinute: 4000'], (dir) => run<Flood>(['flood', dir, '4000']));
  const held = flood.probeMaxMs / flood.ms;
  return [
    {
      name: 'intake soak: 10,000 alerts at concurrency 50, all answered 200, RSS flat',
      text: `${soak.alerts - soak.failed} of ${soak.alerts} answered 200 in ${(soak.ms / 1000).toFixed(1)} s (${soak.alertsPerSecond.toFixed(0)} alerts/s, p50 ${soak.p50Ms.toFixed(1)} ms, p99 ${soak.p99Ms.toFixed(1)} ms); RSS peak ${soak.peakMb.toFixed(1)} MB, per quarter ${soak.quartersMb.map((m) => m.toFixed(1)).join(' / ')} MB (${flat ? 'flat' : 'GROWING'}: last quarter within 10% of the second)`,
      pass: soak.failed === 0 && flat,
    },
    {
      name: 'intake: one 4,000-alert body (4,000 new incidents) never holds the loop for long (longest probe / the body\'s time <= 0.1)',
      text: `${flood.bytes} bytes answered ${flood.status} in ${flood.ms.toFixed(0)} ms with ${flood.opened} incidents; ${flood.probes} probes answered meanwhile, the longest ${flood.probeMaxMs.toFixed(1)} ms (idle: ${flood.probeIdleMaxMs.toFixed(1)} ms), ratio ${held.toFixed(3)}`,
      pass: flood.status === 200 && flood.opened === 4000 && held <= 0.1,
    },
  ];
}
