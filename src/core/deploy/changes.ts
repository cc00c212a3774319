import type { Release } from '../../ledger/index.js';
import type { Context } from '../context.js';

/** More commits than this in one release are cut to the newest (a history imported at once). */
export const MAX_CHANGES_PER_RELEASE = 10_000;

/**
 * Record the commits a new release carries that no earlier live release of its service and
 * environment carried: lead time for changes runs from each one's author time to the first live
 * release that has it. The first release of a service in an environment is the baseline (like
 * fourkeys, which sees only what was pushed after it was set up): its history counts as no change.
 * Best effort: without the commit in the repository (a shallow clone, an image built elsewhere)
 * nothing is recorded and the deploy goes on.
 */
export async function recordChanges(ctx: Context, release: Release): Promise<number> {
  if (!release.gitSha || release.rollbackTo != null) return 0;
  const store = ctx.ledger().metrics;
  const earlier = await store.liveShas(release.service, release.env, release.revision);
  if (earlier.length === 0) return 0;
  try {
    const commits = await ctx.adapters.git.commitsSince(ctx.root, release.gitSha, earlier, MAX_CHANGES_PER_RELEASE);
    if (commits === null) {
      ctx.output.debug(`lead time: commit ${release.gitSha.slice(0, 12)} is not in ${ctx.root} (a shallow clone?); release ${release.id} records no changes`);
      return 0;
    }
    await store.recordChanges(release.id, commits);
    return commits.length;
  } catch (err) {
    ctx.output.debug(`lead time: cannot list the commits of release ${release.id}: ${(err as Error).message}`);
    return 0;
  }
}
