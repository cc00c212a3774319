/** What core logic may say to the user; the CLI decides how (spinner, plain lines, nothing). */
export interface Output {
  /** A progress or status message (stderr; silent with --quiet or --json). */
  info(message: string): void;
  /** A warning (stderr; shown even with --quiet). */
  warn(message: string): void;
  /** Detail shown only with --verbose (child command lines, internals). */
  debug(message: string): void;
  /** Pass a child process's output through to the terminal; `text` comes redacted, from childOutput's stream. */
  passthrough(stream: 'stdout' | 'stderr', text: string): void;
  /**
   * A named step: a spinner on a TTY, plain lines in CI, resolved or failed with the promise.
   * `update` names the current sub-step (the spinner's text, or one more plain line).
   */
  step<T>(text: string, work: (update: (detail: string) => void) => Promise<T>): Promise<T>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
