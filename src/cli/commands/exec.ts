import type { Command } from 'commander';
import { action } from '../action.js';

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('run a command and record it as a run in the ledger (output, exit code, git state)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--kind <kind>', 'the kind to record the run under', 'exec')
    .addHelpText('after', `
The command's exit code becomes ops's exit code; OPS_RUN_ID is set in its environment.

Examples:
  $ ops exec -- npm test
  $ ops exec --kind migrate -- ./scripts/migrate.sh --to 42`)
    .action(
      action<{ kind: string }, [string[]]>(async (ctx, out, options, command) => {
        const [{ execRecorded }, { parseKind }] = await Promise.all([import('../../core/exec.js'), import('../../core/runs.js')]);
        const result = await execRecorded(ctx, command, parseKind(options.kind)!);
        if (options.json) out.json(result);
        else out.info(`run ${result.runId} ${result.status} (exit code ${result.exitCode})`);
        return result.exitCode;
      }),
    );
}
