import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import type { DeployResult } from '../../src/core/deploy/index.js';
import { listContainers, removeContainer } from '../../src/adapters/docker.js';
import { gitRepo, type GitRepo } from './git.js';
import { cleanEnv, runOpsJson } from './ops.js';

/** A free TCP port on 127.0.0.1 (closed again, for a container to publish). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The sample's shape: busybox httpd with /health and a HEALTHCHECK (fast, for tests). */
export const HEALTHY_DOCKERFILE = [
  'FROM ops/busybox:latest',
  'COPY www /www',
  'HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1',
  'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
  '',
].join('\n');

/** Serves, but its health check always fails. */
export const UNHEALTHY_DOCKERFILE = [
  'FROM ops/busybox:latest',
  'COPY www /www',
  'HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD echo "health: database unreachable" && exit 1',
  'CMD ["sh", "-c", "echo web starting; echo error: cannot reach db:5432 >&2; exec httpd -f -p 8080 -h /www"]',
  '',
].join('\n');

export interface DeployProject extends GitRepo {
  project: string;
  image: string;
  port: number;
  env: NodeJS.ProcessEnv;
  /** `ops <args> --json` in the project; parses the JSON when there is one. */
  ops(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; json: any }>;
  /** Commit a new page (a new image) and build it; returns the image reference. */
  release(label: string, dockerfile?: string): Promise<string>;
}

/**
 * Serves and passes its HEALTHCHECK, so the deploy gate lets it through; 8 s later it reads its
 * settings, finds DATABASE_URL unset and exits 1 (then restarts, unless-stopped, and again).
 */
export const LATE_CRASH_DOCKERFILE = [
  'FROM ops/busybox:latest',
  'COPY www /www',
  'HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1',
  'CMD ["sh", "-c", "echo web starting; httpd -p 8080 -h /www; sleep 8; echo loading settings; echo fatal: required environment variable DATABASE_URL is not set >&2; exit 1"]',
  '',
].join('\n');

/** The web service's settings beyond context, image and ports (YAML at four spaces). */
export const DEFAULT_SERVICE_SETTINGS = ['    stopTimeout: 2s', '    health:', '      timeout: 30s'].join('\n');

export async function deployProject(t: TestContext, options: { registry?: string; environments?: string; service?: string; ledger?: string } = {}): Promise<DeployProject> {
  const id = randomBytes(4).toString('hex');
  const project = `dt-${id}`;
  const image = `${options.registry ? `${options.registry}/` : ''}ops-test/deploy-${id}`;
  const port = await freePort();
  const repo = gitRepo('ops-deploy-');
  const env = cleanEnv(options.ledger ? { OPS_LEDGER: options.ledger } : {});
  t.after(async () => {
    for (const c of await listContainers({}, process.env, { 'ops.project': project }).catch(() => [])) await removeContainer({}, process.env, c.id);
    repo.cleanup();
  });
  repo.commit(
    {
      'ops.config.yaml': [
        `project: ${project}`,
        'services:',
        '  web:',
        '    context: web',
        `    image: ${image}`,
        `    ports: ["${port}:8080"]`,
        options.service ?? DEFAULT_SERVICE_SETTINGS,
        'environments:',
        '  local:',
        '    target: docker',
        options.environments ?? '',
      ].join('\n'),
      'web/Dockerfile': HEALTHY_DOCKERFILE,
      'web/www/index.html': 'first\n',
      'web/www/health': 'ok\n',
      '.gitignore': '.ops/\n',
    },
    'web service',
  );
  const ops = async (args: string[], runEnv = env) => {
    const { code, stdout, stderr, json } = await runOpsJson(args, { cwd: repo.dir, env: runEnv });
    return { code, stdout, stderr, json: json as unknown };
  };
  return {
    ...repo,
    project,
    image,
    port,
    env,
    ops,
    async release(label, dockerfile) {
      repo.commit({ 'web/www/index.html': `${label}\n`, ...(dockerfile ? { 'web/Dockerfile': dockerfile } : {}) }, label);
      const built = await ops(['build', ...(options.registry ? ['--push'] : [])]);
      if (built.code !== 0) throw new Error(`build failed: ${built.stderr}`);
      return (built.json as Array<{ tags: string[] }>)[0]!.tags[0]!;
    },
  };
}

export type DeployJson = DeployResult;
