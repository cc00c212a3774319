import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedLedger, compare, OPS, PROJECT_ROOT, type Result } from './lib.js';

const RELEASES = 100_000;
const RUNS = 1_000_000;
const INCIDENTS = 10_000;
const SERVICES = 10;
const ENVS = ['prod', 'staging'];
const FROM = Date.parse('2025-01-01T00:00:00Z');
const YEAR = 365 * 86_400_000;
/** The window measured: the second half of the year, so the previous window (the trend) is full too. */
const SINCE = '2025-07-02';
const UNTIL = '2026-01-01';

/** A deterministic generator (mulberry32): the cached ledger is the same on every machine. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A year of delivery: 100,000 releases over 10 services in prod and staging (8% failed, 4% rolled
 * back by a rollback release), 1 to 3 commits carried by each, half of them risk-scored; 1,000,000
 * runs; 10,000 incidents, most resolved, half naming a release as their cause.
 */
function fill(db: import('better-sqlite3').Database): void {
  const rand = random(7);
  const hex = () => Math.floor(rand() * 2 ** 52).toString(16).padStart(13, '0');
  db.transaction(() => {
    const run = db.prepare(`INSERT INTO runs (kind, status, started_at, finished_at, heartbeat_at, service, env, actor, host, pid, argv) VALUES (?, 'succeeded', ?, ?, ?, ?, ?, 'ci', 'runner', 1, '["ops"]')`);
    const kinds = ['deploy', 'build', 'exec', 'watch', 'triage', 'train'];
    for (let i = 0; i < RUNS; i++) {
      const at = FROM + Math.floor((i / RUNS) * YEAR);
      run.run(kinds[i % kinds.length], at, at + 30_000, at + 30_000, `svc-${i % SERVICES}`, ENVS[i % 2]);
    }
    const score = db.prepare(`INSERT INTO risk_scores (service, env, probability, level, reasons, created_at) VALUES (?, ?, ?, ?, '[]', ?)`);
    const release = db.prepare(`INSERT INTO releases (run_id, service, env, revision, image, git_sha, actor, status, description, rollback_to, risk_score_id, error, created_at, finished_at, duration_ms)
                                VALUES (?, ?, ?, ?, ?, ?, 'ci', ?, ?, ?, ?, ?, ?, ?, 5000)`);
    const change = db.prepare(`INSERT INTO release_changes (release_id, sha, authored_at) VALUES (?, ?, ?)`);
    const streams = SERVICES * ENVS.length;
    const perStream = RELEASES / streams;
    const prodReleases: Array<{ id: number; service: string; finishedAt: number }> = [];
    for (let s = 0; s < streams; s++) {
      const service = `svc-${s % SERVICES}`;
      const env = ENVS[Math.floor(s / SERVICES)]!;
      let revision = 0;
      let lastLive = 0;
      let previousLive = 0;
      while (revision < perStream) {
        const finishedAt = FROM + Math.floor(((revision + rand()) / perStream) * YEAR);
        const roll = rand();
        const failed = roll < 0.08;
        const rolledBack = !failed && roll < 0.12;
        const risky = rand() < 0.5;
        const probability = Math.min(0.99, rand() * 0.6 + (failed || rolledBack ? 0.3 : 0));
        const scoreId = risky ? Number(score.run(service, env, probability, probability >= 0.8 ? 'high' : probability >= 0.5 ? 'medium' : 'low', finishedAt).lastInsertRowid) : null;
        revision++;
        const status = failed ? 'failed' : rolledBack ? 'rolled_back' : revision === perStream ? 'deployed' : 'superseded';
        const sha = hex();
        const id = Number(
          release.run(1 + ((s * perStream + revision) % RUNS), service, env, revision, `registry/${service}:${sha.slice(0, 7)}`, sha, status, 'upgrade', null, scoreId, failed ? 'health check failed' : null, finishedAt - 5000, finishedAt).lastInsertRowid,
        );
        for (let c = 0, n = 1 + Math.floor(rand() * 3); c < n; c++) change.run(id, `${sha}${c}`, finishedAt - Math.floor(rand() * 7 * 86_400_000));
        if (!failed) [previousLive, lastLive] = [lastLive, revision];
        if (env === 'prod') prodReleases.push({ id, service, finishedAt });
        if (rolledBack && previousLive > 0 && revision < perStream) {
          revision++;
          release.run(null, service, env, revision, `registry/${service}:rollback`, null, revision === perStream ? 'deployed' : 'superseded', `rollback to ${previousLive}`, previousLive, null, null, finishedAt + 600_000, finishedAt + 605_000);
        }
      }
    }
    const incident = db.prepare(`INSERT INTO incidents (fingerprint, service, env, condition, state, title, severity, opened_at, began_at, last_seen_at, resolved_at, cause_release)
                                 VALUES (?, ?, 'prod', 'restarting', ?, ?, 'critical', ?, ?, ?, ?, ?)`);
    for (let i = 0; i < INCIDENTS; i++) {
      const cause = prodReleases[Math.floor(rand() * prodReleases.length)]!;
      const began = cause.finishedAt + Math.floor(rand() * 7_200_000);
      const resolved = rand() < 0.92 ? began + 600_000 + Math.floor(rand() * 36_000_000) : null;
      incident.run(`fp-${i}`, cause.service, resolved ? 'resolved' : 'open', `${cause.service} restarting`, began, began, resolved ?? began, resolved, rand() < 0.5 ? cause.id : null);
    }
  })();
  db.exec('ANALYZE');
}

