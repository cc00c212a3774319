import { once } from 'node:events';
import { createReadStream, createWriteStream, openSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import type { Context } from '../context.js';
import { parseRecords, readLedger, recordLine, writeLedger, type CopySummary } from './move.js';

export interface ExportSummary {
  out: string | null;
  rows: number;
  blobs: number;
}

/** Write `chunk` to a stream, waiting when it asks to (an export can be larger than memory). */
async function write(stream: NodeJS.WritableStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/**
 * `ops ledger export`: the ledger as JSON Lines, to stdout or to a file (0600, written under a
 * temporary name and renamed when whole, so a failed export leaves no partial file).
 */
export async function exportLedger(ctx: Context, out: string | undefined, json: boolean): Promise<ExportSummary> {
  if (json && !out) throw new UsageError('--json needs --out: the export itself is JSON Lines on stdout', 'e.g. `ops ledger export --out ledger.jsonl --json`');
  const path = out ? resolve(ctx.cwd, out) : null;
  const temporary = path ? join(dirname(path), `.${process.pid}.ops-export.tmp`) : null;
  let fd: number | undefined;
  if (temporary) {
    try {
      fd = openSync(temporary, 'w', 0o600);
    } catch (err) {
      throw new UsageError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'its folder does not exist' : (err as Error).message}`, 'pass --out a file in a folder that exists and that you can write');
    }
  }
  const stream = fd !== undefined ? createWriteStream('', { fd }) : process.stdout;
  let rows = 0;
  let blobs = 0;
  try {
    for await (const record of readLedger(ctx, ctx.ledger())) {
      if (record.type === 'end') {
        rows = Object.values(record.rows).reduce((n, c) => n + c, 0);
        blobs = record.blobs;
      }
      await write(stream, recordLine(record));
    }
    if (temporary) {
      (stream as ReturnType<typeof createWriteStream>).end();
      await once(stream, 'finish');
      renameSync(temporary, path!);
    }
  } catch (err) {
    if (temporary) {
      (stream as ReturnType<typeof createWriteStream>).destroy();
      rmSync(temporary, { force: true });
    }
    throw err;
  }
  return { out: path, rows, blobs };
}

/** `ops ledger import`: an export read line by line into the command's ledger, then checked. */
export async function importLedger(ctx: Context, file: string, options: { allowOtherProject?: boolean }): Promise<CopySummary> {
  const { createInterface } = await import('node:readline');
  const input = file === '-' ? process.stdin : createReadStream(resolve(ctx.cwd, file));
  const opened = new Promise<void>((ready, fail) => {
    if (file === '-') return ready();
    input.once('open', () => ready());
    input.once('error', (err: NodeJS.ErrnoException) => fail(new UsageError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, 'pass a file made by `ops ledger export --out <file>`')));
  });
  await opened;
  const source = file === '-' ? 'stdin' : file;
  const lines = createInterface({ input, crlfDelay: Infinity });
  return writeLedger(ctx, ctx.ledger(), source, parseRecords(lines, source), options);
}
