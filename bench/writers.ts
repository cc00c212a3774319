import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../src/ledger/index.js';
import { OPS, type Result } from './lib.js';
import { benchPostgres } from './postgres.js';

const WRITERS = 16;
const RUNS_EACH = 300;

/** `writers` shell loops at once, each running `command` `each` times; the wall time in ms. */
function concurrently(command: string[], writers: number, each: number, cwd: string, env: NodeJS.ProcessEnv): number {
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `for w in $(seq ${writers}); do (for i in $(seq ${each}); do ${quoted} >/dev/null 2>&1 || echo "writer $w run $i failed" >>failures.log; done) & done; wait`;
  const started = process.hrtime.bigint();
  const result = spawnSync('bash', ['-c', script], { cwd, env, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`the writers' shell exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** What arrived: runs stored, and the backend's own check (SQLite's integrity check; PostgreSQL's keys are unique by constraint). */
function stored(target: string): { runs: number; check: string } {
  if (target.startsWith('postgres://')) {
    const db = new URL(target).pathname.slice(1);
    const pg = benchPostgres();
    const runs = Number(pg.psql(db, `SELECT count(*) FROM runs WHERE kind = 'bench' AND status = 'succeeded'`));
    const left = Number(pg.psql(db, `SELECT count(*) FROM runs WHERE status <> 'succeeded'`));
    return { runs, check: left === 0 ? 'ok' : `${left} runs not succeeded` };
  }
  // The better-sqlite3 handle: the benchmark groups report synchronously.
  const ledger = Ledger.open(target);
  const db = ledger.sqlite!;
  const runs = (db.prepare(`SELECT count(*) AS n FROM runs WHERE kind = 'bench' AND status = 'succeeded'`).get() as { n: number }).n;
  const check = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check).join(', ');
  void ledger.close();
  return { runs, check };
}

/**
 * The probe of issue 22 as a figure, on both backends in one run (issue 19): 16 `ops exec`
 * processes at once, 300 runs each, into one SQLite ledger, then into one PostgreSQL ledger:
 * every run must arrive and the ledger stay whole; runs/s is the figure. Beside it, the same 16
 * loops running `ops --version` (start-up alone) 50 times each, for what the machine allows.
 */
export function writerBenchmarks(): Result[] {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('OPS_') || key === 'CI') delete env[key];
  const results: Result[] = [];
  const rates: number[] = [];
  for (const backend of ['SQLite', 'PostgreSQL'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'ops-bench-writers-'));
    try {
      const target = backend === 'SQLite' ? join(dir, 'ledger.db') : benchPostgres().createDatabase('bench_writers');
      // The schema first, so the writers measure recording, not 16 processes waiting on one migration.
      const first = spawnSync(OPS[0]!, [...OPS.slice(1), '--ledger', target, 'runs', 'list'], { cwd: dir, env, encoding: 'utf8' });
      if (first.status !== 0) throw new Error(`ops runs list on the new ${backend} ledger exited ${first.status}: ${first.stderr.trim()}`);
      const ms = concurrently([...OPS, '--ledger', target, 'exec', '--kind', 'bench', '--', 'true'], WRITERS, RUNS_EACH, dir, env);
      const startupMs = concurrently([...OPS, '--version'], WRITERS, 50, dir, env);
      const { runs, check } = stored(target);
      const failuresLog = join(dir, 'failures.log');
      const failures = existsSync(failuresLog) ? readFileSync(failuresLog, 'utf8').split('\n').filter(Boolean).length : 0;
      const total = WRITERS * RUNS_EACH;
      const rate = (total / ms) * 1000;
      rates.push(rate);
      const startupRate = ((WRITERS * 50) / startupMs) * 1000;
      results.push({
        name: `${WRITERS} x ${RUNS_EACH} concurrent CLI writers (ops exec) into one ${backend} ledger`,
        text: `${runs} of ${total} runs stored (${total - runs} lost, ${failures} commands failed), ${backend === 'SQLite' ? 'integrity' : 'check'} ${check}; ${rate.toFixed(1)} runs/s in ${(ms / 1000).toFixed(1)} s (ops --version at the same concurrency: ${startupRate.toFixed(1)}/s; a recorded run takes ${(startupRate / rate).toFixed(2)}x a bare start)`,
        pass: runs === total && failures === 0 && check === 'ok',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  results.push({ name: 'PostgreSQL / SQLite writers, runs/s (no goal)', text: `${(rates[1]! / rates[0]!).toFixed(2)}x`, pass: true });
  return results;
}
