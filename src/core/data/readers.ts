import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { BadDataError } from '../../errors.js';
import type { ColumnProfiler, DataFormat, DatasetProfiler } from './profile.js';

/** Bytes read at a time: what memory holds of a CSV or JSON Lines file, whatever its size. */
const CHUNK_BYTES = 1 << 20;

export const FORMATS_BY_EXTENSION: Record<string, DataFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

export function formatOf(file: string, given?: DataFormat): DataFormat | undefined {
  return given ?? FORMATS_BY_EXTENSION[extname(file).toLowerCase()];
}

/** How many bytes at the end of `buf` start a UTF-8 sequence that the next chunk completes. */
function incompleteTail(buf: Buffer, end: number): number {
  for (let back = 1; back <= Math.min(3, end); back++) {
    const byte = buf[end - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/** The 1-based line of a byte offset, counted by reading the file again (only on the error path). */
async function lineAt(file: string, offset: number): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let line = 1;
    let position = 0;
    while (position < offset) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK_BYTES, offset - position), position);
      if (bytesRead === 0) break;
      for (let i = buf.indexOf(10, 0); i >= 0 && i < bytesRead; i = buf.indexOf(10, i + 1)) line++;
      position += bytesRead;
    }
    return line;
  } finally {
    await handle.close();
  }
}

/** The first byte offset in buf[0, end) where UTF-8 is invalid. */
function firstInvalidByte(buf: Buffer, end: number): number {
  let lo = 0;
  let hi = end;
  // Halve the range while its left half is valid UTF-8 (cutting at sequence boundaries).
  while (hi - lo > 4) {
    let mid = (lo + hi) >> 1;
    while (mid > lo && (buf[mid]! & 0xc0) === 0x80) mid--;
    if (mid === lo) break;
    if (isUtf8(buf.subarray(lo, mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * A file's text, chunk by chunk, each ending on a whole UTF-8 character. Invalid UTF-8 (a Latin-1
 * or UTF-16 file) is one error naming the line.
 */
async function* textChunks(file: string, label: string): AsyncGenerator<string> {
  const handle = await open(file, 'r');
  let reading: ReturnType<typeof handle.read> | undefined;
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES + 4);
    let carried = 0;
    let offset = 0;
    let first = true;
    // The next read runs while the consumer parses this chunk (its text is a copy of the bytes).
    reading = handle.read(buf, carried, CHUNK_BYTES, null);
    for (;;) {
      const { bytesRead } = await reading;
      const end = carried + bytesRead;
      if (end === 0) return;
      const tail = bytesRead === 0 ? 0 : incompleteTail(buf, end);
      const whole = end - tail;
      if (!isUtf8(buf.subarray(0, whole))) {
        const at = offset + firstInvalidByte(buf, whole);
        const line = await lineAt(file, at);
        throw new BadDataError(`${label}: line ${line} is not valid UTF-8 (byte offset ${at})`, 'save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)');
      }
      let text = buf.toString('utf8', 0, whole);
      if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
      if (bytesRead === 0) {
        if (text) yield text;
        return;
      }
      buf.copyWithin(0, whole, end);
      carried = tail;
      offset += whole;
      reading = handle.read(buf, carried, CHUNK_BYTES, null);
      if (text) yield text;
    }
  } finally {
    // A consumer that stopped early (a bad row) leaves a read in flight: let it land first.
    await reading?.catch(() => undefined);
    await handle.close();
  }
}

function describeFields(fields: string[]): string {
  const shown = fields.slice(0, 4).map((f) => JSON.stringify(f.length > 20 ? `${f.slice(0, 20)}…` : f));
  return `${shown.join(', ')}${fields.length > 4 ? ', ...' : ''}`;
}

/** A header must name every column once; a first row of numbers is data, not a header. */
function checkHeader(header: string[], label: string): void {
  if (header.length === 0 || (header.length === 1 && header[0] === '')) throw new BadDataError(`${label}: row 1 is empty; a header row naming the columns is needed`, 'add a header row, e.g. `id,amount,plan`');
  if (header.every((h) => h.trim() !== '' && Number.isFinite(Number(h)))) {
    throw new BadDataError(`${label}: row 1 is not a header: every field is a number (${describeFields(header)})`, 'add a header row naming the columns');
  }
  const empty = header.findIndex((h) => h.trim() === '');
  if (empty >= 0) throw new BadDataError(`${label}: row 1 (the header) has no name for column ${empty + 1}`, 'name every column in the header row');
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new BadDataError(`${label}: row 1 (the header) names column "${name}" twice`, 'give every column its own name');
    seen.add(name);
  }
}

/**
 * Stream a CSV file (with a header row) through the profiler. Records are split by papaparse's
 * parser (RFC 4180 quoting) one chunk at a time, so memory holds one chunk, not the file.
 */
export async function scanCsv(file: string, label: string, profiler: DatasetProfiler): Promise<void> {
  const Papa = (await import('papaparse')).default;
  const delimiter = extname(file).toLowerCase() === '.tsv' ? '\t' : ',';
  let parser: InstanceType<typeof Papa.Parser> | null = null;
  let columns: ColumnProfiler[] = [];
  let width = 0;
  let row = 1;
  let pending = '';
  const take = (records: string[][]) => {
    for (const record of records) {
      if (record.length === 1 && record[0] === '') continue;
      if (columns.length === 0) {
        checkHeader(record, label);
        columns = record.map((name) => profiler.column(name));
        width = record.length;
        continue;
      }
      row++;
      if (record.length !== width) {
        throw new BadDataError(`${label}: row ${row} has ${record.length} field${record.length === 1 ? '' : 's'} where the header has ${width} (${describeFields(record)})`, 'every row needs as many fields as the header; quote fields that contain the delimiter');
      }
      profiler.rows++;
      for (let c = 0; c < width; c++) columns[c]!.addCell(record[c]!, row);
    }
  };
  const errorOf = (result: Papa.ParseResult<string[]>) => {
    const error = result.errors.find((e) => e.type === 'Quotes');
    if (error) throw new BadDataError(`${label}: row ${row + (error.row ?? 0) + (columns.length ? 1 : 0)} has ${error.code === 'MissingQuotes' ? 'a quoted field that is never closed' : 'a stray quote'}`, 'quote fields as RFC 4180 does: "a ""quoted"" field"');
  };
  for await (const chunk of textChunks(file, label)) {
    const input = pending + chunk;
    if (!parser) {
      const lf = input.indexOf('\n');
      const newline = lf > 0 && input[lf - 1] === '\r' ? '\r\n' : lf < 0 && input.includes('\r') ? '\r' : '\n';
      parser = new Papa.Parser({ delimiter, newline, quoteChar: '"' });
    }
    // The last record may continue in the next chunk: parse up to it and keep it for then.
    const result = parser.parse(input, 0, true) as Papa.ParseResult<string[]>;
    errorOf(result);
    take(result.data);
    pending = input.slice(result.meta.cursor);
  }
  if (pending && parser) {
    const result = parser.parse(pending, 0, false) as Papa.ParseResult<string[]>;
    errorOf(result);
    take(result.data);
  }
  if (columns.length === 0) throw new BadDataError(`${label} is empty; a header row naming the columns is needed`, 'write a header row and the data');
}

/** Stream a JSON Lines file: one JSON object per line; the columns are every key seen. */
export async function scanJsonl(file: string, label: string, profiler: DatasetProfiler): Promise<void> {
  let line = 0;
  let pending = '';
  const known = new Set(profiler.columns.map((c) => c.name));
  const take = (text: string) => {
    line++;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new BadDataError(`${label}: line ${line} is not valid JSON: ${(err as Error).message}`, 'write one JSON object per line');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadDataError(`${label}: line ${line} is not a JSON object`, 'write one JSON object per line, like {"id": 1, "plan": "pro"}');
    const record = value as Record<string, unknown>;
    for (const key in record) {
      if (!known.has(key)) {
        known.add(key);
        profiler.column(key);
      }
    }
    profiler.rows++;
    for (const column of profiler.columns) column.addValue(record[column.name], line);
  };
  for await (const chunk of textChunks(file, label)) {
    let start = 0;
    let text = pending + chunk;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      take(text.slice(start, nl));
      start = nl + 1;
    }
    pending = text.slice(start);
    text = '';
  }
  if (pending) take(pending);
}

