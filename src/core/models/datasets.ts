import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { quote, UsageError } from '../../errors.js';

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
      throw new UsageError(`column ${quote(table.header[column])} of ${table.file} is not numeric: row ${r + 2} has ${quote(cell)}`, hint);
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
