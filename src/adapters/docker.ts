import type Docker from 'dockerode';

export interface DockerEndpoint {
  /** DOCKER_HOST form: unix:///var/run/docker.sock or tcp://host:port; default: DOCKER_HOST or the local socket. */
  host?: string;
}

/** A dockerode client for the endpoint; dockerode loads only when a command needs the engine. */
export async function dockerClient(endpoint: DockerEndpoint = {}, env: NodeJS.ProcessEnv = process.env): Promise<Docker> {
  const { default: Dockerode } = await import('dockerode');
  const host = endpoint.host ?? env.DOCKER_HOST;
  if (!host) return new Dockerode({ socketPath: '/var/run/docker.sock' });
  if (host.startsWith('unix://')) return new Dockerode({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Dockerode({ host: url.hostname, port: Number(url.port) || 2375, protocol: 'http' });
}

export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
}

/** Ping the engine and read its version, within `timeoutMs`. */
export async function engineInfo(docker: Docker, timeoutMs = 3000): Promise<EngineInfo> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
    const version = await Promise.race([docker.version(), timeout]);
    return { version: version.Version, apiVersion: version.ApiVersion, os: `${version.Os}/${version.Arch}` };
  } finally {
    clearTimeout(timer);
  }
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
export async function buildImage(docker: Docker, context: NodeJS.ReadableStream, request: BuildRequest, onEvent: (event: EngineEvent) => void): Promise<EngineEvent[]> {
  const stream = await docker.buildImage(context, {
    t: request.tags,
    dockerfile: request.dockerfile,
    buildargs: request.buildArgs,
    target: request.target,
    labels: request.labels,
    nocache: request.noCache,
    rm: true,
    forcerm: true,
  } as unknown as Docker.ImageBuildOptions);
  return follow(docker, stream, onEvent);
}

export interface LocalImage {
  id: string;
  sizeBytes: number;
  repoTags: string[];
  repoDigests: string[];
  labels: Record<string, string>;
}

export async function inspectImage(docker: Docker, ref: string): Promise<LocalImage | null> {
  try {
    const info = await docker.getImage(ref).inspect();
    return { id: info.Id, sizeBytes: info.Size, repoTags: info.RepoTags ?? [], repoDigests: info.RepoDigests ?? [], labels: info.Config?.Labels ?? {} };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

/** Local images carrying `label=value`, newest first. */
export async function findImagesByLabel(docker: Docker, label: string, value: string): Promise<string[]> {
  const images = await docker.listImages({ filters: JSON.stringify({ label: [`${label}=${value}`] }) } as Docker.ListImagesOptions);
  return images.sort((a, b) => b.Created - a.Created).map((image) => image.Id);
}

export async function tagImage(docker: Docker, imageId: string, reference: string): Promise<void> {
  const at = reference.lastIndexOf(':');
  await docker.getImage(imageId).tag({ repo: reference.slice(0, at), tag: reference.slice(at + 1) });
}

export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress: string;
}

/** Push `repository:tag`; resolves with the manifest digest the registry reported. */
export async function pushImage(docker: Docker, repository: string, tag: string, auth: RegistryAuth | undefined, onEvent: (event: EngineEvent) => void): Promise<string> {
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
