import type { Command } from 'commander';
import { action } from '../action.js';
import { helpText } from '../help.js';

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('run a command and record it as a run in the ledger (output, exit code, git state)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--kind <kind>', 'the kind to record the run under', 'exec')
    .addHelpText('after', helpText({
      details: "OPS_RUN_ID is set in the command's environment; its output is streamed and stored (redacted).",
      examples: ['ops exec -- npm test', 'ops exec --kind migrate -- ./scripts/migrate.sh --to 42'],
      exitCodesNote: "the command's own exit code, passed through (as docker run and kubectl exec do); else:",
      exitCodes: { 0: 'the command succeeded', 1: 'the command exited 1, or ops failed unexpectedly' },
    }))
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
