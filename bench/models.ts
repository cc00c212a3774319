import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cachedLedger, CACHE, compare, OPS, type Comparison } from './lib.js';

const MODELS = 10;
const VERSIONS_PER_MODEL = 1_000;
const ALIAS_EVENTS = 100_000;
const ALIASES = ['production', 'staging', 'champion', 'canary'];

/** 10,000 versions of 10 models, 100,000 alias moves and a risk score per version, built once and cached. */
function registryLedger(): string {
  return cachedLedger('models-10k.db', (db) => {
    const start = Date.now() - ALIAS_EVENTS * 60_000;
    db.transaction(() => {
      const run = db.prepare(
        `INSERT INTO runs (kind, status, started_at, finished_at, heartbeat_at, git_sha, git_branch, git_dirty, actor, host, pid, ci, argv, params, metrics, details)
         VALUES ('train', 'succeeded', ?, ?, ?, ?, 'main', 0, 'bench', 'bench-host', 1, 1, '["model","train"]', '{"nTrees":100}', ?, '{"trainer":"builtin"}')`,
      );
      const dataset = db.prepare(`INSERT OR IGNORE INTO datasets (digest, path, kind, size_bytes, created_at) VALUES (?, ?, 'file', 1000, ?)`);
      const edge = db.prepare(`INSERT INTO lineage_edges (src_type, src_id, dst_type, dst_id, relation, created_at) VALUES ('dataset', ?, 'run', ?, 'input', ?)`);
      const model = db.prepare(`INSERT INTO models (name, created_at) VALUES (?, ?)`);
      const version = db.prepare(
        `INSERT INTO model_versions (model, version, run_id, artifact_digest, params, metrics, actor, source, created_at) VALUES (?, ?, ?, NULL, '{"nTrees":100}', ?, 'bench', ?, ?)`,
      );
      const score = db.prepare(`INSERT INTO risk_scores (service, env, probability, level, reasons, model_version_id, created_at) VALUES ('web', 'prod', 0.3, 'low', '[]', ?, ?)`);
      for (let m = 0; m < MODELS; m++) {
        model.run(`model-${m}`, start);
        for (let v = 1; v <= VERSIONS_PER_MODEL; v++) {
          const at = start + (m * VERSIONS_PER_MODEL + v) * 600;
          const metrics = JSON.stringify({ auc: 0.7 + (v % 100) / 1000, f1: 0.5 });
          const runId = Number(run.run(at, at + 5000, at + 5000, (m * 7919 + v).toString(16).padStart(40, '0'), metrics).lastInsertRowid);
          const digest = `sha256:${(v % 50).toString(16).padStart(64, '0')}`;
          dataset.run(digest, `/data/set-${v % 50}.csv`, at);
          edge.run(digest, String(runId), at);
          const versionId = Number(version.run(`model-${m}`, v, runId, metrics, `run:${runId}`, at).lastInsertRowid);
          score.run(versionId, at);
        }
      }
      const event = db.prepare(`INSERT INTO alias_events (model, alias, from_version, to_version, actor, reason, forced, at) VALUES (?, ?, ?, ?, 'bench', 'release train', 0, ?)`);
      const holders = new Map<string, number>();
      for (let e = 0; e < ALIAS_EVENTS; e++) {
        const name = `model-${e % MODELS}`;
        const alias = ALIASES[Math.floor(e / MODELS) % ALIASES.length]!;
        const key = `${name}@${alias}`;
        const to = 1 + ((e * 7) % VERSIONS_PER_MODEL);
        event.run(name, alias, holders.get(key) ?? null, to, start + e * 60_000);
        holders.set(key, to);
      }
      const alias = db.prepare(`INSERT INTO model_aliases (model, alias, version, updated_at) VALUES (?, ?, ?, ?)`);
      for (const [key, version] of holders) alias.run(key.split('@')[0], key.split('@')[1], version, Date.now());
    })();
  });
}

export function modelBenchmarks(): Comparison[] {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CI;
  const ledger = registryLedger();
  const bare = join(CACHE, 'bare');
  mkdirSync(bare, { recursive: true });
  const version = { label: 'ops --version', argv: [...OPS, '--version'], env, cwd: bare };
  return [
    compare(
      'model history, 10,000 versions and 100,000 alias moves',
      { label: 'ops model history model-3 --alias production', argv: [...OPS, '--ledger', ledger, 'model', 'history', 'model-3', '--alias', 'production'], env, cwd: bare },
      version,
      1.5,
    ),
    compare(
      'model lineage, 10,000 versions and 100,000 alias moves',
      { label: 'ops model lineage model-3@500', argv: [...OPS, '--ledger', ledger, 'model', 'lineage', 'model-3@500'], env, cwd: bare },
      version,
      1.5,
    ),
  ];
}
