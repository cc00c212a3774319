import type { RegistryAuth } from './docker.js';
import { registryApiUrl } from './http.js';

/** What a registry holds under a tag: enough to reuse an image without pulling it. */
export interface RemoteImage {
  /** The manifest digest (what a push reports). */
  digest: string;
  /** The config digest, which is the image id. */
  imageId: string;
  labels: Record<string, string>;
  manifest: string;
  mediaType: string;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

export interface RegistryRef {
  /** host[:port] */
  host: string;
  /** repository path inside the registry */
  repository: string;
  /** plain HTTP (a local or insecure registry) */
  insecure: boolean;
}

function headers(auth: RegistryAuth | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...extra };
  if (auth?.username && auth.password) out.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  else if (auth?.auth) out.Authorization = `Basic ${auth.auth}`;
  return out;
}

const base = (ref: RegistryRef) => `${registryApiUrl(ref.host, ref.insecure)}${ref.repository}`;

/**
 * The image under `tag`, or null when the registry does not have it (or will not say: token auth
 * is not spoken here, so a 401 is "unknown", never an error).
 */
export async function remoteImage(ref: RegistryRef, tag: string, auth?: RegistryAuth, timeoutMs = 5000): Promise<RemoteImage | null> {
  const response = await fetch(`${base(ref)}/manifests/${encodeURIComponent(tag)}`, {
    headers: headers(auth, { Accept: MANIFEST_TYPES }),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch(() => null);
  if (!response?.ok) return null;
  const manifest = await response.text();
  const parsed = JSON.parse(manifest) as { mediaType?: string; config?: { digest?: string } };
  const digest = response.headers.get('docker-content-digest');
  const configDigest = parsed.config?.digest;
  if (!digest || !configDigest) return null;
  const blob = await fetch(`${base(ref)}/blobs/${configDigest}`, { headers: headers(auth), signal: AbortSignal.timeout(timeoutMs) }).catch(() => null);
  if (!blob?.ok) return null;
  const config = (await blob.json()) as { config?: { Labels?: Record<string, string> } };
  return {
    digest,
    imageId: configDigest,
    labels: config.config?.Labels ?? {},
    manifest,
    mediaType: response.headers.get('content-type')?.split(';')[0] ?? parsed.mediaType ?? 'application/vnd.docker.distribution.manifest.v2+json',
  };
}

/** Point another tag at an image the registry already has (no layers move). */
export async function putTag(ref: RegistryRef, tag: string, image: RemoteImage, auth?: RegistryAuth, timeoutMs = 5000): Promise<void> {
  const response = await fetch(`${base(ref)}/manifests/${encodeURIComponent(tag)}`, {
    method: 'PUT',
    headers: headers(auth, { 'Content-Type': image.mediaType }),
    body: image.manifest,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`${ref.host}/${ref.repository}:${tag}: the registry answered ${response.status} ${await response.text()}`);
}

export type TagPresence = 'present' | 'absent' | 'unauthorized' | 'unreachable';

/** Whether the registry serves a manifest for `tag`: a HEAD request, nothing downloaded. */
export async function tagPresence(ref: RegistryRef, tag: string, auth?: RegistryAuth, timeoutMs = 5000): Promise<{ presence: TagPresence; detail: string }> {
  const url = `${base(ref)}/manifests/${encodeURIComponent(tag)}`;
  const response = await fetch(url, { method: 'HEAD', headers: headers(auth, { Accept: MANIFEST_TYPES }), signal: AbortSignal.timeout(timeoutMs) }).catch(
    (err: Error) => err,
  );
  if (response instanceof Error) return { presence: 'unreachable', detail: `${ref.host}: ${(response.cause as Error | undefined)?.message ?? response.message}` };
  if (response.ok) return { presence: 'present', detail: `${ref.host} has ${ref.repository}:${tag}` };
  if (response.status === 401 || response.status === 403) return { presence: 'unauthorized', detail: `${ref.host} answered ${response.status} for ${ref.repository}:${tag}` };
  if (response.status === 404) return { presence: 'absent', detail: `${ref.host} has no tag ${tag} in ${ref.repository}` };
  return { presence: 'unreachable', detail: `${ref.host} answered ${response.status}` };
}
