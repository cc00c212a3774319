import type { RegistryRef } from '../../adapters/registry.js';
import type { OpsConfig } from '../config/schema.js';

/** The OCI label naming the commit an image was built from (`ops build` sets it to the build's git sha). */
export const REVISION_LABEL = 'org.opencontainers.image.revision';

/**
 * The registry, repository and tag (or digest) of an image reference, or null for an image with no
 * registry host (Docker Hub names and local-only images are not asked about).
 */
export function parseImageReference(image: string, registry: OpsConfig['registry']): { registry: RegistryRef; tag: string } | null {
  const slash = image.indexOf('/');
  if (slash < 0) return null;
  const host = image.slice(0, slash);
  if (!/[.:]/.test(host) && host !== 'localhost') return null;
  let rest = image.slice(slash + 1);
  let tag = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) [rest, tag] = [rest.slice(0, at), rest.slice(at + 1)];
  else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) [rest, tag] = [rest.slice(0, colon), rest.slice(colon + 1)];
  }
  const configured = registry && registry.url.replace(/^https?:\/\//, '').replace(/\/+$/, '') === host;
  const insecure = configured ? registry.insecure : /^(localhost|127\.)/.test(host);
  return { registry: { host, repository: rest, insecure }, tag };
}
