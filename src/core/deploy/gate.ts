import type { RiskVerdict } from '../../ledger/index.js';
import type { OpsConfig } from '../config/schema.js';
import type { Context } from '../context.js';
import { GateBlockedError } from '../../errors.js';

/** Asks the person at the terminal whether to go on (provided by the CLI when interactive). */
export type RiskConfirm = (message: string) => Promise<boolean>;

/**
 * The risk scorer's verdict on this deploy: the commits from the service's live release in this
 * environment to the commit the image was built from, scored by the `risk-scorer` version at
 * `risk.alias`. "Not scored" (with the reason) when no version holds the alias, when the image
 * names no commit, outside a git work tree, or with no new commit.
 */
export async function riskVerdict(ctx: Context, service: string, env: string, shipping: { image: string; revision: string | null }): Promise<RiskVerdict> {
  const ledger = ctx.ledger();
  const alias = ctx.config?.risk.alias ?? 'production';
  if ((await ledger.models.aliasHolder('risk-scorer', alias)) == null) return { status: 'not scored', reason: `no risk-scorer version holds the alias "${alias}"` };
  if (!shipping.revision) return { status: 'not scored', reason: `${shipping.image} names no commit (no org.opencontainers.image.revision label, no recorded build)` };
  const { deployRange, scoreRange } = await import('../risk/index.js');
  const range = await deployRange(ctx, service, env, shipping.revision);
  if ('reason' in range) return { status: 'not scored', reason: range.reason };
  try {
    const score = await scoreRange(ctx, ctx.root, range.range, { service, env });
    return { status: 'scored', probability: score.probability, level: score.level, reason: score.reasons.slice(0, 3).join('; '), scoreId: score.id, model: score.model };
  } catch (err) {
    return { status: 'not scored', reason: `the risk scorer failed: ${(err as Error).message}` };
  }
}

/**
 * Warn above `risk.warn`; above `risk.block` stop unless the risk is accepted: by `--accept-risk
 * "<reason>"`, or by the person at the terminal. Non-interactive runs exit 3.
 */
export async function applyRiskGate(ctx: Context, verdict: RiskVerdict, thresholds: Pick<OpsConfig['risk'], 'warn' | 'block'>, acceptRisk?: string, confirm?: RiskConfirm): Promise<RiskVerdict> {
  if (verdict.status !== 'scored' || verdict.probability == null) return acceptRisk ? { ...verdict, accepted: acceptRisk } : verdict;
  const shown = `risk ${verdict.probability.toFixed(2)} (${verdict.level ?? 'unrated'})${verdict.reason ? `: ${verdict.reason}` : ''}`;
  if (verdict.probability < thresholds.warn) return verdict;
  if (verdict.probability < thresholds.block) {
    ctx.output.warn(`${shown}; above risk.warn ${thresholds.warn}`);
    return acceptRisk ? { ...verdict, accepted: acceptRisk } : verdict;
  }
  if (acceptRisk) {
    ctx.output.warn(`${shown}; above risk.block ${thresholds.block}, accepted: ${acceptRisk}`);
    return { ...verdict, accepted: acceptRisk };
  }
  if (ctx.interactive && confirm) {
    if (await confirm(`This deploy's ${shown} is above risk.block ${thresholds.block}. Deploy anyway?`)) {
      return { ...verdict, accepted: `confirmed at the terminal by ${ctx.actor}` };
    }
    throw new GateBlockedError(`deploy stopped: ${shown}`);
  }
  throw new GateBlockedError(`deploy blocked: ${shown} is above risk.block ${thresholds.block}`, 'pass --accept-risk "<reason>" to deploy anyway (the reason is recorded)');
}
