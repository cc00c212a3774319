import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Context } from './context.js';
import { OpsError, UsageError } from '../errors.js';
import { displayTarget, SCHEMA_VERSION } from '../ledger/index.js';
import { oneLine } from '../ledger/sqlite.js';

export interface Check {
  name: string;
  required: boolean;
  ok: boolean;
  detail: string;
  /** How to fix a failed check. */
  fix?: string;
}

type Probe = () => Promise<Omit<Check, 'name' | 'required'>>;

const MIN_NODE_MAJOR = 20;

function failure(err: unknown, fallbackFix: string): Omit<Check, 'name' | 'required'> {
  if (err instanceof OpsError) return { ok: false, detail: err.message, fix: err.hint ?? fallbackFix };
  return { ok: false, detail: (err as Error).message ?? String(err), fix: fallbackFix };
}

/** Run every check concurrently; a check never throws, it reports. */
export async function runDoctor(ctx: Context): Promise<Check[]> {
  const config = ctx.config;
  const environments = Object.entries(config?.environments ?? {});
  const kubeEnvs = environments.filter(([, env]) => env.target === 'kubernetes');
  const dockerHost = environments.map(([, env]) => (env.target === 'docker' ? env.host : undefined)).find(Boolean);
  const needsEngine = !config || environments.some(([, env]) => env.target === 'docker') || Object.keys(config.services).length > 0;

  const checks: Array<[string, boolean, Probe]> = [
    [
      'node',
      true,
      async () => {
        const major = Number(process.versions.node.split('.')[0]);
        return major >= MIN_NODE_MAJOR
          ? { ok: true, detail: `v${process.versions.node}` }
          : { ok: false, detail: `v${process.versions.node}`, fix: `install Node.js ${MIN_NODE_MAJOR} or newer` };
      },
    ],
    [
      'config',
      false,
      async () =>
        config
          ? {
              ok: true,
              detail: `${ctx.configFiles.join(' + ')} (project ${config.project}, ${Object.keys(config.services).length} services, ${environments.length} environments)`,
            }
          : { ok: false, detail: `no ops config in ${ctx.cwd} or its parents`, fix: 'run `ops init`' },
    ],
    [
      'ledger',
      true,
      async () => {
        try {
          const ledger = ctx.ledger();
          if (ledger.absent) {
            // Doctor only reads: say whether the first command that records something can create it.
            let dir = dirname(ctx.ledgerPath);
            while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
            try {
              accessSync(dir, constants.W_OK);
            } catch {
              return { ok: false, detail: `${ctx.ledgerPath}: no ledger here yet, and ${dir} is not writable`, fix: 'make the folder writable, or pass --ledger <file>' };
            }
            return { ok: true, detail: `${ctx.ledgerPath}: no ledger here yet (the first command that records something creates it)` };
          }
          const problems = await ledger.integrityCheck();
          const { current } = await ledger.schemaVersion();
          if (problems.length !== 1 || problems[0] !== 'ok') {
            return {
              ok: false,
              detail: `integrity check: ${oneLine(problems)}`,
              fix: ledger.backend === 'sqlite' ? 'run `ops doctor --recover` to copy what is readable into a new ledger (the corrupt file is kept beside it)' : 'restore the database from a backup',
            };
          }
          const server = await ledger.server();
          if (server) {
            const tls = server.tls ? `TLS on (${server.tls})` : `TLS off (sslmode ${server.sslmode})`;
            return { ok: true, detail: `${displayTarget(ctx.ledgerPath)} (PostgreSQL ${server.server}, ${tls}, schema ${current}/${SCHEMA_VERSION}, round trip ${server.latencyMs.toFixed(1)} ms)` };
          }
          return { ok: true, detail: `${displayTarget(ctx.ledgerPath)} (schema ${current}/${SCHEMA_VERSION}, integrity ok)` };
        } catch (err) {
          return failure(err, 'pass --ledger <file> to use another ledger');
        }
      },
    ],
    [
      'git',
      true,
      async () => {
        try {
          const version = await ctx.adapters.git.gitVersion();
          const state = await ctx.adapters.git.gitState(ctx.root);
          const where = state ? `repository on ${state.branch ?? '(detached)'} at ${state.sha?.slice(0, 8) ?? '(no commits)'}${state.dirty ? ', dirty' : ''}` : 'not a repository';
          return { ok: true, detail: `git ${version}, ${where}` };
        } catch (err) {
          return failure(err, 'install git');
        }
      },
    ],
    [
      'docker engine',
      needsEngine,
      async () => {
        try {
          const info = await ctx.adapters.docker.engineInfo({ host: dockerHost }, ctx.env);
          return { ok: true, detail: `Docker ${info.version} (API ${info.apiVersion}, ${info.os})` };
        } catch (err) {
          return failure(err, 'start the Docker engine (`dockerd`, or `systemctl start docker`), or set DOCKER_HOST');
        }
      },
    ],
  ];

  if (config?.registry) {
    const registry = config.registry;
    checks.push([
      'registry',
      true,
      async () => {
        const url = ctx.adapters.http.registryApiUrl(registry.url, registry.insecure);
        const probe = await ctx.adapters.http.httpGet(url);
        // 401 is a live registry asking for credentials: reachable.
        if (probe.ok && (probe.status === 200 || probe.status === 401)) {
          return { ok: true, detail: `${url} answered ${probe.status} in ${Math.round(probe.latencyMs)} ms` };
        }
        return {
          ok: false,
          detail: `${url}: ${probe.error ?? `HTTP ${probe.status}`}`,
          fix: `start the registry at ${registry.url} or fix registry.url in the config${registry.insecure ? '' : ' (set registry.insecure: true for a plain-HTTP registry)'}`,
        };
      },
    ]);
  }

  checks.push([
    'kubectl',
    kubeEnvs.length > 0,
    async () => {
      try {
        const client = await ctx.adapters.exec.runTool('kubectl', ['version', '--client', '-o', 'json'], { timeoutMs: 10_000 });
        if (client.exitCode !== 0) return { ok: false, detail: client.stderr.trim().split('\n')[0] ?? 'kubectl failed', fix: 'reinstall kubectl' };
        const version = (JSON.parse(client.stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? 'unknown';
        const problems: string[] = [];
        for (const [name, env] of kubeEnvs) {
          if (env.target !== 'kubernetes') continue;
          const args = [...(env.context ? ['--context', env.context] : []), 'get', '--raw', '/version', '--request-timeout=5s'];
          const reach = await ctx.adapters.exec.runTool('kubectl', args, { timeoutMs: 15_000, env: ctx.env });
          if (reach.exitCode !== 0) problems.push(`${name}: ${reach.stderr.trim().split('\n').pop()}`);
        }
        if (problems.length) {
          return { ok: false, detail: `kubectl ${version}; ${problems.join('; ')}`, fix: 'check the kube context in the config (`kubectl config get-contexts`) and that the cluster is reachable' };
        }
        return { ok: true, detail: `kubectl ${version}${kubeEnvs.length ? `, ${kubeEnvs.length} cluster(s) reachable` : ''}` };
      } catch (err) {
        return failure(err, 'install kubectl');
      }
    },
  ]);

  return Promise.all(checks.map(async ([name, required, probe]) => ({ name, required, ...(await probe()) })));
}

/** `ops doctor --recover`: a SQLite ledger's readable rows copied into a new file put in its place. */
export async function recoverLedger(ctx: Context): Promise<import('../ledger/recover.js').Recovery> {
  const { isPostgresUrl } = await import('../ledger/index.js');
  if (isPostgresUrl(ctx.ledgerPath)) throw new UsageError('--recover is for a SQLite ledger', 'recover a PostgreSQL ledger with its own tools (pg_dump from a replica, or a backup)');
  await ctx.closeLedger();
  const { recoverSqlite } = await import('../ledger/recover.js');
  return recoverSqlite(ctx.ledgerPath, ctx.clock.now());
}
