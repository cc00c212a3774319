import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { UsageError } from '../../errors.js';
import { listFiles } from './artifacts.js';

export interface DatasetDigest {
  digest: string;
  path: string;
  kind: 'file' | 'dir';
  sizeBytes: number;
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A file's digest is its sha256; a folder's is the sha256 of its sorted manifest of
 * "relative path, size, sha256" lines (DVC-like), so renaming or editing any file changes it.
 */
export async function digestDataset(path: string, cwd: string): Promise<DatasetDigest> {
  const absolute = resolve(cwd, path);
  let info;
  try {
    info = statSync(absolute);
  } catch {
    throw new UsageError(`dataset ${path} does not exist`, 'check the path given to --data');
  }
  if (info.isFile()) return { digest: `sha256:${await hashFile(absolute)}`, path: absolute, kind: 'file', sizeBytes: info.size };
  if (!info.isDirectory()) throw new UsageError(`dataset ${path} is neither a file nor a folder`, 'pass a file or a folder to --data');
  let manifest = '';
  let sizeBytes = 0;
  for (const file of await listFiles(absolute)) {
    const size = statSync(file).size;
    sizeBytes += size;
    manifest += `${relative(absolute, file).split(sep).join('/')}\t${size}\t${await hashFile(file)}\n`;
  }
  return { digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`, path: absolute, kind: 'dir', sizeBytes };
}

export interface Table {
  file: string;
  header: string[];
  rows: string[][];
}

/** A CSV file with a header row; malformed files are one clear error naming the line. */
export async function readCsv(path: string, cwd: string, flag = '--data'): Promise<Table> {
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${path}`, `check the path given to ${flag}`);
  }
  const { parse } = await import('csv-parse/sync');
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, bom: true }) as string[][];
  } catch (err) {
    throw new UsageError(`${path} is not valid CSV: ${(err as Error).message}`, 'fix the file; every row needs as many fields as the header');
  }
  if (records.length < 2) throw new UsageError(`${path} has no data rows`, 'a header row and at least one data row are needed');
  return { file, header: records[0]!, rows: records.slice(1) };
}

/** A column as numbers; any empty or non-numeric cell is an error naming its row. */
export function numericColumn(table: Table, column: number, hint: string): Float64Array {
  const values = new Float64Array(table.rows.length);
  for (let r = 0; r < table.rows.length; r++) {
    const cell = table.rows[r]![column]!;
    const value = cell === '' ? NaN : Number(cell);
    if (!Number.isFinite(value)) {
      throw new UsageError(`column "${table.header[column]}" of ${table.file} is not numeric: row ${r + 2} has "${cell}"`, hint);
    }
    values[r] = value;
  }
  return values;
}

export function columnIndex(table: Table, name: string, flag: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) {
    throw new UsageError(
      `column "${name}" (${flag}) is not in ${table.file}`,
      `its columns are: ${table.header.filter(Boolean).slice(0, 30).join(', ')}`,
    );
  }
  return index;
}
