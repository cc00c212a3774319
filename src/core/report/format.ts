const pad = (n: number) => String(n).padStart(2, '0');

/** How figures read on the page; `raw` is what `data-value` carries, to compare with `ops metrics --json`. */
export const formatters = {
  raw: (value: number | string | null | undefined) => (value == null ? '' : String(value)),
  num: (value: number | null | undefined, digits: number) => (value == null ? '-' : value.toFixed(digits)),
  pct: (rate: number | null | undefined) => (rate == null ? '-' : `${(rate * 100).toFixed(1)}%`),
  duration(ms: number | null | undefined): string {
    if (ms == null) return '-';
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${pad(s % 60)}s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h}h ${pad(m % 60)}m`;
    return `${Math.floor(h / 24)}d ${h % 24}h`;
  },
  date(at: number | string | null | undefined): string {
    if (at == null) return '-';
    const d = new Date(at);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
  },
  day: (at: number | string) => new Date(at).toISOString().slice(0, 10),
};
