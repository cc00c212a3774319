import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import type Docker from 'dockerode';
import { dockerClient, engineInfo } from '../../src/adapters/docker.js';
import { PROJECT_ROOT } from './ops.js';

const run = promisify(execFile);
const SETUP = `${PROJECT_ROOT}scripts/setup.sh`;
export const BASE_IMAGE = 'ops/busybox:latest';

/**
 * Skip loudly, or fail in CI: CI installs everything, so a missing engine there is a defect.
 */
export function unavailable(t: TestContext, what: string, reason: string): undefined {
  const message = `${what} unavailable: ${reason}`;
  if (process.env.CI && process.env.CI !== 'false') throw new Error(`${message} (CI must run every test: see .ci/run)`);
  process.stderr.write(`\n!!! SKIPPED: ${message}\n!!! run as root, or \`bash scripts/setup.sh\`, to run these tests\n\n`);
  t.skip(message);
  return undefined;
}

/** Run setup steps; returns their stdout, or an Error with the reason they failed. */
export async function setup(steps: string[], env: NodeJS.ProcessEnv = process.env): Promise<string | Error> {
  try {
    return (await run('bash', [SETUP, ...steps], { timeout: 600_000, env })).stdout.trim();
  } catch (err) {
    return new Error(String((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n').pop() ?? 'setup failed');
  }
}

let engine: Promise<Docker | string> | undefined;

/** The Docker engine that answers; when root, installs and starts one first. */
export async function dockerEngine(t: TestContext): Promise<Docker | undefined> {
  engine ??= (async () => {
    const docker = await dockerClient();
    try {
      await engineInfo({}, process.env, 2000);
      return docker;
    } catch {
      const failure = await setup(['packages', 'engine']);
      if (failure instanceof Error) return failure.message;
      await engineInfo({}, process.env, 5000);
      return docker;
    }
  })().catch((err: Error) => err.message);
  const result = await engine;
  return typeof result === 'string' ? unavailable(t, 'Docker engine', result) : result;
}

/** The busybox base image (imported, since nothing can be pulled here). */
export async function baseImage(t: TestContext): Promise<string | undefined> {
  if (!(await dockerEngine(t))) return undefined;
  const result = await setup(['packages', 'base-image']);
  return result instanceof Error ? unavailable(t, `base image ${BASE_IMAGE}`, result.message) : BASE_IMAGE;
}

/** Debian's docker-registry on 127.0.0.1 at a free port, shared by every test file; returns host:port. */
export async function registry(t: TestContext): Promise<string | undefined> {
  const packages = await setup(['packages']);
  if (packages instanceof Error) return unavailable(t, 'docker-registry', packages.message);
  const addr = await setup(['registry'], { ...process.env, OPS_REGISTRY_ADDR: 'auto' });
  return addr instanceof Error ? unavailable(t, 'docker-registry', addr.message) : addr;
}

/** The engine and the base image, both: what every test that runs containers needs. */
export async function engineWithBaseImage(t: TestContext): Promise<boolean> {
  return Boolean((await dockerEngine(t)) && (await baseImage(t)));
}
