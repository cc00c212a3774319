import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../src/ledger/index.js';
import { OPS, type Result } from './lib.js';

const WRITERS = 16;
const RUNS_EACH = 300;

/** `writers` shell loops at once, each running `command` `each` times; the wall time in ms. */
function concurrently(command: string[], writers: number, each: number, cwd: string): number {
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `for w in $(seq ${writers}); do (for i in $(seq ${each}); do ${quoted} >/dev/null 2>&1 || echo "writer $w run $i failed" >>failures.log; done) & done; wait`;
  const started = process.hrtime.bigint();
  const result = spawnSync('bash', ['-c', script], { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`the writers' shell exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * The probe of issue 22 as a figure: 16 `ops exec` processes at once, 300 runs each, into one
 * ledger: every run must arrive and the ledger stay whole; runs/s is the figure. Beside it, the
 * same 16 loops running `ops --version` (start-up alone) 50 times each, for what the machine allows.
 */
export function writerBenchmarks(): Result[] {
  const dir = mkdtempSync(join(tmpdir(), 'ops-bench-writers-'));
  try {
    const ledgerPath = join(dir, 'ledger.db');
    const env = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('OPS_') || key === 'CI') delete env[key];
    const ms = concurrently([...OPS, '--ledger', ledgerPath, 'exec', '--kind', 'bench', '--', 'true'], WRITERS, RUNS_EACH, dir);
    const startupMs = concurrently([...OPS, '--version'], WRITERS, 50, dir);
    // The better-sqlite3 handle: the benchmark groups report synchronously.
    const ledger = Ledger.open(ledgerPath);
    const db = ledger.sqlite!;
    const stored = (db.prepare(`SELECT count(*) AS n FROM runs WHERE kind = 'bench' AND status = 'succeeded'`).get() as { n: number }).n;
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check);
    void ledger.close();
    const failuresLog = join(dir, 'failures.log');
    const failures = existsSync(failuresLog) ? readFileSync(failuresLog, 'utf8').split('\n').filter(Boolean).length : 0;
    const total = WRITERS * RUNS_EACH;
    const rate = (total / ms) * 1000;
    const startupRate = ((WRITERS * 50) / startupMs) * 1000;
    return [
      {
        name: `${WRITERS} x ${RUNS_EACH} concurrent CLI writers (ops exec) into one ledger`,
        text: `${stored} of ${total} runs stored (${failures} commands failed), integrity ${integrity.join(', ')}; ${rate.toFixed(1)} runs/s in ${(ms / 1000).toFixed(1)} s (ops --version at the same concurrency: ${startupRate.toFixed(1)}/s; a recorded run takes ${(startupRate / rate).toFixed(2)}x a bare start)`,
        pass: stored === total && failures === 0 && integrity.length === 1 && integrity[0] === 'ok',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
