import type Docker from 'dockerode';
import { TimeoutError, UnreachableError } from '../errors.js';

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

/** The host that published container ports answer on: the engine's host for a tcp:// engine, else this machine. */
export function publishedPortsHost(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv): string {
  const to = target(endpoint, env);
  return 'hostname' in to ? to.hostname : '127.0.0.1';
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

const ENGINE_FIX = 'start the Docker engine (`systemctl start docker`, or `dockerd &` without systemd), or point DOCKER_HOST or the environment\'s host at a running engine';

/** The engine's address as DOCKER_HOST spells it. */
function engineAddress(to: Target): string {
  return 'socketPath' in to ? `unix://${to.socketPath}` : `tcp://${to.hostname}:${to.port}`;
}

/** A connection failure as one line naming the engine's socket and the fix (not a bare `connect ENOENT`). */
export function engineUnreachable(to: Target, err: unknown): Error {
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (syscall !== undefined && syscall !== 'connect') return err as Error;
  const where = engineAddress(to);
  if (code === 'ENOENT') return new UnreachableError(`cannot reach the Docker engine: no socket at ${where}`, ENGINE_FIX);
  if (code === 'ECONNREFUSED') return new UnreachableError(`cannot reach the Docker engine at ${where}: connection refused (ECONNREFUSED: nothing listens there)`, ENGINE_FIX);
  if (code === 'EACCES' || code === 'EPERM') return new UnreachableError(`permission denied on the Docker engine socket ${where}`, 'run as a member of the docker group (`usermod -aG docker $USER`, then log in again), or as root');
  if (code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'ECONNRESET') return new UnreachableError(`cannot reach the Docker engine at ${where}: ${code}`, ENGINE_FIX);
  return err as Error;
}

/** One Engine API call: the raw answer body, or an EngineError for a 4xx/5xx. */
async function engineRequest(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<{ body: Buffer; contentType: string }> {
  // Loaded here, not at start-up: node:http and what it pulls in cost ~3 ms of every command.
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (payload) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': payload.length });
    const to = target(endpoint, env);
    const req = request({ ...to, method, path, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        if ((res.statusCode ?? 500) >= 400) {
          const text = raw.toString('utf8');
          let message = text;
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? text;
          } catch {
            /* plain text error */
          }
          reject(new EngineError(`${method} ${path.split('?')[0]}: ${message.trim()}`, res.statusCode));
          return;
        }
        resolve({ body: raw, contentType: String(res.headers['content-type'] ?? '') });
      });
    });
    req.on('timeout', () => req.destroy(new TimeoutError(`the Docker engine at ${engineAddress(to)} (${method} ${path.split('?')[0]})`, timeoutMs, 'check that dockerd is running and not overloaded (`docker info`), then try again')));
    req.on('error', (err) => reject(engineUnreachable(to, err)));
    req.end(payload);
  });
}

/** One Engine API call with a JSON (or empty) answer. */
async function engineCall<T>(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, method: string, path: string, timeoutMs = 10_000, body?: unknown): Promise<T> {
  const answer = await engineRequest(endpoint, env, method, path, body, timeoutMs);
  const text = answer.body.toString('utf8');
  return (text && answer.contentType.includes('json') ? JSON.parse(text) : text) as T;
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
  const unreachable = (err: unknown) => Promise.reject(engineUnreachable(target(endpoint, env), err));
  const stream = await docker.buildImage(context, {
    t: build.tags,
    dockerfile: build.dockerfile,
    buildargs: build.buildArgs,
    target: build.target,
    labels: build.labels,
    nocache: build.noCache,
    rm: true,
    forcerm: true,
  } as unknown as Docker.ImageBuildOptions).catch(unreachable);
  return follow(docker, stream, onEvent);
}

export interface LocalImage {
  id: string;
  sizeBytes: number;
  repoTags: string[];
  repoDigests: string[];
  /** The image's HEALTHCHECK, when it has one. */
  hasHealthcheck: boolean;
  labels: Record<string, string>;
}

