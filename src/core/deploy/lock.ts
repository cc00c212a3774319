import type { Context } from '../context.js';
import { OpsError } from '../../errors.js';
import { isPidAlive, sleep } from '../process.js';
import type { LockHolder, LockOwner } from '../../ledger/index.js';

/** A lock whose heartbeat is older than this is taken over, wherever its owner ran. */
export const LOCK_STALE_AFTER_MS = 120_000;
const HEARTBEAT_INTERVAL_MS = 15_000;
const RETRY_INTERVAL_MS = 250;

export interface HeldLock {
  name: string;
  release(): Promise<void>;
}

function describeHolder(holder: LockHolder, nowMs: number): string {
  const age = Math.round((nowMs - holder.acquiredAt) / 1000);
  return `pid ${holder.pid} on ${holder.host}${holder.runId ? ` (run ${holder.runId})` : ''}, held for ${age} s`;
}

/**
 * Take the named lock in the ledger, waiting up to `timeoutMs` (0: fail at once). A lock left by a
 * dead process is taken over with a warning. While held, a heartbeat keeps it fresh.
 */
export async function acquireLock(ctx: Context, name: string, runId: number | null, timeoutMs: number): Promise<HeldLock> {
  const locks = ctx.ledger().locks;
  const owner: LockOwner = { pid: process.pid, host: ctx.host, runId };
  const deadline = ctx.clock.now() + timeoutMs;
  let waiting = false;
  for (;;) {
    const attempt = await locks.tryAcquire(name, owner, isPidAlive, LOCK_STALE_AFTER_MS);
    if (attempt.acquired) {
      if (attempt.tookOverFrom) {
        ctx.output.warn(`took over lock ${name} from ${describeHolder(attempt.tookOverFrom, attempt.nowMs)}: ${attempt.staleReason}`);
      }
      break;
    }
    if (ctx.clock.now() >= deadline || ctx.cancel.aborted) {
      throw new OpsError(
        `another deploy holds ${name}: ${describeHolder(attempt.holder, attempt.nowMs)}`,
        timeoutMs ? 'try again when it has finished' : 'wait for it, or pass --lock-timeout 5m to wait here',
      );
    }
    if (!waiting) {
      ctx.output.info(`waiting for lock ${name}, held by ${describeHolder(attempt.holder, attempt.nowMs)}`);
      waiting = true;
    }
    await sleep(RETRY_INTERVAL_MS, ctx.cancel);
  }
  const heartbeat = setInterval(() => {
    // A heartbeat that cannot reach the ledger is retried by the next one.
    void locks
      .heartbeat(name, owner)
      .then((ours) => ours || ctx.output.warn(`lock ${name} was taken over by another process`))
      .catch(() => {});
  }, HEARTBEAT_INTERVAL_MS).unref();
  return {
    name,
    async release() {
      clearInterval(heartbeat);
      await locks.release(name, owner);
    },
  };
}
