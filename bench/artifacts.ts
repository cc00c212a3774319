import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT, type Result } from './lib.js';

interface Side {
  putMs: number;
  readMs: number;
}

/**
 * Where a SQLite ledger keeps its artifacts: its private folder (chosen) against the blob tables a
 * PostgreSQL ledger uses, store and read back, in one run. Reported, no goal: it shows the choice.
 */
export function artifactBenchmarks(): Result[] {
  const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'artifacts-run.js')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`artifacts-run failed: ${result.stderr.trim()}`);
  const shapes = JSON.parse(result.stdout) as Array<{ label: string; folder: Side; table: Side }>;
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  return shapes.map((s) => ({
    name: `SQLite ledger artifacts, ${s.label}: folder vs blob tables (store, then read back checked)`,
    text: `store ${ms(s.folder.putMs)} vs ${ms(s.table.putMs)} (${(s.table.putMs / s.folder.putMs).toFixed(2)}x), read ${ms(s.folder.readMs)} vs ${ms(s.table.readMs)} (${(s.table.readMs / s.folder.readMs).toFixed(2)}x)`,
    pass: true,
  }));
}
