import type { Command } from 'commander';
import { Argument } from 'commander';
import { action } from '../action.js';
import { helpText } from '../help.js';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: commands, options, and service and environment names from the config')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .addHelpText('after', helpText({
      details: `The script asks \`ops __complete\` at each TAB, so it completes the commands and options of the
ops on PATH and the services and environments of the config in the folder you are in. For the
current bash only: source <(ops completion bash).`,
      examples: [
        'ops completion bash > ~/.local/share/bash-completion/completions/ops',
        'ops completion zsh > "${fpath[1]}/_ops"',
        'ops completion fish > ~/.config/fish/completions/ops.fish',
      ],
      exitCodes: { 1: 'an unexpected failure (details with --verbose)' },
    }))
    .action(
      action<object, [string]>(async (_ctx, out, _options, shell) => {
        const { completionScript } = await import('../completion.js');
        out.result(completionScript(shell as 'bash' | 'zsh' | 'fish').trimEnd());
      }),
    );
}