/**
 * Read a Parquet file with hyparquet (pure JavaScript), one row group at a time: memory holds the
 * largest row group, not the file.
 */
export async function scanParquet(file: string, label: string, profiler: DatasetProfiler): Promise<void> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  let metadata;
  const buffer = await asyncBufferFromFile(file);
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new BadDataError(`${label} is not a valid Parquet file: ${(err as Error).message}`, 'check that the file is complete, or pass the right --format');
  }
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  const columns = names.map((name) => profiler.column(name));
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: unknown[][] = [];
    try {
      await parquetRead({ file: buffer, metadata, compressors, rowStart, rowEnd, columns: names, onComplete: (data: unknown[][]) => void (rows = data) });
    } catch (err) {
      throw new BadDataError(`${label}: rows ${rowStart + 1}-${rowEnd} cannot be read: ${(err as Error).message}`, 'the file may be truncated or written with an unsupported encoding');
    }
    for (let r = 0; r < rows.length; r++) {
      const values = rows[r]!;
      profiler.rows++;
      for (let c = 0; c < columns.length; c++) columns[c]!.addValue(values[c], rowStart + r + 1);
    }
    rowStart = rowEnd;
    rows = [];
  }
}

export async function scanFile(file: string, label: string, format: DataFormat, profiler: DatasetProfiler): Promise<void> {
  if (format === 'csv') return scanCsv(file, label, profiler);
  if (format === 'jsonl') return scanJsonl(file, label, profiler);
  return scanParquet(file, label, profiler);
}
