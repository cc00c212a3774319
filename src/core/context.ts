import { statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { displayTarget, isPostgresUrl, Ledger } from '../ledger/index.js';
import * as docker from '../adapters/docker.js';
import * as exec from '../adapters/exec.js';
import * as git from '../adapters/git.js';
import * as http from '../adapters/http.js';
import * as kubectl from '../adapters/kubectl.js';
import * as prometheus from '../adapters/prometheus.js';
import * as registry from '../adapters/registry.js';
import { loadConfig } from './config/load.js';
import type { OpsConfig } from './config/schema.js';
import { ConfigError, UsageError } from '../errors.js';
import type { Clock, Output } from './output.js';
import { isPidAlive } from './process.js';
import { redact, secretValuesFromEnv } from '../redact.js';

export const RUN_STALE_AFTER_MS = 120_000;

/** Everything that talks to the outside world; tests may swap any of it. */
export interface Adapters {
  git: typeof git;
  docker: typeof docker;
  exec: typeof exec;
  http: typeof http;
  kubectl: typeof kubectl;
  prometheus: typeof prometheus;
  registry: typeof registry;
}

export const realAdapters: Adapters = { git, docker, exec, http, kubectl, prometheus, registry };

export interface Context {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The project root: the folder of the project config, or the cwd without one. */
  root: string;
  config: OpsConfig | null;
  configFiles: string[];
  /** A SQLite file path or a postgres:// URL (which may hold a password: show it with displayTarget). */
  ledgerPath: string;
  /**
   * Opens (and migrates) the ledger on first use; marks runs of dead processes interrupted. A
   * read-only command's context never creates it: without one it reads an empty ledger.
   */
  ledger(): Ledger;
  /** Close the ledger if it was opened (the CLI does this when a command ends). */
  closeLedger(): Promise<void>;
  requireConfig(): OpsConfig;
  adapters: Adapters;
  output: Output;
  clock: Clock;
  interactive: boolean;
  ci: boolean;
  actor: string;
  host: string;
  argv: string[];
  /** Values to scrub from anything stored or printed. */
  secrets: string[];
  /** Aborted on SIGINT/SIGTERM. */
  cancel: AbortSignal;
  /** Ids of the runs this process has open, marked interrupted if it is stopped. */
  activeRuns: Set<number>;
  /**
   * The signal path's first step: take this process's open runs from `activeRuns` at once, so that
   * nothing that runs afterwards (a withRun seeing its child killed) can record them otherwise, and
   * mark them interrupted (on SQLite the writes start before this returns).
   */
  interruptRuns(signal: string): Promise<void>;
}

export interface ContextOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  argv: string[];
  configFile?: string;
  ledgerFile?: string;
  output: Output;
  clock: Clock;
  interactive: boolean;
  cancel: AbortSignal;
  adapters?: Adapters;
  /** The list of values to redact, shared with the output so that secrets found later are scrubbed there too. */
  secrets?: string[];
  /** The command only reads: it must not create a ledger (or its folder). */
  readOnly?: boolean;
}

export function isCI(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0';
}

export async function createContext(options: ContextOptions): Promise<Context> {
  if (!statSync(options.cwd, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--cwd ${options.cwd} is not a folder`, 'pass an existing project folder');
  }
  const { config, root, files } = await loadConfig({ cwd: options.cwd, env: options.env, configFile: options.configFile });
  // Flag and environment paths are relative to the cwd, the config's to the project root.
  const explicitLedger = options.ledgerFile ?? options.env.OPS_LEDGER;
  const place = (target: string, base: string) => (isPostgresUrl(target) ? target : resolve(base, target));
  const ledgerPath = explicitLedger ? place(explicitLedger, options.cwd) : place(config?.ledger ?? '.ops/ledger.db', root);
  // OPS_HOST names this machine in locks and runs where the host name is shared or meaningless (containers).
  const host = options.env.OPS_HOST || hostname();
  let ledger: Ledger | undefined;

  const ctx: Context = {
    cwd: options.cwd,
    env: options.env,
    root,
    config,
    configFiles: files,
    ledgerPath,
    ledger() {
      if (!ledger) {
        const opened = (ledger = Ledger.open(ledgerPath, {
          redact: (text) => redact(text, ctx.secrets),
          create: !options.readOnly,
          warn: (line) => options.output.warn(line),
          secret: (value) => {
            if (!ctx.secrets.includes(value)) ctx.secrets.push(value);
          },
        }));
        if (opened.corruption !== null) options.output.warn(`ledger ${ledgerPath} is corrupt (${opened.corruption}): it is read, never written; run \`ops doctor --recover\``);
        if (opened.absent) options.output.info(`no ledger here yet (${displayTarget(ledgerPath)}): nothing has been recorded`);
        // Errors reach the queries that wait for this; the sweep itself only logs.
        void opened
          .hold(async () => {
            const marked = await opened.runs.sweepAbandoned(host, isPidAlive, options.clock.now(), RUN_STALE_AFTER_MS);
            if (marked.length) options.output.debug(`marked ${marked.length} abandoned run(s) interrupted: ${marked.join(', ')}`);
          })
          .catch(() => {});
      }
      return ledger;
    },
    async closeLedger() {
      const open = ledger;
      ledger = undefined;
      await open?.close();
    },
    requireConfig() {
      // ctx.config, not the first load: a command that edits the config (triage's raise-memory) reloads it.
      if (!ctx.config) {
        throw new ConfigError(`no ops config found in ${options.cwd} or any parent folder`, 'run `ops init` to create ops.config.yaml, or pass --config <file>');
      }
      return ctx.config;
    },
    adapters: options.adapters ?? realAdapters,
    output: options.output,
    clock: options.clock,
    interactive: options.interactive,
    ci: isCI(options.env),
    actor: options.env.OPS_ACTOR ?? options.env.GITHUB_ACTOR ?? options.env.GITLAB_USER_LOGIN ?? safeUsername(),
    host,
    argv: options.argv,
    secrets: options.secrets ?? secretValuesFromEnv(options.env),
    cancel: options.cancel,
    activeRuns: new Set(),
    async interruptRuns(signal) {
      // Open runs imply an open ledger: nothing here may wait on a dynamic import.
      if (!ledger || ctx.activeRuns.size === 0) return;
      const open = ledger;
      const ids = [...ctx.activeRuns];
      ctx.activeRuns.clear();
      await open.transaction(async () => {
        for (const id of ids) await open.runs.finish(id, { status: 'interrupted', exitCode: 130, error: `interrupted by ${signal}` }, options.clock.now());
      });
    },
  };
  return ctx;
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
