import type Docker from 'dockerode';
import { request } from 'node:http';

/**
 * Two clients for one engine: quick JSON calls (ping, version, list, tag, inspect) go straight to the
 * Engine API over node:http, because importing dockerode costs ~120 ms (it loads grpc-js, protobufjs
 * and ssh2); dockerode loads only for what streams (build, push).
 */
export interface DockerEndpoint {
  /** DOCKER_HOST form: unix:///var/run/docker.sock or tcp://host:port; default: DOCKER_HOST or the local socket. */
  host?: string;
}

type Target = { socketPath: string } | { hostname: string; port: number };

function target(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv): Target {
  const host = endpoint.host ?? env.DOCKER_HOST;
  if (!host) return { socketPath: '/var/run/docker.sock' };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { hostname: url.hostname, port: Number(url.port) || 2375 };
}

/** A dockerode client for the endpoint, loaded on first use. */
export async function dockerClient(endpoint: DockerEndpoint = {}, env: NodeJS.ProcessEnv = process.env): Promise<Docker> {
  const { default: Dockerode } = await import('dockerode');
  const to = target(endpoint, env);
  return 'socketPath' in to ? new Dockerode({ socketPath: to.socketPath }) : new Dockerode({ host: to.hostname, port: to.port, protocol: 'http' });
}

export class EngineError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

/** One Engine API call with a JSON (or empty) answer. */
function engineCall<T>(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, method: string, path: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target(endpoint, env), method, path, headers: { Accept: 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 400) {
          let message = text;
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? text;
          } catch {
            /* plain text error */
          }
          reject(new EngineError(`${method} ${path}: ${message.trim()}`, res.statusCode));
          return;
        }
        try {
          resolve((text && res.headers['content-type']?.includes('json') ? JSON.parse(text) : text) as T);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
}

/** Ping the engine and read its version, within `timeoutMs`. */
export async function engineInfo(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, timeoutMs = 3000): Promise<EngineInfo> {
  await engineCall<string>(endpoint, env, 'GET', '/_ping', timeoutMs);
  const version = await engineCall<{ Version: string; ApiVersion: string; Os: string; Arch: string }>(endpoint, env, 'GET', '/version', timeoutMs);
  return { version: version.Version, apiVersion: version.ApiVersion, os: `${version.Os}/${version.Arch}` };
}

/** One message of the engine's build or push stream. */
export interface EngineEvent {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

function follow(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (event: EngineEvent) => void): Promise<EngineEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: EngineEvent[]) => (err ? reject(err) : resolve(events)), onEvent);
  });
}

export interface BuildRequest {
  tags: string[];
  dockerfile: string;
  buildArgs: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
  noCache: boolean;
}

/** POST /build with a context tar; resolves with every event (a failed step is an event with `error`). */
export async function buildImage(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, context: NodeJS.ReadableStream, build: BuildRequest, onEvent: (event: EngineEvent) => void): Promise<EngineEvent[]> {
  const docker = await dockerClient(endpoint, env);
  const stream = await docker.buildImage(context, {
    t: build.tags,
    dockerfile: build.dockerfile,
    buildargs: build.buildArgs,
    target: build.target,
    labels: build.labels,
    nocache: build.noCache,
    rm: true,
    forcerm: true,
  } as unknown as Docker.ImageBuildOptions);
  return follow(docker, stream, onEvent);
}

export interface LocalImage {
  id: string;
  sizeBytes: number;
  repoTags: string[];
}

export async function inspectImage(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, ref: string): Promise<LocalImage | null> {
  try {
    const info = await engineCall<{ Id: string; Size: number; RepoTags?: string[] }>(endpoint, env, 'GET', `/images/${encodeURIComponent(ref)}/json`);
    return { id: info.Id, sizeBytes: info.Size, repoTags: info.RepoTags ?? [] };
  } catch (err) {
    if ((err as EngineError).statusCode === 404) return null;
    throw err;
  }
}

/** Local images carrying `label=value`, newest first. */
export async function findImagesByLabel(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, label: string, value: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${label}=${value}`] }));
  const images = await engineCall<Array<{ Id: string; Created: number }>>(endpoint, env, 'GET', `/images/json?filters=${filters}`);
  return images.sort((a, b) => b.Created - a.Created).map((image) => image.Id);
}

export async function tagImage(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, imageId: string, reference: string): Promise<void> {
  const at = reference.lastIndexOf(':');
  const query = new URLSearchParams({ repo: reference.slice(0, at), tag: reference.slice(at + 1) });
  await engineCall(endpoint, env, 'POST', `/images/${encodeURIComponent(imageId)}/tag?${query}`);
}

export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress: string;
}

/** Push `repository:tag`; resolves with the manifest digest the registry reported. */
export async function pushImage(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, repository: string, tag: string, auth: RegistryAuth | undefined, onEvent: (event: EngineEvent) => void): Promise<string> {
  const docker = await dockerClient(endpoint, env);
  const stream = await docker.getImage(`${repository}:${tag}`).push({ tag, authconfig: auth } as Docker.ImagePushOptions);
  const events = await follow(docker, stream, onEvent);
  const failure = events.find((e) => e.error);
  if (failure) throw new Error(failure.errorDetail?.message ?? failure.error);
  const digest = events.map((e) => e.aux?.Digest).find(Boolean);
  if (!digest) throw new Error(`the registry reported no digest for ${repository}:${tag}`);
  return digest;
}

/**
 * Credentials for a registry host: OPS_REGISTRY_USERNAME / OPS_REGISTRY_PASSWORD, else the `auths`
 * entry of the Docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json). Credential
 * helpers (credsStore) are not consulted. Never logged or stored.
 */
export async function registryAuth(registryHost: string, env: NodeJS.ProcessEnv): Promise<RegistryAuth | undefined> {
  if (env.OPS_REGISTRY_USERNAME && env.OPS_REGISTRY_PASSWORD) {
    return { username: env.OPS_REGISTRY_USERNAME, password: env.OPS_REGISTRY_PASSWORD, serveraddress: registryHost };
  }
  const { readFileSync } = await import('node:fs');
  const { homedir } = await import('node:os');
  const { join } = await import('node:path');
  try {
    const file = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> };
    const entry = Object.entries(config.auths ?? {}).find(([host]) => host.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === registryHost);
    if (!entry?.[1].auth) return undefined;
    const [username, ...rest] = Buffer.from(entry[1].auth, 'base64').toString('utf8').split(':');
    return { username, password: rest.join(':'), serveraddress: registryHost };
  } catch {
    return undefined;
  }
}
