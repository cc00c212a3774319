import type { Run, RunFilter, RunLogLine, RunStatus } from '../ledger/index.js';
import { RUN_STATUSES } from '../ledger/index.js';
import type { Context } from './context.js';
import { NotFoundError, quote, UsageError } from '../errors.js';
import { RedactionStream } from '../redact.js';

const HEARTBEAT_INTERVAL_MS = 15_000;
const LOG_FLUSH_INTERVAL_MS = 500;
/** Past this, a run's stored log keeps only a note; the terminal still shows everything. */
const MAX_LOG_BYTES = 8 * 1024 * 1024;

export interface RunSpec {
  kind: string;
  /** Git facts the caller already has (saves asking git again). */
  git?: { sha: string | null; branch: string | null; dirty: boolean } | null;
  service?: string;
  env?: string;
  params?: Record<string, unknown>;
}

export interface RunOutcome {
  status: Exclude<RunStatus, 'running'>;
  exitCode: number;
  error?: string;
  metrics?: Record<string, unknown>;
  /** Parameters learnt during the run (a training command's params.json), merged over the given ones. */
  params?: Record<string, unknown>;
}

export interface ActiveRun {
  id: number;
  /** Buffer output for the run's log (the ledger redacts whatever it stores). */
  log(stream: string, text: string): void;
}

/**
 * Record `work` as a run: git state, heartbeat while it lasts, its redacted log and its outcome.
 * A thrown error finishes the run as failed and is rethrown.
 */
export async function withRun(ctx: Context, spec: RunSpec, work: (run: ActiveRun) => Promise<RunOutcome>): Promise<RunOutcome & { runId: number }> {
  const git = spec.git !== undefined ? spec.git : await ctx.adapters.git.gitState(ctx.root);
  const ledger = ctx.ledger();
  const id = await ledger.runs.insert(
    {
      kind: spec.kind,
      service: spec.service,
      env: spec.env,
      gitSha: git?.sha,
      gitBranch: git?.branch,
      gitDirty: git?.dirty,
      actor: ctx.actor,
      host: ctx.host,
      pid: process.pid,
      ci: ctx.ci,
      argv: ctx.argv,
      params: spec.params,
    },
    ctx.clock.now(),
  );
  ctx.activeRuns.add(id);

  let pending: Array<{ stream: string; text: string; at: number }> = [];
  let storedBytes = 0;
  // One flush at a time, in order: each waits for the one before it.
  let flushed: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (pending.length === 0) return flushed;
    const batch = pending;
    pending = [];
    flushed = flushed.then(() =>
      ledger.transaction(async () => {
        for (const line of batch) await ledger.runs.appendLog(id, line.stream, line.text, line.at);
      }),
    );
    return flushed;
  };
  // A timer's write that fails (the ledger went away) is retried by the next one; the final flush reports it.
  const heartbeat = setInterval(() => void ledger.runs.heartbeat(id, ctx.clock.now()).catch(() => {}), HEARTBEAT_INTERVAL_MS).unref();
  const flusher = setInterval(() => void flush().catch(() => {}), LOG_FLUSH_INTERVAL_MS).unref();

  const run: ActiveRun = {
    id,
    log(stream, text) {
      if (storedBytes > MAX_LOG_BYTES) return;
      storedBytes += text.length;
      const stored = storedBytes > MAX_LOG_BYTES ? `[log truncated after ${MAX_LOG_BYTES} bytes]` : text;
      pending.push({ stream, text: stored, at: ctx.clock.now() });
    },
  };

  try {
    const outcome = await work(run);
    await flush();
    // A run the signal path took (no longer active) is already marked interrupted.
    if (ctx.activeRuns.has(id)) await ledger.runs.finish(id, outcome, ctx.clock.now());
    return { ...outcome, runId: id };
  } catch (err) {
    await flush().catch(() => {});
    if (ctx.activeRuns.has(id)) await ledger.runs.finish(id, { status: 'failed', exitCode: 1, error: (err as Error).message ?? String(err) }, ctx.clock.now());
    throw err;
  } finally {
    clearInterval(heartbeat);
    clearInterval(flusher);
    ctx.activeRuns.delete(id);
  }
}

export interface ChildOutput {
  write(stream: 'stdout' | 'stderr', text: string): void;
  /** Let out what the streams still hold (the child has exited). */
  end(): void;
}

/**
 * A child process's output, for the terminal (`echo`) and the run's log alike: one redaction
 * stream per output stream, so that a secret split across two chunks is caught in both.
 */
export function childOutput(ctx: Context, run: ActiveRun, echo: (stream: 'stdout' | 'stderr', text: string) => void): ChildOutput {
  const streams = {
    stdout: new RedactionStream(ctx.secrets, (text) => (echo('stdout', text), run.log('stdout', text))),
    stderr: new RedactionStream(ctx.secrets, (text) => (echo('stderr', text), run.log('stderr', text))),
  };
  return {
    write: (stream, text) => streams[stream].write(text),
    end: () => (streams.stdout.end(), streams.stderr.end()),
  };
}

const SINCE_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: a duration back from now ("2h", "7d") or an ISO date. */
export function parseSince(value: string, nowMs: number): number {
  const relative = /^(\d+)([smhdw])$/.exec(value);
  if (relative) return nowMs - Number(relative[1]) * SINCE_UNITS_MS[relative[2]!]!;
  const absolute = Date.parse(value);
  if (Number.isNaN(absolute)) throw new UsageError(`--since ${quote(value)} is neither a duration nor a date`, 'use a duration like 2h or 7d, or a date like 2026-01-31');
  return absolute;
}

/** Run kinds: a word such as build, deploy, exec or db-migrate (they fill a column of `ops runs list`). */
export const KIND_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export function parseKind(value: string | undefined): string | undefined {
  if (value === undefined || KIND_PATTERN.test(value)) return value;
  throw new UsageError(`--kind ${quote(value)} is not a valid kind`, 'use letters, digits, dots, dashes, colons and underscores, at most 64 (like db-migrate); no spaces or control characters');
}

export function parseStatus(value: string | undefined): RunStatus | undefined {
  if (value === undefined) return undefined;
  if (!(RUN_STATUSES as readonly string[]).includes(value)) {
    throw new UsageError(`unknown status ${quote(value)}`, `use one of ${RUN_STATUSES.join(', ')}`);
  }
  return value as RunStatus;
}

export function listRuns(ctx: Context, filter: RunFilter): Promise<Run[]> {
  return ctx.ledger().runs.list(filter);
}

export async function showRun(ctx: Context, id: number): Promise<{ run: Run; logs: RunLogLine[] }> {
  const run = await ctx.ledger().runs.get(id);
  if (!run) throw new NotFoundError(`run ${id} does not exist`, 'list runs with `ops runs list`');
  return { run, logs: await ctx.ledger().runs.logs(id) };
}
