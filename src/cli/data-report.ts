import type { CheckReport } from '../core/data/index.js';
import type { ColumnProfile, DatasetProfile } from '../core/data/profile.js';
import type { DriftReport } from '../core/data/drift.js';
import type { CliOutput } from './output.js';

const num = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? '-' : Math.abs(n) >= 1e6 || (n !== 0 && Math.abs(n) < 1e-3) ? n.toExponential(3) : Number(n.toPrecision(5)).toString());
const pvalue = (p: number | null) => (p == null ? '-' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
const clip = (text: string, width = 24) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

function top(column: ColumnProfile): string {
  const values = column.categories?.values ?? [];
  if (values.length === 0 || column.numeric) return '-';
  return values.slice(0, 3).map(([v, n]) => `${clip(v, 14)} (${n})`).join(', ');
}

const distinct = (c: ColumnProfile) => `${c.distinct}${c.distinctExact ? '' : '~'}`;

function profileRows(profile: DatasetProfile): Array<Array<string | number>> {
  return profile.columns.map((c) => [
    c.name,
    c.type,
    c.count,
    c.nulls,
    distinct(c),
    num(c.numeric?.min) !== '-' ? num(c.numeric?.min) : c.timestamps?.min ?? '-',
    num(c.numeric?.mean),
    num(c.numeric?.std),
    num(c.numeric?.quantiles.p50),
    num(c.numeric?.max) !== '-' ? num(c.numeric?.max) : c.timestamps?.max ?? '-',
    top(c),
  ]);
}

const PROFILE_HEAD = ['COLUMN', 'TYPE', 'COUNT', 'NULLS', 'DISTINCT', 'MIN', 'MEAN', 'STD', 'P50', 'MAX', 'TOP'];

const summaryLine = (p: DatasetProfile) => `${p.source.path}: ${p.rows} rows, ${p.columns.length} columns (${p.source.format}${p.source.files > 1 ? `, ${p.source.files} files` : ''}), ${p.source.digest}`;

export async function profileText(out: CliOutput, profile: DatasetProfile): Promise<string> {
  return [summaryLine(profile), await out.table(PROFILE_HEAD, profileRows(profile))].join('\n');
}

function markdownTable(head: string[], rows: Array<Array<string | number>>): string[] {
  const cell = (v: string | number) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

export function profileMarkdown(profile: DatasetProfile): string {
  return [`## Profile of ${profile.source.path}`, '', `${profile.rows} rows, ${profile.columns.length} columns (${profile.source.format}), \`${profile.source.digest}\``, '', ...markdownTable(PROFILE_HEAD, profileRows(profile)), ''].join('\n');
}

const CHECK_HEAD = ['CHECK', 'EXPECTED', 'OBSERVED', 'RESULT'];
const DRIFT_HEAD = ['COLUMN', 'TYPE', 'TEST', 'STATISTIC', 'P-VALUE', 'THRESHOLD', 'RESULT'];

function driftRows(drift: DriftReport, mark: (drifted: boolean) => string): Array<Array<string | number>> {
  const rows: Array<Array<string | number>> = [];
  for (const c of drift.columns) {
    if (c.tests.length === 0) rows.push([c.column, c.type, '-', '-', '-', '-', `${mark(c.drifted)}${c.note ? ` (${c.note})` : ''}`]);
    for (const t of c.tests) {
      const threshold = t.test === 'chi-squared' ? `p < ${t.threshold}` : t.test === 'ks' ? `D >= ${t.threshold}, p < ${drift.thresholds.pValue}` : `>= ${t.threshold}`;
      rows.push([c.column, c.type, t.test, num(t.statistic), pvalue(t.pValue), threshold, `${mark(t.drifted)}${c.note ? ` (${c.note})` : ''}`]);
    }
  }
  return rows;
}

function verdict(report: CheckReport): string {
  const failed = report.checks.filter((c) => !c.passed).length;
  const drifted = report.drift?.drifted.length ?? 0;
  if (report.passed) return `passed: ${report.checks.length} checks${report.drift ? `, no drift in ${report.drift.columns.length} columns against ${report.reference!.label}` : ''}`;
  const parts = [failed ? `${failed} of ${report.checks.length} checks failed` : '', drifted ? `${drifted} column${drifted === 1 ? '' : 's'} drifted (${report.drift!.drifted.join(', ')})` : ''].filter(Boolean);
  return `FAILED: ${parts.join('; ')}`;
}

export async function checkText(out: CliOutput, report: CheckReport): Promise<string> {
  const { green, red, bold } = out.chalk;
  const sections = [summaryLine(report.profile)];
  if (report.checks.length) {
    sections.push(bold('expectations'), await out.table(CHECK_HEAD, report.checks.map((c) => [c.check, c.expected, c.observed, c.passed ? green('pass') : red('FAIL')])));
  }
  if (report.drift) {
    sections.push(bold(`drift against ${report.reference!.label} (${report.reference!.rows} rows)`), await out.table(DRIFT_HEAD, driftRows(report.drift, (d) => (d ? red('DRIFT') : green('ok')))));
  }
  sections.push(report.passed ? green(verdict(report)) : red(verdict(report)));
  return sections.join('\n');
}

export function checkMarkdown(report: CheckReport): string {
  const lines = [`## Data check of ${report.dataset.path}`, '', `${report.dataset.rows} rows (${report.dataset.format}), \`${report.dataset.digest}\``, '', `**${verdict(report)}**`, ''];
  if (report.checks.length) lines.push('### Expectations', '', ...markdownTable(CHECK_HEAD, report.checks.map((c) => [c.check, c.expected, c.observed, c.passed ? 'pass' : '**FAIL**'])), '');
  if (report.drift) {
    lines.push(`### Drift against ${report.reference!.label}`, '', `Reference: ${report.reference!.rows} rows, \`${report.reference!.digest}\``, '', ...markdownTable(DRIFT_HEAD, driftRows(report.drift, (d) => (d ? '**DRIFT**' : 'ok'))), '');
  }
  return lines.join('\n');
}
