import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { action } from '../action.js';
import { helpText } from '../help.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check node, git, the Docker engine, the registry, kubectl, the ledger and the config')
    .option('--recover', 'copy what is readable of a corrupt SQLite ledger into a new one in its place (the corrupt file is kept beside it)')
    .addHelpText('after', helpText({
      details: 'A SQLite ledger found corrupt (by its hourly quick_check, or a query) is read but never written; --recover makes a new ledger of what can be read: VACUUM INTO, else each table row by row around the bad pages. Stop other ops processes using the ledger first.',
      examples: ['ops doctor', "ops doctor --json | jq '.checks[] | select(.ok | not)'", 'ops doctor --recover'],
      exitCodes: { 0: 'every required check passed (--recover: the new ledger passes its integrity check)', 1: 'a required check failed (each says how to fix it), or the recovered ledger still fails its integrity check' },
    }))
    .action(
      action<{ recover?: boolean }>(async (ctx, out, options) => {
        if (options.recover) {
          const { recoverLedger } = await import('../../core/doctor.js');
          const recovery = await out.step('recovering the ledger', () => recoverLedger(ctx));
          const ok = recovery.integrity.length === 1 && recovery.integrity[0] === 'ok';
          if (options.json) out.json({ ok, ...recovery });
          else {
            out.result(await out.table(['TABLE', 'ROWS', 'UNREADABLE'], recovery.tables.filter((t) => t.rows || t.unreadable).map((t) => [t.table, String(t.rows), t.unreadable ? `${t.unreadable} stretch(es) skipped` : ''])));
            out.info(`recovered ${recovery.ledger} (${recovery.method === 'vacuum' ? 'VACUUM INTO: every row' : 'read row by row around the bad pages'}); the corrupt file is kept as ${recovery.kept}; integrity check: ${ok ? 'ok' : 'still failing (`ops doctor` shows it)'}`);
          }
          return ok ? ExitCode.ok : ExitCode.failed;
        }
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
