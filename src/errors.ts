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

  constructor(file: string, expected: string, found: string) {
    super(`artifact ${file} is corrupt: its content hashes to ${found}, the ledger recorded ${expected}`, 'restore the file from a backup, or register the model again');
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
