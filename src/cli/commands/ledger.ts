import type { Command } from 'commander';
import type { CopySummary } from '../../core/ledger/move.js';
import { action } from '../action.js';
import type { CliOutput } from '../output.js';
import { helpText, withHelp } from '../help.js';

interface CopyOptions {
  allowOtherProject?: boolean;
}

const ALLOW_OTHER = 'copy even into a ledger that holds another project\'s data (rows whose keys it has are left as they are)';

async function printSummary(out: CliOutput, summary: CopySummary, json: boolean | undefined, done: string): Promise<void> {
  if (json) return out.json(summary);
  const shown = summary.tables.filter((t) => t.source > 0 || t.target > 0);
  if (shown.length > 0) {
    out.result(await out.table(['TABLE', 'SOURCE', 'TARGET', 'COPIED', 'CHECK'], shown.map((t) => [t.table, t.source, t.target, t.copied, t.same ? 'same' : 'DIFFERS'])));
  }
  const rows = summary.tables.reduce((n, t) => n + t.source, 0);
  const copied = summary.tables.reduce((n, t) => n + t.copied, 0);
  out.result(
    `${done}: ${copied} of ${rows} rows copied (${rows - copied} were there), ${summary.blobs.copied} of ${summary.blobs.source} artifact blobs copied, ${summary.blobs.verified} verified by digest; every table's rows digest the same in ${summary.target}`,
  );
}

export function registerLedger(program: Command): void {
  const ledger = withHelp(program.command('ledger').description('move a ledger: copy it into PostgreSQL, export it, import it'), {
    examples: ['ops ledger migrate --to postgres://ops@db.internal/ops', 'ops ledger export --out ledger.jsonl', 'ops ledger import ledger.jsonl'],
  });

  ledger
    .command('migrate')
    .description("copy this ledger (rows with their ids, and artifacts) into another, usually a team's PostgreSQL, then check it")
    .requiredOption('--to <url>', 'the ledger to copy into: a postgres:// URL (password from PGPASSWORD or ~/.pgpass) or a SQLite file')
    .option('--allow-other-project', ALLOW_OTHER)
    .addHelpText(
      'after',
      helpText({
        examples: ['ops ledger migrate --to postgres://ops@db.internal/ops', 'ops ledger migrate --to "postgres://ops@db.internal/ops?sslmode=verify-full" --json'],
        details:
          'Everything is copied in one transaction of the target; rows and blobs it already has are left, so a\nsecond run copies nothing. At the end every table of the target is read back and compared with the\nsource by row count and digest, and every blob is re-hashed. A target that holds another project\'s\ndata is refused before anything is written (exit 2) unless --allow-other-project.',
        exitCodes: {
          0: 'copied (or already there) and every table and blob checked the same',
          1: 'the target differs from the source after the copy (it held other rows), or it cannot be reached',
        },
      }),
    )
    .action(
      action<CopyOptions & { to: string }>(async (ctx, out, options) => {
        const { migrateLedger } = await import('../../core/ledger/move.js');
        const summary = await out.step(`copying the ledger`, () => migrateLedger(ctx, options.to, { allowOtherProject: options.allowOtherProject }));
        await printSummary(out, summary, options.json, 'migrated');
      }, { readOnly: true }),
    );

  ledger
    .command('export')
    .description('write the ledger as JSON Lines: every row of every table, then every artifact blob (secrets stay redacted)')
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .addHelpText(
      'after',
      helpText({
        examples: ['ops ledger export --out ledger.jsonl', 'ops ledger export | gzip > ledger.jsonl.gz', 'ops ledger export --out team.jsonl --json'],
        details: 'Lines: {"type":"ledger",...} first, then {"type":"row","table":...,"row":{...}} per row,\n{"type":"blob"} and {"type":"chunk"} (base64) per artifact, and {"type":"end"} with each table\'s row\ncount and digest. The same ledger exports the same bytes from SQLite and from PostgreSQL.',
        exitCodes: { 0: 'exported', 1: 'an artifact is missing or corrupt' },
      }),
    )
    .action(
      action<{ out?: string }>(async (ctx, out, options) => {
        const { exportLedger } = await import('../../core/ledger/files.js');
        const summary = await exportLedger(ctx, options.out, Boolean(options.json));
        if (options.json) return out.json(summary);
        if (options.out) out.info(`exported ${summary.rows} rows and ${summary.blobs} artifact blobs to ${summary.out}`);
      }, { readOnly: true }),
    );

  ledger
    .command('import')
    .description('read a ledger export (JSON Lines) into this ledger, keeping ids, then check it')
    .argument('<file>', 'an export made by `ops ledger export` (- for stdin)')
    .option('--allow-other-project', ALLOW_OTHER)
    .addHelpText(
      'after',
      helpText({
        examples: ['ops ledger import ledger.jsonl', 'ops ledger import ledger.jsonl --ledger postgres://ops@db.internal/ops --json', 'ops ledger import - < ledger.jsonl'],
        details: 'The file is read line by line in one transaction: a file cut short, or one whose end line does not\nmatch its rows, imports nothing. Rows and blobs the ledger already has are left, so importing twice\nadds nothing. A file that is not an export, is damaged, or a ledger holding another project\'s data:\nexit 2, nothing imported.',
        exitCodes: {
          0: 'imported (or already there) and every table and blob checked the same',
          1: 'the ledger differs from the file after the import (it held other rows)',
        },
      }),
    )
    .action(
      action<CopyOptions, [string]>(async (ctx, out, options, file) => {
        const { importLedger } = await import('../../core/ledger/files.js');
        const summary = await out.step(`importing ${file === '-' ? 'stdin' : file}`, () => importLedger(ctx, file, { allowOtherProject: options.allowOtherProject }));
        await printSummary(out, summary, options.json, 'imported');
      }),
    );
}
