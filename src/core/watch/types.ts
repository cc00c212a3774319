import type { WatchSourceConfig } from '../config/schema.js';

export type Severity = 'warning' | 'critical';

/** One thing a source found wrong; its fingerprint is service + environment + condition + resource. */
export interface Signal {
  condition: string;
  resource: string;
  severity: Severity;
  message: string;
  details?: Record<string, unknown>;
}

/** A configured source with its ledger key (the fingerprint's source part). */
export interface WatchSource {
  key: string;
  config: WatchSourceConfig;
}

/** What one check of a source found, and what it wants to remember until the next cycle. */
export interface CheckResult<M = unknown> {
  signals: Signal[];
  memory?: M;
}

export function fingerprint(service: string, env: string, condition: string, resource: string): string {
  return [service, env, condition, resource].join('|');
}
