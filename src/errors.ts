/** Exit codes, documented in the README. A new code only ever replaces an existing failure code. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  gate: 3,
  inputNeeded: 4,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the user: one line saying what is wrong, then how to fix it. */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failed,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags, config or environment, found before anything was changed. */
export class UsageError extends OpsError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

export class ConfigError extends UsageError {}

export class LedgerError extends UsageError {}

export class ToolMissingError extends UsageError {
  constructor(readonly tool: string, hint: string) {
    super(`${tool} is not installed or not on PATH`, hint);
  }
}

/** Input was needed but the session is not interactive. */
export class InputNeededError extends OpsError {
  constructor(message: string, flag: string) {
    super(message, ExitCode.inputNeeded, `pass ${flag}, or run in an interactive terminal`);
  }
}