/** The four keys per service in prod, this window and the one before, and deployments by week: the aggregates of `ops metrics`, in SQL. */
function handWrittenSql(fromMs: number, toMs: number): string {
  const previous = fromMs - (toMs - fromMs);
  const live = `(r.status IN ('deployed', 'superseded') OR (r.status = 'rolled_back' AND r.error IS NULL))`;
  const windowed = (from: number, to: number) => `
    WITH rel AS (SELECT * FROM releases r WHERE r.env = 'prod' AND r.finished_at >= ${from} AND r.finished_at < ${to}),
    lead AS (SELECT r.service, r.finished_at - c.authored_at AS ms FROM release_changes c JOIN rel r ON r.id = c.release_id WHERE r.rollback_to IS NULL),
    lead_ranked AS (SELECT service, ms, row_number() OVER (PARTITION BY service ORDER BY ms) AS k, count(*) OVER (PARTITION BY service) AS n FROM lead),
    failed AS (SELECT r.service, r.finished_at,
                 (SELECT min(n.finished_at) FROM releases n WHERE n.service = r.service AND n.env = r.env AND n.revision > r.revision AND ${live.replaceAll('r.', 'n.')}) AS restored
               FROM rel r WHERE r.status IN ('failed', 'rolled_back') OR EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id)),
    restores AS (SELECT service, restored - finished_at AS ms FROM failed WHERE restored IS NOT NULL
                 UNION ALL SELECT service, resolved_at - coalesce(began_at, opened_at) FROM incidents WHERE env = 'prod' AND coalesce(began_at, opened_at) >= ${from} AND coalesce(began_at, opened_at) < ${to} AND resolved_at IS NOT NULL),
    restore_ranked AS (SELECT service, ms, row_number() OVER (PARTITION BY service ORDER BY ms) AS k, count(*) OVER (PARTITION BY service) AS n FROM restores)
    SELECT d.service, d.deployments, d.changes, d.failures,
           (SELECT ms FROM lead_ranked l WHERE l.service = d.service AND l.k = (l.n + 1) / 2) AS lead_median,
           (SELECT ms FROM lead_ranked l WHERE l.service = d.service AND l.k = CAST(0.9 * l.n AS INTEGER) + 1) AS lead_p90,
           (SELECT ms FROM restore_ranked x WHERE x.service = d.service AND x.k = (x.n + 1) / 2) AS restore_median,
           (SELECT ms FROM restore_ranked x WHERE x.service = d.service AND x.k = CAST(0.9 * x.n AS INTEGER) + 1) AS restore_p90
    FROM (SELECT r.service, sum(r.rollback_to IS NULL AND ${live}) AS deployments, sum(r.rollback_to IS NULL) AS changes,
                 sum(r.rollback_to IS NULL AND (r.status IN ('failed', 'rolled_back') OR EXISTS (SELECT 1 FROM incidents i WHERE i.cause_release = r.id))) AS failures
          FROM rel r GROUP BY r.service) d ORDER BY d.service;`;
  return `${windowed(fromMs, toMs)}
    ${windowed(previous, fromMs)}
    SELECT service, (finished_at - ${fromMs}) / 604800000 AS week, count(*) FROM releases r
    WHERE env = 'prod' AND finished_at >= ${fromMs} AND finished_at < ${toMs} AND rollback_to IS NULL AND ${live} GROUP BY 1, 2 ORDER BY 1, 2;
    SELECT min(9, CAST(s.probability * 10 AS INTEGER)) AS decile, count(*), sum(r.status IN ('failed', 'rolled_back')) FROM releases r JOIN risk_scores s ON s.id = r.risk_score_id
    WHERE r.env = 'prod' AND r.finished_at >= ${fromMs} AND r.finished_at < ${toMs} GROUP BY 1 ORDER BY 1;`;
}

