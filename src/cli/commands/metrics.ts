import type { Command } from 'commander';
import type { MetricsReport } from '../../core/metrics/index.js';
import { action } from '../action.js';
import { helpText } from '../help.js';
import type { CliOutput } from '../output.js';

export interface WindowOptions {
  since?: string;
  until?: string;
  service?: string;
  env?: string;
  by?: string;
}

/** The window flags `ops metrics`, `ops report` and `ops ui` share. */
export function windowOptions(command: Command): Command {
  return command
    .option('--since <when>', 'start of the window: a duration back from now (30d, 12w) or a date', '30d')
    .option('--until <when>', 'end of the window: a duration back from now or a date (default: now)')
    .option('--service <name>', 'only this service')
    .option('--env <name>', 'the production environment to measure (default: those marked production: true, else named like prod)')
    .option('--by <bucket>', 'series over time by day or week (default: week for windows over 14 days)');
}

type Figures = MetricsReport['keys'];

async function keysTable(out: CliOutput, report: MetricsReport): Promise<string> {
  const { formatters: f } = await import('../../core/report/format.js');
  const k = report.keys;
  const direction = (d: string | null) => (d === 'better' ? out.chalk.green(d) : d === 'worse' ? out.chalk.red(d) : (d ?? '-'));
  const band = (b: string | null) => b ?? 'no data';
  const perWeek = (perDay: number | null) => (perDay == null ? '-' : `${f.num(perDay * 7, 2)}/week`);
  return out.table(
    ['KEY', 'VALUE', 'BAND', 'PREVIOUS', 'TREND'],
    [
      ['deployment frequency', `${perWeek(k.deploymentFrequency.perDay)} (${k.deploymentFrequency.deployments} deployments)`, band(k.deploymentFrequency.band), perWeek(k.deploymentFrequency.trend.previous), direction(k.deploymentFrequency.trend.direction)],
      ['lead time for changes', `${f.duration(k.leadTime.medianMs)} median, ${f.duration(k.leadTime.p90Ms)} p90 (${k.leadTime.changes} commits)`, band(k.leadTime.band), f.duration(k.leadTime.trend.previous), direction(k.leadTime.trend.direction)],
      ['change failure rate', `${f.pct(k.changeFailureRate.rate)} (${k.changeFailureRate.failed} of ${k.changeFailureRate.releases})`, band(k.changeFailureRate.band), f.pct(k.changeFailureRate.trend.previous), direction(k.changeFailureRate.trend.direction)],
      ['time to restore', `${f.duration(k.timeToRestore.medianMs)} median (${k.timeToRestore.restored} restored, ${k.timeToRestore.unrestored} not yet)`, band(k.timeToRestore.band), f.duration(k.timeToRestore.trend.previous), direction(k.timeToRestore.trend.direction)],
    ],
  );
}

async function groupsTable(out: CliOutput, groups: Array<{ service: string; env: string; keys: Figures }>): Promise<string> {
  const { formatters: f } = await import('../../core/report/format.js');
  return out.table(
    ['SERVICE', 'ENV', 'DEPLOYS', 'PER WEEK', 'LEAD TIME', 'FAILURE RATE', 'RESTORE'],
    groups.map((g) => [
      g.service,
      g.env,
      g.keys.deploymentFrequency.deployments,
      f.num(g.keys.deploymentFrequency.perWeek, 2),
      f.duration(g.keys.leadTime.medianMs),
      f.pct(g.keys.changeFailureRate.rate),
      f.duration(g.keys.timeToRestore.medianMs),
    ]),
  );
}

async function humanReport(out: CliOutput, report: MetricsReport, series: boolean): Promise<string> {
  const { formatters: f } = await import('../../core/report/format.js');
  const lines = [
    out.chalk.bold(`${report.environments.join(', ')}${report.service ? ` / ${report.service}` : ''}: ${f.date(report.window.since)} to ${f.date(report.window.until)}, against the ${f.num(report.window.days, 1)} days before`),
    '',
    await keysTable(out, report),
  ];
  if (report.groups.length > 1) lines.push('', await groupsTable(out, report.groups));
  if (series) {
    lines.push(
      '',
      await out.table(
        [report.window.by === 'week' ? 'WEEK OF' : 'DAY', 'DEPLOYS', 'LEAD TIME', 'FAILURE RATE', 'RESTORE'],
        report.series.map((s) => [f.day(s.since), s.deployments, f.duration(s.leadTimeMedianMs), f.pct(s.changeFailureRate), f.duration(s.timeToRestoreMedianMs)]),
      ),
    );
  }
  const r = report.risk;
  lines.push('', out.chalk.bold(`risk scorer: ${r.scored} scored release(s), ${r.failures} failed, AUC ${r.auc == null ? 'n/a' : f.num(r.auc, 3)}`));
  if (r.scored) {
    lines.push(
      await out.table(
        ['THRESHOLD', 'AT OR ABOVE', 'FAILURES CAUGHT', 'PRECISION', 'RECALL'],
        r.thresholds.map((t) => [`${t.name} ${t.threshold}`, t.atOrAbove, t.failuresCaught, f.pct(t.precision), f.pct(t.recall)]),
      ),
      '',
      await out.table(
        ['PREDICTED RISK', 'RELEASES', 'MEAN PREDICTED', 'OBSERVED FAILURE RATE'],
        r.calibration.filter((b) => b.releases).map((b) => [`${f.num(b.from, 1)}-${f.num(b.to, 1)}`, b.releases, f.num(b.meanPredicted, 3), f.pct(b.failureRate)]),
      ),
    );
  }
  return lines.join('\n');
}

export function registerMetrics(program: Command): void {
  windowOptions(
    program
      .command('metrics')
      .alias('dora')
      .description("DORA's four keys (deployment frequency, lead time, change failure rate, time to restore) and the risk scorer's quality"),
  )
    .addHelpText('after', helpText({
      details: `The four keys count production releases (see the README for their definitions and the DORA bands);
each is compared with the window just before. Rollbacks restore service and count as no deployment.`,
      examples: [
        'ops metrics                          the last 30 days of the production environments',
        'ops dora --since 12w --by week       the same command, a quarter by week',
        'ops metrics --env prod --service web --json',
      ],
      exitCodes: { 0: 'measured (also when there is no production release in the window)', 1: 'an unexpected failure (details with --verbose)' },
    }))
    .action(
      action<WindowOptions>(async (ctx, out, options) => {
        const { metrics } = await import('../../core/metrics/index.js');
        const report = await metrics(ctx, options);
        if (options.json) return out.json(report);
        out.result(await humanReport(out, report, options.by !== undefined));
      }),
    );
}