export async function inspectImage(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, ref: string): Promise<LocalImage | null> {
  try {
    const info = await engineCall<{ Id: string; Size: number; RepoTags?: string[]; RepoDigests?: string[]; Config?: { Healthcheck?: { Test?: string[] }; Labels?: Record<string, string> | null } }>(
      endpoint,
      env,
      'GET',
      `/images/${encodeURIComponent(ref)}/json`,
    );
    const test = info.Config?.Healthcheck?.Test ?? [];
    return { id: info.Id, sizeBytes: info.Size, repoTags: info.RepoTags ?? [], repoDigests: info.RepoDigests ?? [], hasHealthcheck: test.length > 0 && test[0] !== 'NONE', labels: info.Config?.Labels ?? {} };
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
  const stream = await docker
    .getImage(`${repository}:${tag}`)
    .push({ tag, authconfig: auth } as Docker.ImagePushOptions)
    .catch((err: unknown) => Promise.reject(engineUnreachable(target(endpoint, env), err)));
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

export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  /** Container port -> host port; an empty host port asks the engine for a free one. */
  ports: Array<{ container: number; host: string }>;
  memoryBytes?: number;
  nanoCpus?: number;
  init: boolean;
  stopTimeoutSeconds: number;
}

/** Create and start a container; resolves with its id. */
export async function runContainer(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, spec: ContainerSpec): Promise<string> {
  const exposed = Object.fromEntries(spec.ports.map((p) => [`${p.container}/tcp`, {}]));
  const bindings = Object.fromEntries(spec.ports.map((p) => [`${p.container}/tcp`, [{ HostPort: p.host }]]));
  const created = await engineCall<{ Id: string }>(endpoint, env, 'POST', `/containers/create?name=${encodeURIComponent(spec.name)}`, 30_000, {
    Image: spec.image,
    Labels: spec.labels,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    ExposedPorts: exposed,
    StopTimeout: spec.stopTimeoutSeconds,
    HostConfig: {
      Init: spec.init,
      PortBindings: bindings,
      RestartPolicy: { Name: 'unless-stopped' },
      // A hard cap, as a Kubernetes limit is: no swap beyond it (the engine's default allows as much again).
      ...(spec.memoryBytes ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
      ...(spec.nanoCpus ? { NanoCpus: spec.nanoCpus } : {}),
    },
  });
  try {
    await startContainer(endpoint, env, created.Id);
  } catch (err) {
    await removeContainer(endpoint, env, created.Id).catch(() => undefined);
    throw err;
  }
  return created.Id;
}

export interface ContainerState {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  status: string;
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
  restartCount: number;
  error: string;
  startedAt: string;
  /** "starting", "healthy" or "unhealthy" for containers with a HEALTHCHECK. */
  health?: string;
  /** The last health probe's output. */
  healthLog?: string;
  /** Every health probe the engine kept (its last five), oldest first. */
  healthLogs: Array<{ exitCode: number; output: string }>;
  finishedAt: string;
  /** HostConfig.Memory in bytes; 0 when unlimited. */
  memoryLimit: number;
  /** Container port (number) -> published host port. */
  hostPorts: Record<string, number>;
}

/**
 * Killed for memory: flagged OOMKilled by the engine, or SIGKILLed (exit 137) under a memory limit.
 * Under load the engine (20.10, cgroup v1) sometimes reports the latter without the flag.
 */
export function killedForMemory(state: Pick<ContainerState, 'oomKilled' | 'exitCode' | 'memoryLimit'>): boolean {
  return state.oomKilled || (state.exitCode === 137 && state.memoryLimit > 0);
}

interface ContainerJson {
  Id: string;
  Name: string;
  RestartCount: number;
  Config: { Image: string; Labels?: Record<string, string> };
  HostConfig?: { Memory?: number };
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    OOMKilled: boolean;
    Error: string;
    StartedAt: string;
    FinishedAt?: string;
    Health?: { Status: string; Log?: Array<{ Output: string; ExitCode: number }> };
  };
  NetworkSettings: { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> };
}

export async function inspectContainer(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, id: string): Promise<ContainerState | null> {
  let info: ContainerJson;
  try {
    info = await engineCall<ContainerJson>(endpoint, env, 'GET', `/containers/${encodeURIComponent(id)}/json`);
  } catch (err) {
    if ((err as EngineError).statusCode === 404) return null;
    throw err;
  }
  const hostPorts: Record<string, number> = {};
  for (const [key, binds] of Object.entries(info.NetworkSettings.Ports ?? {})) {
    const bound = binds?.find((b) => b.HostPort);
    if (bound) hostPorts[key.split('/')[0]!] = Number(bound.HostPort);
  }
  const log = info.State.Health?.Log ?? [];
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    labels: info.Config.Labels ?? {},
    status: info.State.Status,
    running: info.State.Running,
    exitCode: info.State.ExitCode,
    oomKilled: info.State.OOMKilled,
    restartCount: info.RestartCount,
    error: info.State.Error,
    startedAt: info.State.StartedAt,
    health: info.State.Health?.Status,
    healthLog: log.length ? log[log.length - 1]!.Output.trim() : undefined,
    healthLogs: log.map((entry) => ({ exitCode: entry.ExitCode, output: entry.Output.trim() })),
    finishedAt: info.State.FinishedAt ?? '',
    memoryLimit: info.HostConfig?.Memory ?? 0,
    hostPorts,
  };
}

