import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpsConfig } from './schema.js';

/**
 * The validated config, cached per project root: parsing and validating it (js-yaml, zod) costs
 * ~30 ms, more than the rest of a command like `ops runs list`. The key covers everything the
 * result depends on: each file's path, size and mtime, the OPS_* variables, and this build of ops.
 */
export interface ConfigCache {
  read(): OpsConfig | undefined;
  write(config: OpsConfig): void;
}

const buildStamp = (() => {
  try {
    return String(statSync(fileURLToPath(import.meta.url)).mtimeMs);
  } catch {
    return 'unknown';
  }
})();

// node:crypto costs ~3 ms to load: only commands run in a project (with a config to cache) pay it.
const nodeRequire = createRequire(import.meta.url);

export function configCache(root: string, files: string[], env: NodeJS.ProcessEnv): ConfigCache {
  const { createHash } = nodeRequire('node:crypto') as typeof import('node:crypto');
  const dir = join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ops', 'config');
  const path = join(dir, `${createHash('sha256').update(root).digest('hex').slice(0, 32)}.json`);
  const opsEnv = Object.keys(env)
    .filter((name) => name.startsWith('OPS_'))
    .sort()
    .map((name) => [name, env[name]]);
  const stats = files.map((file) => {
    const stat = statSync(file);
    return [file, stat.size, stat.mtimeMs];
  });
  const key = createHash('sha256').update(JSON.stringify([buildStamp, stats, opsEnv])).digest('hex');

  return {
    read() {
      try {
        const cached = JSON.parse(readFileSync(path, 'utf8')) as { key: string; config: OpsConfig };
        return cached.key === key ? cached.config : undefined;
      } catch {
        return undefined;
      }
    },
    write(config) {
      // A cache that cannot be written costs speed, never correctness.
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const temp = `${path}.${process.pid}.tmp`;
        writeFileSync(temp, JSON.stringify({ key, config }), { mode: 0o600 });
        renameSync(temp, path);
      } catch {
        /* read-only home, full disk: run uncached */
      }
    },
  };
}
