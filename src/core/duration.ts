const UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** "500ms", "30s", "10m", "1h", or a bare number of seconds, in milliseconds; undefined if malformed. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value * 1000 : undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const match = DURATION_PATTERN.exec(value);
  return match ? Number(match[1]) * UNITS_MS[match[2] as keyof typeof UNITS_MS] : undefined;
}
