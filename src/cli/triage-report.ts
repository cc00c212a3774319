import type { Styles } from './output.js';
import type { Evidence } from '../core/triage/evidence.js';
import type { Hypothesis } from '../core/triage/rules.js';
import { formatBytes } from '../core/triage/rules.js';
import { formatTime } from './format.js';

export interface RenderedReport {
  incidentId: number;
  evidence: Evidence;
  hypotheses: Hypothesis[];
}

const LOG_LINES_SHOWN = 5;
const percent = (p: number) => `${Math.round(p * 100)}%`;

interface Style {
  heading(text: string): string;
  subheading(text: string): string;
  item(text: string, depth?: number): string;
  code(text: string): string;
  block(lines: string[]): string[];
  emphasis(text: string): string;
}

const markdownStyle: Style = {
  heading: (text) => `## ${text}`,
  subheading: (text) => `### ${text}`,
  item: (text, depth = 0) => `${'  '.repeat(depth)}- ${text}`,
  code: (text) => `\`${text.replace(/`/g, "'")}\``,
  block: (lines) => (lines.length ? ['```', ...lines, '```'] : []),
  emphasis: (text) => `**${text}**`,
};

const terminalStyle = (chalk: Styles): Style => ({
  heading: (text) => chalk.bold(text),
  subheading: (text) => chalk.cyan(text),
  item: (text, depth = 0) => `${'  '.repeat(depth + 1)}${text}`,
  code: (text) => chalk.cyan(text),
  block: (lines) => lines.map((l) => chalk.dim(`      ${l}`)),
  emphasis: (text) => chalk.bold(text),
});

function hypothesesSection(s: Style, report: RenderedReport): string[] {
  const lines = [s.heading('Hypotheses, most likely first (none is certain)'), ''];
  if (report.hypotheses.length === 0) return [...lines, s.item('no rule matched the evidence: read the evidence below'), ''];
  for (const h of report.hypotheses) {
    lines.push(s.item(`${h.rank}. ${s.emphasis(h.title)} (${percent(h.confidence)}, ${h.cause})`));
    for (const e of h.evidence) lines.push(s.item(e, 1));
    for (const a of h.actions) lines.push(s.item(`action ${a.n}: ${a.title}: ${s.code(a.command)}`, 1));
  }
  const first = report.hypotheses.flatMap((h) => h.actions).find((a) => a.spec.kind !== 'manual');
  if (first) lines.push('', `Apply an action: ${s.code(`ops triage ${report.incidentId} --apply ${first.n} --yes`)}`);
  return [...lines, ''];
}

function evidenceSection(s: Style, e: Evidence): string[] {
  const lines = [s.heading('Evidence'), ''];
  lines.push(s.subheading('Signals'));
  for (const g of e.signals) lines.push(s.item(`${g.condition} ${g.resource}: ${g.message} (x${g.count}${g.cleared ? ', cleared' : ''})`));
  if (e.containers.length) {
    lines.push('', s.subheading('Containers'));
    for (const c of e.containers) {
      const memory = `memory limit ${c.memoryLimit ? formatBytes(c.memoryLimit) : 'none'}${c.memoryUsage != null ? `, using ${formatBytes(c.memoryUsage)}` : ''}`;
      lines.push(s.item(`${c.name} (r${c.revision ?? '?'}, ${c.image}): ${c.status}, exit code ${c.exitCode}, ${c.restartCount} restarts${c.oomKilled ? ', OOMKilled' : ''}${c.health ? `, ${c.health}` : ''}; ${memory}`));
      if (c.error) lines.push(s.item(`engine error: ${c.error}`, 1));
      for (const h of c.healthLog.filter((h) => h.exitCode !== 0).slice(-2)) lines.push(s.item(`health probe (exit ${h.exitCode}): ${h.output}`, 1));
      lines.push(...s.block(c.logs.slice(-LOG_LINES_SHOWN)));
    }
  }
  if (e.kubernetes) {
    lines.push('', s.subheading(`Kubernetes (namespace ${e.kubernetes.namespace})`));
    for (const p of e.kubernetes.pods) {
      lines.push(s.item(`pod ${p.name}: ${p.phase}`));
      for (const c of p.containers) {
        const state = c.waiting ? `waiting: ${c.waiting.reason}` : c.terminated ? `terminated: ${c.terminated.reason} (exit ${c.terminated.exitCode})` : c.ready ? 'ready' : 'not ready';
        lines.push(s.item(`${c.name} (${c.image}): ${state}, ${c.restarts} restarts${c.lastTerminated ? `, last ${c.lastTerminated.reason} (exit ${c.lastTerminated.exitCode})` : ''}`, 1));
        lines.push(...s.block((c.previousLogs.length ? c.previousLogs : c.logs).slice(-LOG_LINES_SHOWN)));
      }
    }
    for (const ev of e.kubernetes.events.slice(-8)) lines.push(s.item(`event ${ev.type} ${ev.reason} ${ev.object}: ${ev.message}${ev.count > 1 ? ` (x${ev.count})` : ''}`));
  }
  lines.push('', s.subheading('Suspected releases'));
  if (e.releases.length === 0) lines.push(s.item(`none within ${Math.round(e.correlationWindowMs / 60_000)} min before the incident`));
  for (const r of e.releases) {
    lines.push(s.item(`#${r.rank} r${r.revision} ${r.image} (${r.status}, ${r.description}), commit ${r.gitSha?.slice(0, 12) ?? 'unknown'}`));
    lines.push(s.item(r.risk ? `risk ${r.risk.probability.toFixed(2)} (${r.risk.level}) by ${r.risk.model ?? 'the scorer'}${r.risk.reasons.length ? `: ${r.risk.reasons.join('; ')}` : ''}` : 'not risk-scored', 1));
    lines.push(s.item(r.gate.overridden ? `gate overridden: ${r.gate.reason}` : 'gate not overridden', 1));
    if (r.diff) lines.push(s.item(`since r${r.previous!.revision}: ${r.diff.stat}: ${r.diff.files.map((f) => f.path).join(', ') || 'no file'}`, 1));
    else if (r.diffError) lines.push(s.item(r.diffError, 1));
  }
  lines.push('', s.subheading('Model alias moves before the incident'));
  if (e.modelMoves.length === 0) lines.push(s.item('none'));
  for (const m of e.modelMoves) lines.push(s.item(`${m.at} ${m.model}@${m.alias}: v${m.fromVersion ?? '-'} -> v${m.toVersion ?? '-'} by ${m.actor}${m.reason ? ` (${m.reason})` : ''}`));
  lines.push('', s.subheading('Configuration changes between releases'));
  if (e.configChanges.length === 0) lines.push(s.item('none'));
  for (const c of e.configChanges) lines.push(s.item(`r${c.fromRevision} -> r${c.toRevision}: ${c.fromHash} -> ${c.toHash}`));
  return lines;
}

function render(s: Style, report: RenderedReport): string {
  const i = report.evidence.incident;
  const title = `Incident #${i.id}: ${i.title}`;
  const header = [s === markdownStyle ? `# ${title}` : s.heading(title), '', `${i.state}, ${i.severity}, began ${formatTime(i.beganAt)}, target ${report.evidence.target}`, ''];
  return [...header, ...hypothesesSection(s, report), ...evidenceSection(s, report.evidence)].join('\n');
}

/** For pasting into a ticket: deterministic for the same stored report (no timings). */
export const renderMarkdown = (report: RenderedReport) => `${render(markdownStyle, report)}\n`;

export const renderTerminal = (report: RenderedReport, chalk: Styles) => render(terminalStyle(chalk), report);
