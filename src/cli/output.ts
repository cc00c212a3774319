/** The styles ops uses; chalk when colour is on, plain text otherwise (chalk is not even loaded). */
export type Styles = Record<'red' | 'green' | 'yellow' | 'bold' | 'dim' | 'cyan', (text: string) => string>;

const plain = (text: string) => text;
const PLAIN_STYLES: Styles = { red: plain, green: plain, yellow: plain, bold: plain, dim: plain, cyan: plain };
import { stripVTControlCharacters } from 'node:util';
import textTable from 'text-table';
import type { Output } from '../core/output.js';
import { redact } from '../redact.js';

// A field named `at` or `...At` holds a time: the ledger keeps some as epoch milliseconds, Docker
// gives nanoseconds (2026-01-31T12:00:00.123456789Z) or an offset.
const TIME_KEY = /^at$|[a-z]At$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function isoTime(field: unknown): unknown {
  if (typeof field === 'number' && Number.isFinite(field)) return new Date(field).toISOString();
  if (typeof field === 'string' && ISO_TIME.test(field)) {
    const date = new Date(field);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  return field;
}

/**
 * The JSON text of a result, with every time in one format, ISO 8601 UTC to the millisecond
 * (`2026-01-31T12:00:00.000Z`), whatever form the layer below keeps it in.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, (key, field) => (TIME_KEY.test(key) ? isoTime(field) : field), indent);
}

export interface OutputMode {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  /** stderr is a TTY and not CI: spinners allowed. */
  tty: boolean;
  secrets: string[];
}

export function colorEnabled(flag: boolean, env: NodeJS.ProcessEnv, stream: NodeJS.WriteStream): boolean {
  if (!flag || (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || env.TERM === 'dumb') return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

/** The CLI's Output: spinners on a TTY, timestamped plain lines elsewhere, nothing on stdout. */
export class CliOutput implements Output {
  private spinning = false;

  private constructor(
    readonly mode: OutputMode,
    readonly chalk: Styles,
  ) {}

  static async create(mode: OutputMode): Promise<CliOutput> {
    if (!mode.color) return new CliOutput(mode, PLAIN_STYLES);
    const { Chalk } = await import('chalk');
    return new CliOutput(mode, new Chalk({ level: 1 }));
  }

  private line(text: string): void {
    const clean = redact(text, this.mode.secrets);
    process.stderr.write(this.mode.tty ? `${clean}\n` : `${new Date().toISOString()} ${clean}\n`);
  }

  info(message: string): void {
    if (!this.mode.quiet && !this.mode.json) this.line(message);
  }

  warn(message: string): void {
    this.line(this.chalk.yellow(`warning: ${message}`));
  }

  debug(message: string): void {
    if (this.mode.verbose) this.line(this.chalk.dim(message));
  }

  passthrough(stream: 'stdout' | 'stderr', text: string): void {
    (stream === 'stdout' ? process.stdout : process.stderr).write(text);
  }

  async step<T>(text: string, work: (update: (detail: string) => void) => Promise<T>): Promise<T> {
    if (this.mode.quiet || this.mode.json) return work(() => {});
    // One spinner at a time: steps that run beside it (ops deploy --parallel) print plain lines.
    if (!this.mode.tty || this.spinning) {
      this.line(`${text} ...`);
      const started = performance.now();
      try {
        // Polling steps repeat themselves: a line only when the state changes.
        let last = '';
        const result = await work((detail) => {
          if (detail !== last) this.line(`${text}: ${detail}`);
          last = detail;
        });
        this.line(`${text}: done (${Math.round(performance.now() - started)} ms)`);
        return result;
      } catch (err) {
        this.line(`${text}: failed`);
        throw err;
      }
    }
    this.spinning = true;
    const { default: ora } = await import('ora');
    const spinner = ora({ text, stream: process.stderr, color: 'cyan', isEnabled: true }).start();
    // One line only: ora redraws by clearing as many lines as the text took.
    const width = Math.max(20, (process.stderr.columns ?? 80) - 4);
    try {
      const result = await work((detail) => {
        const line = `${text}: ${redact(detail, this.mode.secrets)}`.replace(/\s+/g, ' ');
        spinner.text = line.length > width ? `${line.slice(0, width - 1)}…` : line;
      });
      spinner.succeed();
      return result;
    } catch (err) {
      spinner.fail();
      throw err;
    } finally {
      this.spinning = false;
    }
  }

  /** Write the command's result to stdout. */
  result(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** One JSON document on stdout (or one line of a stream, with `compact`). */
  json(value: unknown, compact = false): void {
    process.stdout.write(`${redact(jsonText(value, compact ? undefined : 2), this.mode.secrets)}\n`);
  }

  /** Aligned columns for people; `head` are column titles. */
  async table(head: string[], rows: Array<Array<string | number | null>>): Promise<string> {
    const cells = rows.map((row) => row.map((cell) => (cell == null ? '-' : String(cell))));
    return textTable([head.map((h) => this.chalk.bold(h)), ...cells], { hsep: '  ', stringLength: (s) => stripVTControlCharacters(s).length });
  }

}
