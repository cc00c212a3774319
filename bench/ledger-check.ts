import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { millionRunLedger } from './foundation.js';
import { CACHE, compare, OPS, type Comparison } from './lib.js';

/** Record the ledger's last quick_check at `at`: long ago makes the next command run one, now skips it. */
function lastCheckAt(ledger: string, at: number): void {
  const db = new Database(ledger);
  db.prepare(
    `INSERT INTO ledger_checks (name, checked_at, result) VALUES ('quick_check', ?, 'ok')
     ON CONFLICT (name) DO UPDATE SET checked_at = excluded.checked_at`,
  ).run(at);
  db.close();
}

/**
 * What the hourly `PRAGMA quick_check` adds to the command that finds it due: it runs in its own
 * process, so little (run in the command itself it made that command 6x slower here, 2.6 s).
 */
export function ledgerCheckBenchmarks(): Comparison[] {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CI;
  const ledger = millionRunLedger();
  const cwd = join(CACHE, 'bare');
  mkdirSync(cwd, { recursive: true });
  const argv = [...OPS, '--ledger', ledger, 'runs', 'list', '--limit', '50'];
  const mb = Math.round(statSync(ledger).size / 1048576);
  return [
    compare(
      `the hourly quick_check started on a ${mb} MB ledger (1,000,000 runs)`,
      // The argv is made before the clock starts: setting the last check is not timed.
      { label: 'ops runs list --limit 50, check due', argv: () => (lastCheckAt(ledger, 0), argv), env, cwd },
      { label: 'ops runs list --limit 50, checked this hour', argv: () => (lastCheckAt(ledger, Date.now()), argv), env, cwd },
      1.2,
      10,
      1,
    ),
  ];
}
