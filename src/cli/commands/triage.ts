import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { ExitCode } from '../../errors.js';
import { action } from '../action.js';
import { helpText } from '../help.js';
import { positiveInt } from '../format.js';

interface TriageFlags {
  apply?: number;
  yes?: boolean;
  format?: 'text' | 'markdown' | 'json';
  logLines: number;
}

function logLines(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('expected a whole number from 1 to 100000');
  return n;
}

export function registerTriage(program: Command): void {
  program
    .command('triage')
    .description('gather evidence for an incident, rank its likely causes, propose (or apply) a remediation')
    .argument('[id]', 'incident id (default: the newest unresolved incident)', positiveInt)
    .option('--apply <n>', 'run action n of the report (asks first on a terminal; --yes elsewhere)', positiveInt)
    .option('-y, --yes', 'apply without asking (CI)')
    .addOption(new Option('--format <format>', 'report format (default: text, or json with --json)').choices(['text', 'markdown', 'json']))
    .option('--log-lines <n>', 'log lines read per container', logLines, 200)
    .addHelpText('after', helpText({
      details: `Evidence: docker inspect state, exit code, OOMKilled, health log and logs (Docker targets);
kubectl describe, logs (current and --previous) and events (Kubernetes); the suspected releases
with their diff, risk score and gate override; model alias moves; config changes. The report and
any applied action are stored with the incident.`,
      examples: [
        'ops triage                       # the newest open incident',
        'ops triage 12 --format markdown  # paste into a ticket',
        'ops triage 12 --apply 1 --yes    # in CI: run action 1, check with watch cycles, resolve',
        'ops triage 12 --json',
      ],
      exitCodes: {
        0: 'report written (with --apply: applied, the service is healthy again, incident resolved)',
        1: 'no such incident or action, or the action failed or left the service unhealthy',
        4: '--apply without --yes outside a terminal',
      },
    }))
    .action(
      action<TriageFlags, [number | undefined]>(async (ctx, out, options, id) => {
        const { triage, applyAction } = await import('../../core/triage/index.js');
        const report = await triage(ctx, id, { logLines: options.logLines });
        // An explicit --format wins over the global --json.
        const format = options.format ?? (options.json ? 'json' : 'text');
        const asJson = format === 'json';
        if (options.apply === undefined) {
          if (asJson) out.json(report);
          else {
            const { renderMarkdown, renderTerminal } = await import('../triage-report.js');
            const rendered = { incidentId: report.incident.id, ...report };
            out.result(format === 'markdown' ? renderMarkdown(rendered).trimEnd() : renderTerminal(rendered, out.chalk));
          }
          return ExitCode.ok;
        }
        const applied = await applyAction(ctx, report, options.apply, {
          yes: Boolean(options.yes),
          confirm: async (message) => {
            const { confirm } = await import('@inquirer/prompts');
            return confirm({ message, default: false });
          },
        });
        const ok = applied.status === 'succeeded' && applied.check?.healthy === true;
        if (asJson) out.json({ report, applied });
        else {
          out.info(`action ${applied.action.n} ${applied.status}: ${applied.result}`);
          if (applied.check) out.info(`${applied.check.healthy ? 'healthy again' : 'still failing'}: ${applied.check.detail}`);
          out.result(
            applied.incident.state === 'resolved'
              ? `incident #${applied.incident.id} resolved, cause: ${applied.incident.cause}`
              : `incident #${applied.incident.id} is still ${applied.incident.state}`,
          );
        }
        return ok ? ExitCode.ok : ExitCode.failed;
      }, { readOnly: (options) => options.apply === undefined }),
    );
}
