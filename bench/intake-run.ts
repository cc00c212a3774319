// The Alertmanager intake under load, against a real `ops watch --listen`: prints one JSON line.
//   soak <dir> <alerts> <concurrency>: that many one-alert POSTs, RSS of the receiver sampled
//   flood <dir> <alerts>: one POST of that many alerts, probed meanwhile by small requests
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from './lib.js';

const [mode, dir, countText, concurrencyText] = process.argv.slice(2);
const TOKEN = 'bench-intake-token-0123456789abcdef';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startReceiver(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'ops.js'), 'watch', '--listen', `127.0.0.1:${port}`, '--quiet'], {
    cwd: dir,
    env: { ...process.env, OPS_WATCH__LISTEN__TOKEN: TOKEN },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  for (let i = 0; i < 200; i++) {
    const up = await post(port, '', undefined, 'GET').then(() => true, () => false);
    if (up) return child;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`ops watch --listen did not start: ${stderr}`);
}

function post(port: number, body: string, agent?: Agent, method = 'POST'): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/alerts', method, agent: agent ?? false, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function alert(i: number, services: number) {
  const service = `svc-${i % services}`;
  return {
    status: i % 10 === 9 ? 'resolved' : 'firing',
    labels: { alertname: ['HighErrorRate', 'HighLatency', 'PodRestarting', 'DiskFilling'][Math.floor(i / services) % 4]!, service, env: 'prod', severity: i % 7 === 0 ? 'critical' : 'warning' },
    annotations: { summary: `${service} alert ${i}` },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
  };
}

const payload = (alerts: unknown[]) => JSON.stringify({ version: '4', groupKey: '{}:{}', status: 'firing', receiver: 'ops', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager:9093', alerts });

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function soak(count: number, concurrency: number): Promise<void> {
  const port = await freePort();
  const child = await startReceiver(port);
  const samples: Array<{ sent: number; mb: number }> = [];
  let sent = 0;
  const sampler = setInterval(() => samples.push({ sent, mb: rssMb(child.pid!) }), 100);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const answer = await post(port, payload([alert(i, 500)]), agent).catch(() => ({ status: 0, ms: 0, text: '' }));
        if (answer.status !== 200) failed++;
        latencies.push(answer.ms);
        sent++;
      }
    }),
  );
  const ms = performance.now() - started;
  clearInterval(sampler);
  samples.push({ sent, mb: rssMb(child.pid!) });
  agent.destroy();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  // Peak RSS in each quarter of the alerts sent: flat when the last quarter is no higher than the second.
  const quarters = [0, 1, 2, 3].map((q) => Math.max(...samples.filter((s) => s.sent >= (q * count) / 4 && s.sent <= ((q + 1) * count) / 4).map((s) => s.mb)));
  process.stdout.write(`${JSON.stringify({ alerts: count, concurrency, failed, ms, alertsPerSecond: (count / ms) * 1000, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), peakMb: Math.max(...samples.map((s) => s.mb)), quartersMb: quarters, samples: samples.length })}\n`);
}

async function flood(count: number): Promise<void> {
  const port = await freePort();
  const child = await startReceiver(port);
  const probe = async () => (await post(port, '', undefined, 'GET')).ms;
  const idle: number[] = [];
  for (let i = 0; i < 20; i++) idle.push(await probe());
  const body = payload(Array.from({ length: count }, (_, i) => ({ ...alert(i, count), status: 'firing' })));
  let done = false;
  const started = performance.now();
  const big = post(port, body).then((answer) => {
    done = true;
    return answer;
  });
  const during: number[] = [];
  while (!done) during.push(await probe());
  const answer = await big;
  const ms = performance.now() - started;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  const opened = (JSON.parse(answer.text) as { opened?: unknown[] }).opened?.length ?? 0;
  process.stdout.write(`${JSON.stringify({ alerts: count, bytes: body.length, status: answer.status, opened, ms, probes: during.length, probeMaxMs: Math.max(...during), probeIdleMaxMs: Math.max(...idle) })}\n`);
}

if (mode === 'soak') await soak(Number(countText), Number(concurrencyText));
else if (mode === 'flood') await flood(Number(countText));
else throw new Error(`unknown mode ${mode}: soak or flood`);
