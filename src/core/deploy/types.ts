/** What a target reports after trying to roll a release out. */
export type TargetOutcome =
  | { ok: true; message: string; details: Record<string, unknown> }
  | {
      ok: false;
      error: string;
      /** The failing container's last output lines. */
      logTail: string[];
      details: Record<string, unknown>;
      /** Set when the target undid the rollout itself (Kubernetes autoRollback). */
      rolledBack?: { ok: boolean; message: string };
    };
