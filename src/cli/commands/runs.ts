import type { Command } from 'commander';
import { listRuns, parseKind, parseSince, parseStatus, showRun } from '../../core/runs.js';
import { action } from '../action.js';
import { helpText, withHelp } from '../help.js';
import { fieldFormatter, formatDuration, formatTime, positiveInt } from '../format.js';

interface ListOptions {
  kind?: string;
  status?: string;
  since?: string;
  limit: number;
}

export function registerRuns(program: Command): void {
  const runs = withHelp(program.command('runs').description('list and inspect recorded runs'), {
    examples: ['ops runs list --status failed --since 7d', 'ops runs show 42 --json'],
  });

  runs
    .command('list')
    .description('list runs, newest first')
    .option('--kind <kind>', 'only runs of this kind (build, deploy, exec, ...)')
    .option('--status <status>', 'only runs with this status: running, succeeded, failed, interrupted')
    .option('--since <when>', 'only runs started since a duration ago (2h, 7d) or a date (2026-01-31)')
    .option('--limit <n>', 'at most this many runs', positiveInt, 20)
    .addHelpText('after', helpText({
      examples: ['ops runs list --status failed --since 7d', 'ops runs list --kind exec --limit 5 --json'],
      exitCodes: { 0: 'listed (also when no run matches)', 1: 'an unexpected failure (details with --verbose)' },
    }))
    .action(
      action<ListOptions>(async (ctx, out, options) => {
        const filter = {
          kind: parseKind(options.kind),
          status: parseStatus(options.status),
          sinceMs: options.since ? parseSince(options.since, ctx.clock.now()) : undefined,
          limit: options.limit,
        };
        const list = await listRuns(ctx, filter);
        if (options.json) return out.json(list);
        if (list.length === 0) return out.info('no runs recorded yet');
        out.result(
          await out.table(
            ['ID', 'KIND', 'STATUS', 'STARTED', 'DURATION', 'SERVICE', 'GIT', 'EXIT'],
            list.map((r) => [
              r.id,
              r.kind,
              r.status,
              formatTime(r.startedAt),
              formatDuration(r.durationMs),
              r.service,
              r.git.sha ? `${r.git.sha.slice(0, 8)}${r.git.dirty ? '*' : ''}` : null,
              r.exitCode,
            ]),
          ),
        );
      }, { readOnly: true }),
    );

  runs
    .command('show')
    .description('show one run with its log')
    .argument('<id>', 'run id', positiveInt)
    .addHelpText('after', helpText({ examples: ['ops runs show 42', 'ops runs show 42 --json'], exitCodes: { 1: 'no run with that id' } }))
    .action(
      action<object, [number]>(async (ctx, out, options, id) => {
        const { run, logs } = await showRun(ctx, id);
        if (options.json) return out.json({ ...run, logs });
        const field = fieldFormatter(out.chalk, 10);
        const lines = [
          field('run', run.id),
          field('kind', run.kind),
          field('status', run.status),
          field('started', formatTime(run.startedAt)),
          field('finished', formatTime(run.finishedAt)),
          field('duration', formatDuration(run.durationMs)),
          field('git', run.git.sha ? `${run.git.sha} on ${run.git.branch ?? '(detached)'}${run.git.dirty ? ' (dirty)' : ''}` : null),
          field('actor', `${run.actor}@${run.host} pid ${run.pid}${run.ci ? ' (CI)' : ''}`),
          field('command', run.argv.join(' ')),
          field('exit code', run.exitCode),
        ];
        if (run.service) lines.push(field('service', run.service));
        if (run.env) lines.push(field('env', run.env));
        if (run.error) lines.push(field('error', run.error));
        if (logs.length) lines.push('', out.chalk.bold('log:'), logs.map((l) => l.text).join('').trimEnd());
        out.result(lines.join('\n'));
      }, { readOnly: true }),
    );
}