/**
 * `ops metrics` on a year of delivery (100,000 releases, 1,000,000 runs, 10,000 incidents) against
 * the same aggregates written by hand in the sqlite3 shell, start-up included on both sides; `ops
 * report` against `ops metrics` on the same window; and the report's page in chromium, timed by the
 * browser's own navigation timing.
 */
export function metricsBenchmarks(): Result[] {
  const ledger = cachedLedger('metrics-100k-releases.db', fill);
  const dir = mkdtempSync(join(tmpdir(), 'ops-bench-metrics-'));
  try {
    writeFileSync(join(dir, 'ops.config.yaml'), [`project: bench-metrics`, `ledger: ${ledger}`, 'environments:', '  prod: { target: docker, production: true }', '  staging: { target: docker }', ''].join('\n'));
    const window = ['--since', SINCE, '--until', UNTIL];
    const metrics = { label: 'ops metrics --json', argv: [...OPS, 'metrics', ...window, '--json'], cwd: dir };
    const sql = join(dir, 'four-keys.sql');
    writeFileSync(sql, handWrittenSql(Date.parse(SINCE), Date.parse(UNTIL)));
    const shell = { label: 'sqlite3 (the same aggregates)', argv: ['sh', '-c', 'exec sqlite3 -readonly "$0" < "$1"', ledger, sql], cwd: dir };
    const out = join(dir, 'report.html');
    const report = { label: 'ops report', argv: [...OPS, 'report', ...window, '--out', out], cwd: dir };
    const results: Result[] = [
      compare(`ops metrics on ${RELEASES.toLocaleString('en')} releases, ${RUNS.toLocaleString('en')} runs, ${INCIDENTS.toLocaleString('en')} incidents vs sqlite3`, metrics, shell, 2, 10, 1),
      compare('ops report (one self-contained HTML file) vs ops metrics, the same window', report, metrics, 3, 10, 1),
    ];
    const timing = spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'page-timing.js'), out], { encoding: 'utf8', timeout: 120_000 });
    if (timing.status !== 0) throw new Error(`page timing failed: ${timing.stderr.trim()}`);
    const page = JSON.parse(timing.stdout) as { domInteractive: number; loadEventEnd: number; charts: number; runs: number };
    results.push({
      name: `ops report's page in chromium (median of ${page.runs} loads, navigation timing)`,
      text: `interactive ${page.domInteractive.toFixed(0)} ms, load and charts done ${page.loadEventEnd.toFixed(0)} ms, ${page.charts} charts drawn (goal: under 2000 ms)`,
      pass: page.loadEventEnd < 2000 && page.charts > 0,
    });
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
