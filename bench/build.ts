import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, OPS, PROJECT_ROOT, type Comparison } from './lib.js';

const CACHE = join(PROJECT_ROOT, 'bench', '.cache');
const FILES = 10_000;
const FILE_BYTES = 5_000;

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@ops.invalid', ...args], { cwd, stdio: 'ignore' });
}

/** The sample service in its own repository, built once so that the engine cache is warm. */
function sampleProject(env: NodeJS.ProcessEnv): string {
  const dir = join(CACHE, 'build-sample');
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(PROJECT_ROOT, 'examples', 'sample'), dir, { recursive: true });
  writeFileSync(join(dir, 'ops.config.yaml'), 'project: bench\nservices:\n  web:\n    context: web\n    image: ops-bench/sample\n');
  writeFileSync(join(dir, '.gitignore'), '.ops/\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'sample');
  execFileSync(OPS[0]!, [...OPS.slice(1), 'build', '-q'], { cwd: dir, env, stdio: 'ignore' });
  execFileSync('docker', ['build', '-q', '-t', 'ops-bench/sample:cli', 'web'], { cwd: dir, env, stdio: 'ignore' });
  return dir;
}

/** 10,000 files of 5,000 bytes (50 MB) of deterministic content, made once. */
function bigContext(): string {
  const dir = join(CACHE, 'digest-context');
  const ctx = join(dir, 'ctx');
  if (existsSync(join(ctx, 'Dockerfile'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  let seed = 42;
  for (let i = 0; i < FILES; i++) {
    const sub = join(ctx, `d${i % 100}`);
    if (i < 100) mkdirSync(sub, { recursive: true });
    const bytes = Buffer.alloc(FILE_BYTES);
    for (let b = 0; b < FILE_BYTES; b += 4) bytes.writeUInt32LE((seed = (seed * 1664525 + 1013904223) >>> 0), b);
    writeFileSync(join(sub, `f${i}.bin`), bytes);
  }
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM ops/busybox:latest\nCOPY . /ctx\n');
  writeFileSync(join(dir, 'ops.config.yaml'), 'project: bench\nservices:\n  big:\n    context: ctx\n    image: ops-bench/big\n');
  return dir;
}

export function buildBenchmarks(): Comparison[] {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', DOCKER_BUILDKIT: '0' };
  delete env.CI;
  const sample = sampleProject(env);
  const big = bigContext();
  const results = [
    compare(
      'cache hit on the unchanged sample',
      { label: 'ops build', argv: [...OPS, 'build', '-q'], env, cwd: sample },
      { label: 'docker build (warm engine cache)', argv: ['docker', 'build', '-q', '-t', 'ops-bench/sample:cli', 'web'], env, cwd: sample },
      1.0,
      20,
    ),
    compare(
      `input digest of ${FILES.toLocaleString('en')} files (${(FILES * FILE_BYTES) / 1e6} MB)`,
      { label: 'ops build --dry-run', argv: [...OPS, 'build', '--dry-run', '-q'], env, cwd: big },
      { label: 'tar -c | sha256sum', argv: ['sh', '-c', 'tar -cf - -C ctx . | sha256sum'], env, cwd: big },
      1.5,
      10,
    ),
    compare(
      `input digest alone (Node start-up + scan, no CLI, config or git), ${FILES.toLocaleString('en')} files`,
      { label: 'node digest-scan.js', argv: [process.execPath, join(PROJECT_ROOT, 'dist', 'bench', 'digest-scan.js'), 'ctx'], env, cwd: big },
      { label: 'tar -c | sha256sum', argv: ['sh', '-c', 'tar -cf - -C ctx . | sha256sum'], env, cwd: big },
      1.5,
      10,
    ),
  ];
  const digest = results[1]!;
  process.stdout.write(`      input digest throughput: ${((FILES * FILE_BYTES) / 1e6 / (digest.subjectMedianMs / 1000)).toFixed(0)} MB/s (${digest.subjectMedianMs.toFixed(0)} ms, including start-up)\n`);
  return results;
}
