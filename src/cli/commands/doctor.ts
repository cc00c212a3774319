import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { action } from '../action.js';
import { helpText } from '../help.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check node, git, the Docker engine, the registry, kubectl, the ledger and the config')
    .addHelpText('after', helpText({
      examples: ['ops doctor', "ops doctor --json | jq '.checks[] | select(.ok | not)'"],
      exitCodes: { 0: 'every required check passed', 1: 'a required check failed (each says how to fix it)' },
    }))
    .action(
      action(async (ctx, out, options) => {
        const { runDoctor } = await import('../../core/doctor.js');
        const checks = await out.step('checking the environment', () => runDoctor(ctx));
        const ok = checks.every((c) => c.ok || !c.required);
        if (options.json) {
          out.json({ ok, checks });
        } else {
          const mark = (c: (typeof checks)[number]) =>
            c.ok ? out.chalk.green('ok') : c.required ? out.chalk.red('FAIL') : out.chalk.yellow('warn');
          out.result(await out.table(['CHECK', 'STATUS', 'DETAIL'], checks.map((c) => [c.name, mark(c), c.ok || !c.fix ? c.detail : `${c.detail}; fix: ${c.fix}`])));
        }
        return ok ? ExitCode.ok : ExitCode.failed;
      }, { readOnly: true }),
    );
}
