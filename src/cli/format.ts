import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../core/duration.js';
import { hasControl } from '../errors.js';
import type { Styles } from './output.js';

/** A "show" command's `name  value` lines: the name bold and padded to `width`, a missing value as -. */
export function fieldFormatter(chalk: Styles, width: number): (name: string, value: unknown) => string {
  return (name, value) => `${chalk.bold(name.padEnd(width))} ${value ?? '-'}`;
}

/**
 * A time in a table or a show command: UTC to the second, marked Z (2026-01-31 12:00:00Z), the same
 * in every command whether the ledger gave an ISO string or epoch milliseconds.
 */
export function formatTime(value: string | number | null | undefined): string {
  if (value == null) return '-';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 19)}Z`;
}

/** How long ago: 45s, 12m, 3h, 2d. */
export function formatAge(value: string | number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - new Date(value).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

export function formatDuration(ms: number | null): string {
  if (ms == null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

/** How many at once (--parallel): 1 to 32. */
export function concurrencyFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new InvalidArgumentError('expected a whole number from 1 to 32');
  return n;
}

/** A duration flag: "0", "30s", "5m", "1h", "500ms". */
export function durationFlag(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 0, 30s, 5m or 1h');
  return ms;
}

/** A service or environment name given on the command line: never with control characters (a newline would break tables and error lines). */
export function nameFlag(value: string): string {
  if (hasControl(value)) throw new InvalidArgumentError('a name cannot contain control characters (newlines, tabs, escapes)');
  return value;
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];
