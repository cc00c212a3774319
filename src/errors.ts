/**
 * The error classes and exit codes: the ground floor that every layer (cli, core, ledger,
 * adapters) may import. Each class has one exit code and one `code` (its name in a --json error);
 * the README's exit-code table lists the same, and a test holds the two together.
 * A new exit code only ever replaces an existing failure code.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  gate: 3,
  inputNeeded: 4,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** One meaning per exit code, as `ops --help` and the README's table state them. */
export const EXIT_CODE_MEANINGS: Record<ExitCodeValue, string> = {
  0: 'success',
  1: 'the operation failed, or what it names is not recorded (not found)',
  2: 'usage, configuration or environment error (nothing was changed)',
  3: 'blocked by a policy gate (risk gate, promotion gate)',
  4: 'input needed but the session is not interactive',
  130: 'interrupted (SIGINT/SIGTERM)',
};

/** An error meant for the user: one line saying what is wrong, then how to fix it. */
export class OpsError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.failed;
  /** Stable, machine-readable: `error.code` in a --json error. */
  readonly code: string = 'failed';
  /** What the command found before it stopped (a gate's comparison): `result` beside a --json error. */
  result?: unknown;

  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  withResult(result: unknown): this {
    this.result = result;
    return this;
  }
}

/** What the command names (a run, release, incident, model, version...) is not in the ledger. */
export class NotFoundError extends OpsError {
  override readonly code: string = 'not_found';
}

/** Bad flags, config or environment, found before anything was changed. */
export class UsageError extends OpsError {
  override readonly exitCode: ExitCodeValue = ExitCode.usage;
  override readonly code: string = 'usage';
}

export class ConfigError extends UsageError {
  override readonly code: string = 'config';
}

export class LedgerError extends UsageError {
  override readonly code: string = 'ledger';
}

/** A data file that cannot be read as its format says (ragged rows, invalid UTF-8, no header): named by row. */
export class BadDataError extends UsageError {
  override readonly code: string = 'bad_data';
}

export class ToolMissingError extends UsageError {
  override readonly code: string = 'tool_missing';

  constructor(
    readonly tool: string,
    hint: string,
  ) {
    super(`${tool} is not installed or not on PATH`, hint);
  }
}

/** A stored file's content no longer matches the digest the ledger recorded. */
export class CorruptArtifactError extends OpsError {
  override readonly code: string = 'corrupt_artifact';

  constructor(file: string, expected: string, found: string, hint = 'restore the file from a backup, or register the model again') {
    super(`artifact ${file} is corrupt: its content hashes to ${found}, the ledger recorded ${expected}`, hint);
  }
}

/** A policy gate (risk gate, promotion gate) said no. */
export class GateBlockedError extends OpsError {
  override readonly exitCode: ExitCodeValue = ExitCode.gate;
  override readonly code: string = 'gate_blocked';
}

/** Input was needed but the session is not interactive. */
export class InputNeededError extends OpsError {
  override readonly exitCode: ExitCodeValue = ExitCode.inputNeeded;
  override readonly code: string = 'input_needed';

  constructor(message: string, flag: string) {
    super(message, `pass ${flag}, or run in an interactive terminal`);
  }
}

/** Stopped by SIGINT/SIGTERM. */
export class InterruptedError extends OpsError {
  override readonly exitCode: ExitCodeValue = ExitCode.interrupted;
  override readonly code: string = 'interrupted';
}

/** A tool or service that gave no answer in time: names it, the time it had, and what to check. */
export class TimeoutError extends OpsError {
  override readonly code: string = 'timeout';

  constructor(
    readonly tool: string,
    readonly timeoutMs: number,
    hint: string,
  ) {
    super(`${tool} timed out after ${formatSeconds(timeoutMs)}`, hint);
  }
}

/** A service ops talks to (the Docker engine) cannot be reached: says where, and how to bring it back. */
export class UnreachableError extends OpsError {
  override readonly code: string = 'unreachable';
}

/** "60 s", "2.5 s", "300 ms". */
export function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}

/** Longest stretch of echoed input shown in a message. */
export const ECHO_MAX_CHARS = 80;

// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Control characters written as escapes (\n, \x1b, \u2028), so text can never break a line or drive a terminal. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => ESCAPES[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16)}`));
}

/** True when the text holds a control character (newline, tab, escape...). */
export function hasControl(text: string): boolean {
  return new RegExp(CONTROL.source).test(text);
}

/**
 * Input echoed in a message: in double quotes, control characters escaped, cut to `max`
 * characters with its full length said. Every error that repeats what the user typed uses this.
 */
export function quote(value: unknown, max = ECHO_MAX_CHARS): string {
  const text = String(value);
  const chars = [...text];
  const shown = chars.length > max ? `${chars.slice(0, max).join('')}…` : text;
  const quoted = `"${escapeControl(shown.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`;
  return chars.length > max ? `${quoted} (${chars.length} characters)` : quoted;
}
