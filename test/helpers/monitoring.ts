import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './deploy.js';
import { setup, unavailable } from './engine.js';

export interface Daemon {
  url: string;
  log(): string;
}

/** Debian's prometheus and prometheus-alertmanager binaries; when root, installs them first. */
async function binary(t: TestContext, path: string): Promise<string | undefined> {
  if (existsSync(path)) return path;
  const installed = await setup(['packages']);
  if (installed instanceof Error || !existsSync(path)) return unavailable(t, path, installed instanceof Error ? installed.message : 'not installed');
  return path;
}

async function start(t: TestContext, file: string, args: string[], url: string, dir: string): Promise<Daemon> {
  let log = '';
  const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  t.after(async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const answer = await fetch(`${url}/-/ready`).catch(() => undefined);
    if (answer?.ok) return { url, log: () => log };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${file} did not become ready at ${url}:\n${log.slice(-2000)}`);
}

/** Prometheus scraping `targets` (host:port) every second, on a free port, with its own storage. */
export async function startPrometheus(t: TestContext, targets: string[]): Promise<Daemon | undefined> {
  const file = await binary(t, '/usr/bin/prometheus');
  if (!file) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ops-prometheus-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:', '  - job_name: exporter', '    static_configs:', `      - targets: [${targets.map((x) => `"${x}"`).join(', ')}]`, ''].join('\n'));
  return start(t, file, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], `http://127.0.0.1:${port}`, dir);
}

/** Alertmanager sending every group (firing and resolved) to `webhook` at once; `httpConfig` lines go under the webhook's http_config. */
export async function startAlertmanager(t: TestContext, webhook: string, httpConfig: string[] = []): Promise<Daemon | undefined> {
  const file = await binary(t, '/usr/bin/prometheus-alertmanager');
  if (!file) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ops-alertmanager-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: ops',
      '  group_by: [alertname, service]',
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: ops',
      '    webhook_configs:',
      `      - url: "${webhook}"`,
      '        send_resolved: true',
      ...(httpConfig.length ? ['        http_config:', ...httpConfig.map((line) => `          ${line}`)] : []),
      '',
    ].join('\n'),
  );
  return start(t, file, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], `http://127.0.0.1:${port}`, dir);
}
