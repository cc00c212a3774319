import type { Command } from 'commander';
import { action } from '../action.js';
import { helpText, withHelp } from '../help.js';
import { fieldFormatter, formatTime as when, nameFlag, positiveInt } from '../format.js';
import { incidentTable } from './watch.js';


export function registerIncident(program: Command): void {
  const incident = withHelp(program.command('incident').description('list, inspect, acknowledge and resolve incidents opened by ops watch'), {
    examples: ['ops incident list --state unresolved', 'ops incident show 12', 'ops incident resolve 12 --cause release:41 --note "rolled back"'],
  });

  incident
    .command('list')
    .description('incidents, newest first')
    .option('--state <state>', 'open, acknowledged, resolved, or unresolved (open or acknowledged)')
    .option('--service <name>', 'only this service', nameFlag)
    .option('--env <name>', 'only this environment', nameFlag)
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .addHelpText('after', helpText({
      examples: ['ops incident list --state unresolved', 'ops incident list --service web --json'],
      exitCodes: { 0: 'listed (also when there is none)', 1: 'an unexpected failure (details with --verbose)' },
    }))
    .action(
      action<{ state?: string; service?: string; env?: string; limit: number }>(async (ctx, out, options) => {
        const { listIncidents, parseState } = await import('../../core/watch/manage.js');
        const list = await listIncidents(ctx, { state: parseState(options.state), service: options.service, env: options.env, limit: options.limit });
        if (options.json) return out.json(list);
        if (list.length === 0) return out.info('no incidents');
        out.result(await incidentTable(out, list));
      }, { readOnly: true }),
    );

  incident
    .command('show')
    .description('one incident: its signals, timeline, suspected releases and notifications')
    .argument('<id>', 'incident id', positiveInt)
    .addHelpText('after', helpText({
      examples: ['ops incident show 12', 'ops incident show 12 --json'],
      exitCodes: { 1: 'no incident with that id' },
    }))
    .action(
      action<object, [number]>(async (ctx, out, options, id) => {
        const { showIncident } = await import('../../core/watch/manage.js');
        const detail = await showIncident(ctx, id);
        if (options.json) return out.json(detail);
        const i = detail.incident;
        const field = fieldFormatter(out.chalk, 12);
        const lines = [
          field('incident', `#${i.id} ${i.title}`),
          field('state', i.state),
          field('severity', i.severity),
          field('service', `${i.service} in ${i.env}`),
          field('began', when(i.beganAt)),
          field('opened', when(i.openedAt)),
          field('last seen', when(i.lastSeenAt)),
          field('signals', i.signalCount),
        ];
        if (i.acknowledgedAt) lines.push(field('acknowledged', `${when(i.acknowledgedAt)} by ${i.acknowledgedBy}`));
        if (i.resolvedAt) lines.push(field('resolved', `${when(i.resolvedAt)} by ${i.resolvedBy}`));
        if (i.cause) lines.push(field('cause', i.cause));
        if (i.note) lines.push(field('note', i.note));
        if (i.recurrenceOf) lines.push(field('recurrence', `of incident #${i.recurrenceOf}`));
        lines.push('', out.chalk.bold('signals:'));
        lines.push(await out.table(['CONDITION', 'RESOURCE', 'COUNT', 'FIRST', 'LAST', 'CLEARED', 'MESSAGE'], detail.signals.map((s) => [s.condition, s.resource, s.count, when(s.firstSeenAt), when(s.lastSeenAt), when(s.clearedAt), s.message])));
        lines.push('', out.chalk.bold('suspected deploys:'));
        lines.push(
          detail.suspects.length
            ? await out.table(
                ['RANK', 'RELEASE', 'SERVICE', 'REVISION', 'BEFORE', 'RISK', 'SCORE', 'IMAGE'],
                detail.suspects.map((s) => [s.rank, s.releaseId, s.release?.service ?? null, s.release?.revision ?? null, `${Math.round(s.beforeMs / 60_000)} min`, s.risk === null ? '-' : s.risk.toFixed(2), s.score.toFixed(2), s.release?.image ?? null]),
              )
            : 'none within the correlation window',
        );
        lines.push('', out.chalk.bold('timeline:'));
        for (const e of detail.timeline) lines.push(`  ${when(e.at)}  ${e.kind}${e.data ? `  ${Object.entries(e.data).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : ''}`);
        if (detail.notifications.length) {
          lines.push('', out.chalk.bold('notifications:'));
          for (const n of detail.notifications) lines.push(`  ${when(n.at)}  ${n.event} ${n.status} after ${n.attempts} attempt(s)${n.error ? `: ${n.error}` : ''}`);
        }
        out.result(lines.join('\n'));
      }, { readOnly: true }),
    );

  incident
    .command('ack')
    .description('acknowledge an open incident (someone is on it)')
    .argument('<id>', 'incident id', positiveInt)
    .addHelpText('after', helpText({
      examples: ['ops incident ack 12'],
      exitCodes: { 1: 'no incident with that id' },
    }))
    .action(
      action<object, [number]>(async (ctx, out, options, id) => {
        const { acknowledgeIncident } = await import('../../core/watch/manage.js');
        const updated = await acknowledgeIncident(ctx, id);
        if (options.json) return out.json(updated);
        out.result(`incident #${id} acknowledged by ${updated.acknowledgedBy}`);
      }),
    );

  incident
    .command('resolve')
    .description('resolve an incident, naming its cause')
    .argument('<id>', 'incident id', positiveInt)
    .option('--cause <cause>', 'release:<id> (a release in the ledger: its commits become risk labels) or a short text')
    .option('--note <text>', 'what was done')
    .addHelpText('after', helpText({
      examples: [
        'ops incident resolve 12 --cause release:41 --note "rolled back"',
        'ops incident resolve 13 --cause "disk full on node-3"',
      ],
      exitCodes: { 1: 'no incident with that id, or --cause names a release that is not recorded' },
    }))
    .action(
      action<{ cause?: string; note?: string }, [number]>(async (ctx, out, options, id) => {
        const { resolveIncident } = await import('../../core/watch/manage.js');
        const updated = await resolveIncident(ctx, id, options);
        if (options.json) return out.json(updated);
        out.result(`incident #${id} resolved${updated.cause ? `; cause: ${updated.cause}` : ''}`);
      }),
    );
}
