import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { ExitCode, UsageError } from '../../errors.js';
import { action } from '../action.js';
import { helpText } from '../help.js';
import type { CliOutput } from '../output.js';
import { durationFlag, formatTime } from '../format.js';
import type { CycleReport } from '../../core/watch/index.js';
import type { Incident } from '../../ledger/index.js';

interface WatchOptions {
  once?: boolean;
  listen?: { host: string; port: number };
  interval?: number;
}

/** "127.0.0.1:9095", ":9095" (all interfaces) or "[::1]:9095". */
export function listenAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new InvalidArgumentError('expected host:port, such as 127.0.0.1:9095 or :9095');
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export async function incidentTable(out: CliOutput, incidents: Incident[]): Promise<string> {
  return out.table(
    ['ID', 'STATE', 'SERVICE', 'ENV', 'SEVERITY', 'OPENED', 'SIGNALS', 'TITLE'],
    incidents.map((i) => [i.id, i.state, i.service, i.env, i.severity, formatTime(i.openedAt), i.signalCount, i.title]),
  );
}

async function printCycle(out: CliOutput, report: CycleReport): Promise<void> {
  const sources = await out.table(
    ['SOURCE', 'STATUS', 'SIGNALS', 'MS'],
    report.sources.map((s) => [s.source, s.ok ? out.chalk.green('ok') : out.chalk.red(`error: ${s.error}`), s.signals.map((x) => x.condition).join(', ') || '-', s.durationMs]),
  );
  const parts = [sources];
  if (report.open.length) parts.push('', out.chalk.bold(`${report.open.length} unresolved incident(s):`), await incidentTable(out, report.open));
  else parts.push('', 'no unresolved incidents');
  out.result(parts.join('\n'));
}

export function registerWatch(program: Command): void {
  const watch = program
    .command('watch')
    .description('poll the configured sources, open and resolve incidents, receive Alertmanager webhooks')
    .option('--once', 'run one cycle and exit: 0 when no incident is unresolved, 1 when any is (for cron and CI)')
    .option('--listen <host:port>', 'receive Alertmanager webhooks (version 4), and predictions made elsewhere, on this address', listenAddress)
    .option('--interval <duration>', 'time between cycles (default: watch.interval, 30s); with --once, how often cron runs it: events and points newer than that are news', durationFlag)
    .addHelpText('after', helpText({
      details: `Sources come from watch.sources in the config: docker, kubernetes, http, prometheus and model
(\`ops model monitor\` of a live model: drift or decay past models.monitor). A signal
opens an incident after the source's minCount signals or its 'for' duration; signals of one service
within watch.groupWindow join one incident; an incident resolves after its sources have been
healthy for watch.resolveAfter. An unreachable source is recorded as a source error, not an incident.
On every interface (not only loopback) --listen requires a shared secret (watch.listen), e.g.
OPS_WATCH__LISTEN__TOKEN=$(cat /run/secrets/am-token) ops watch --listen :9095. It also takes
predictions made elsewhere at watch.listen.predictions (POST /predictions, JSON Lines with "model").`,
      examples: [
        'ops watch --once                     one cycle, exit 1 while any incident is unresolved',
        'ops watch --once --json              the cycle as JSON: sources, signals, opened, resolved, open',
        'ops watch --interval 15s             poll until SIGINT/SIGTERM (stops between cycles)',
        'ops watch --once --interval 5m       from a cron job that runs every 5 minutes',
        'ops watch --listen 127.0.0.1:9095    also take Alertmanager webhooks (POST /alerts, JSON, 1 MiB at most)',
      ],
      exitCodes: { 0: '--once: no unresolved incident; without --once: stopped by SIGINT/SIGTERM after its cycle', 1: '--once: at least one incident is open or acknowledged' },
    }))
    .action(
      action<WatchOptions>(async (ctx, out, options) => {
        const config = ctx.requireConfig();
        if (options.once && options.listen) throw new UsageError('--once and --listen do not go together', 'use --listen for a long-running receiver, --once for one cycle');
        if (!options.listen && config.watch.sources.length === 0) {
          throw new UsageError('no watch sources configured', 'add watch.sources to the config (see ops.config.example.yaml), or pass --listen host:port for Alertmanager webhooks');
        }
        const { runCycle, watchLoop } = await import('../../core/watch/index.js');
        if (options.once) {
          const report = await runCycle(ctx, { intervalMs: options.interval });
          if (options.json) out.json(report);
          else await printCycle(out, report);
          return report.open.length > 0 ? ExitCode.failed : ExitCode.ok;
        }
        let server: { url: string; close(): Promise<void> } | undefined;
        if (options.listen) {
          const { startIntake } = await import('../../core/watch/intake.js');
          server = await startIntake(ctx, options.listen);
          const listen = ctx.requireConfig().watch.listen;
          out.info(`listening for Alertmanager webhooks on ${server.url}${listen.path} (and predictions on ${listen.predictions})`);
        }
        try {
          if (config.watch.sources.length === 0) {
            await new Promise<void>((resolve) => (ctx.cancel.aborted ? resolve() : ctx.cancel.addEventListener('abort', () => resolve(), { once: true })));
          } else {
            await watchLoop(ctx, options.interval ?? config.watch.interval, (report) => {
              if (options.json) out.json(report, true);
              const errors = report.sources.filter((s) => !s.ok).length;
              out.info(`${report.at} ${report.sources.length} source(s) checked in ${report.durationMs} ms${errors ? `, ${errors} failed` : ''}; ${report.open.length} unresolved incident(s)`);
            });
          }
        } finally {
          await server?.close();
        }
        out.info('stopped');
      }, { graceful: true }),
    );

  watch
    .command('eval')
    .description("score the anomaly detector on the Numenta Anomaly Benchmark (NAB's scoring, three profiles)")
    .requiredOption('--nab <dir>', 'a NAB checkout: data/<category>/*.csv and labels/combined_windows.json')
    .option('--out <dir>', "also write per-file results in NAB's layout: <out>/<detector>/<category>/<detector>_<file>.csv")
    .addHelpText('after', helpText({
      details: `Scores are normalised as NAB does: the null detector scores 0, the perfect one 100; the threshold
is the one that maximises each profile's score over all files.`,
      examples: [
        'ops watch eval --nab ../shared/data/nab',
        'ops watch eval --nab ../NAB --out results --json',
      ],
      exitCodes: { 0: 'scored', 1: 'the evaluation failed' },
    }))
    .action(
      action<{ nab: string; out?: string }>(async (ctx, out, options) => {
        const { resolve } = await import('node:path');
        const { evaluateNab } = await import('../../core/watch/nab-eval.js');
        const evaluation = await out.step('running the detector over NAB', () => evaluateNab(resolve(ctx.cwd, options.nab), options.out ? resolve(ctx.cwd, options.out) : undefined));
        if (options.json) return out.json(evaluation);
        out.result(
          [
            `${evaluation.detector}: ${evaluation.files} files, ${evaluation.points} points, detector ${Math.round(evaluation.detectMs)} ms`,
            await out.table(
              ['PROFILE', 'SCORE', 'THRESHOLD', 'TP', 'FP', 'FN'],
              evaluation.profiles.map((p) => [p.profile, p.score.toFixed(1), p.threshold.toFixed(3), p.tp, p.fp, p.fn]),
            ),
          ].join('\n'),
        );
      }),
    );
}
