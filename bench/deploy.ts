import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, OPS, PROJECT_ROOT, type Comparison } from './lib.js';

const CACHE = join(PROJECT_ROOT, 'bench', '.cache');
const RAW = join(PROJECT_ROOT, 'bench', 'raw-docker-deploy.sh');
const DOCKERFILE = [
  'FROM ops/busybox:latest',
  'ARG PAGE',
  'RUN mkdir -p /www && echo "$PAGE" > /www/index.html && echo ok > /www/health',
  'HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1',
  'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
  '',
].join('\n');

function removeContainers(label: string): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}

/**
 * A project whose service publishes no host port (start-first without a port handoff), and two
 * images to deploy in turn, so every run replaces a running, healthy container.
 */
function deployProject(env: NodeJS.ProcessEnv): { dir: string; images: [string, string] } {
  const dir = join(CACHE, 'deploy');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'web'), { recursive: true });
  writeFileSync(join(dir, 'web', 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(dir, 'ops.config.yaml'), 'project: bench-ops\nservices:\n  web:\n    context: web\n    image: ops-bench/deploy\nenvironments:\n  local:\n    target: docker\n');
  const images: [string, string] = ['ops-bench/deploy:a', 'ops-bench/deploy:b'];
  for (const image of images) {
    execFileSync('docker', ['build', '-q', '-t', image, '--build-arg', `PAGE=${image}`, 'web'], { cwd: dir, env, stdio: 'ignore' });
  }
  return { dir, images };
}

export function deployBenchmarks(): Comparison[] {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', DOCKER_BUILDKIT: '0' };
  delete env.CI;
  removeContainers('ops.project=bench-ops');
  removeContainers('ops.project=bench-raw');
  const { dir, images } = deployProject(env);
  try {
    return [
      compare(
        'deploy overhead on the docker target',
        { label: 'ops deploy', argv: (run) => [...OPS, 'deploy', 'web', '--env', 'local', '-q', '--image', images[run % 2]!], env, cwd: dir },
        { label: 'raw docker calls', argv: (run) => ['bash', RAW, images[run % 2]!, `bench-raw-${process.pid}-${run}`], env, cwd: dir },
        1.2,
        12,
        2,
      ),
    ];
  } finally {
    removeContainers('ops.project=bench-ops');
    removeContainers('ops.project=bench-raw');
  }
}