export interface ListedContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** created, running, restarting, exited, paused, dead */
  state: string;
  /** The engine's summary: "Up 5 minutes (healthy)", "Exited (137) 2 seconds ago". */
  status: string;
  created: number;
}

/** Containers (running or not) carrying every one of `labels`, oldest first. */
export async function listContainers(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, labels: Record<string, string>): Promise<ListedContainer[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }));
  const found = await engineCall<Array<{ Id: string; Names: string[]; Labels: Record<string, string>; State: string; Status: string; Created: number }>>(
    endpoint,
    env,
    'GET',
    `/containers/json?all=1&filters=${filters}`,
  );
  return found
    .map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), labels: c.Labels, state: c.State, status: c.Status ?? '', created: c.Created }))
    .sort((a, b) => a.created - b.created);
}

/** SIGTERM (or the image's STOPSIGNAL), then SIGKILL after the container's stop timeout. */
export async function stopContainer(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, id: string, timeoutMs = 60_000): Promise<void> {
  await engineCall(endpoint, env, 'POST', `/containers/${encodeURIComponent(id)}/stop`, timeoutMs);
}

export async function startContainer(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, id: string): Promise<void> {
  await engineCall(endpoint, env, 'POST', `/containers/${encodeURIComponent(id)}/start`, 30_000);
}

export async function restartContainer(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, id: string, timeoutMs = 60_000): Promise<void> {
  await engineCall(endpoint, env, 'POST', `/containers/${encodeURIComponent(id)}/restart`, timeoutMs);
}

/** Memory in use now (bytes, page cache excluded as `docker stats` does); null when not running. */
export async function containerMemoryUsage(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, id: string): Promise<number | null> {
  const stats = await engineCall<{ memory_stats?: { usage?: number; stats?: { inactive_file?: number; total_inactive_file?: number } } }>(
    endpoint,
    env,
    'GET',
    `/containers/${encodeURIComponent(id)}/stats?stream=false&one-shot=true`,
  ).catch(() => null);
  const memory = stats?.memory_stats;
  if (!memory?.usage) return null;
  return memory.usage - (memory.stats?.inactive_file ?? memory.stats?.total_inactive_file ?? 0);
}

export async function removeContainer(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, id: string): Promise<void> {
  try {
    await engineCall(endpoint, env, 'DELETE', `/containers/${encodeURIComponent(id)}?force=1&v=1`, 30_000);
  } catch (err) {
    if ((err as EngineError).statusCode !== 404) throw err;
  }
}

/** The last `tail` lines of a container's stdout and stderr, interleaved as written. */
export async function containerLogs(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, id: string, tail = 20): Promise<string[]> {
  const { body } = await engineRequest(endpoint, env, 'GET', `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&tail=${tail}`);
  // Without a TTY the engine multiplexes: 8-byte frame headers (stream, 0, 0, 0, uint32 size).
  const parts: string[] = [];
  let offset = 0;
  while (offset + 8 <= body.length && body[offset]! <= 2 && body[offset + 1] === 0) {
    const size = body.readUInt32BE(offset + 4);
    parts.push(body.subarray(offset + 8, offset + 8 + size).toString('utf8'));
    offset += 8 + size;
  }
  const text = offset === 0 ? body.toString('utf8') : parts.join('');
  return text.split('\n').filter((line) => line.trim() !== '');
}
