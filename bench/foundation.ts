import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedLedger, CACHE, compare, OPS, PROJECT_ROOT, type Comparison } from './lib.js';

const RUNS = 1_000_000;

/** A ledger with a million finished runs, built once and cached. */
export function millionRunLedger(): string {
  return cachedLedger('runs-1m.db', (db) => {
    const insert = db.prepare(
      `INSERT INTO runs (kind, status, started_at, finished_at, heartbeat_at, git_sha, git_branch, git_dirty, actor, host, pid, ci, argv, exit_code)
       VALUES (?, ?, ?, ?, ?, ?, 'main', 0, 'bench', 'bench-host', ?, 1, '["build"]', ?)`,
    );
    const kinds = ['build', 'deploy', 'train', 'exec', 'watch'];
    const start = Date.now() - RUNS * 60_000;
    db.transaction(() => {
      for (let i = 0; i < RUNS; i++) {
        const failed = i % 17 === 0;
        const at = start + i * 60_000;
        insert.run(kinds[i % kinds.length], failed ? 'failed' : 'succeeded', at, at + 1234, at + 1234, (i * 2654435761).toString(16).padStart(40, '0').slice(0, 40), 1000 + (i % 50000), failed ? 1 : 0);
      }
    })();
  });
}

export function foundationBenchmarks(): Comparison[] {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CI;
  const version = { label: 'ops --version', argv: [...OPS, '--version'], env };
  const bareNode = { label: 'node -e 0', argv: [process.execPath, '-e', '0'], env };
  const ledger = millionRunLedger();
  // A project whose config (every key of the example) points at that ledger, as a user would run it.
  const project = join(CACHE, 'project');
  mkdirSync(project, { recursive: true });
  const example = readFileSync(join(PROJECT_ROOT, 'ops.config.example.yaml'), 'utf8');
  writeFileSync(join(project, 'ops.config.yaml'), example.replace(/^ledger: .*$/m, `ledger: ${ledger}`));
  const bare = join(CACHE, 'bare');
  mkdirSync(bare, { recursive: true });
  return [
    compare('startup', version, bareNode, 1.3),
    compare(
      'runs list on 1,000,000 runs, in a project with a config',
      { label: 'ops runs list --limit 50', argv: [...OPS, 'runs', 'list', '--limit', '50'], env, cwd: project },
      { ...version, cwd: project },
      1.5,
    ),
    compare(
      'runs list on 1,000,000 runs, no config (--ledger)',
      { label: 'ops --ledger FILE runs list --limit 50', argv: [...OPS, '--ledger', ledger, 'runs', 'list', '--limit', '50'], env, cwd: bare },
      { ...version, cwd: bare },
      1.5,
    ),
  ];
}
