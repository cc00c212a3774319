import type { RiskVerdict } from '../../ledger/index.js';
import type { OpsConfig } from '../config/schema.js';
import type { Context } from '../context.js';
import { ExitCode, OpsError } from '../errors.js';

/** Asks the person at the terminal whether to go on (provided by the CLI when interactive). */
export type RiskConfirm = (message: string) => Promise<boolean>;

/** The risk scorer's verdict on this deploy; "not scored" until a risk model is promoted. */
export async function riskVerdict(_ctx: Context, _service: string, _env: string): Promise<RiskVerdict> {
  return { status: 'not scored', reason: 'no risk model is promoted yet' };
}

/**
 * Warn above `risk.warn`; above `risk.block` stop unless the risk is accepted: by `--accept-risk
 * "<reason>"`, or by the person at the terminal. Non-interactive runs exit 3.
 */
export async function applyRiskGate(ctx: Context, verdict: RiskVerdict, thresholds: OpsConfig['risk'], acceptRisk?: string, confirm?: RiskConfirm): Promise<RiskVerdict> {
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
    throw new OpsError(`deploy stopped: ${shown}`, ExitCode.gate);
  }
  throw new OpsError(`deploy blocked: ${shown} is above risk.block ${thresholds.block}`, ExitCode.gate, 'pass --accept-risk "<reason>" to deploy anyway (the reason is recorded)');
}
