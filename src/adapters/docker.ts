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
