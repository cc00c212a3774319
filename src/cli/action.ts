import type { Command } from 'commander';
import { createContext, isCI, type Context } from '../core/context.js';
import { systemClock } from '../core/output.js';
import { redact, secretValuesFromEnv } from '../redact.js';
import { escapeControl, ExitCode, InterruptedError, OpsError } from '../errors.js';
import { CliOutput, colorEnabled, jsonText } from './output.js';

export interface GlobalOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  input: boolean;
  color: boolean;
  config?: string;
  ledger?: string;
  cwd?: string;
}

/** What an action receives: the context, the CLI's output, and its own options. */
export type Action<O, A extends unknown[] = []> = (ctx: Context, out: CliOutput, options: O & GlobalOptions, ...args: A) => Promise<number | void>;

// The exit code of the action that ran; main returns it once commander's parse resolves.
let exitCode: number = ExitCode.ok;

/** The code the last action ended with; resets it for the next run in this process. */
export function takeExitCode(): number {
  const code = exitCode;
  exitCode = ExitCode.ok;
  return code;
}

/** The `error` object of a --json error: what went wrong, how to fix it, and its codes. */
export interface ErrorDocument {
  error: { message: string; hint: string | null; code: string; exitCode: number };
  /** What the command found before it stopped (a gate's comparison, say). */
  result?: unknown;
}

export function errorDocument(err: unknown): ErrorDocument {
  if (err instanceof OpsError) {
    const doc: ErrorDocument = { error: { message: err.message, hint: err.hint ?? null, code: err.code, exitCode: err.exitCode } };
    if (err.result !== undefined) doc.result = err.result;
    return doc;
  }
  const message = (err as Error)?.message ?? String(err);
  return { error: { message, hint: 'run again with --verbose for details', code: 'internal', exitCode: ExitCode.failed } };
}

export interface ReportMode {
  verbose: boolean;
  /** Also print the error as one JSON document on stdout. */
  json: boolean;
  secrets: readonly string[];
}

/** Print an error as one line on stderr (and with --json as a document on stdout); return its exit code. */
export function report(err: unknown, mode: ReportMode, out: CliOutput | undefined): number {
  const red = (text: string) => (out ? out.chalk.red(text) : text);
  const doc = errorDocument(err);
  const { message, hint } = doc.error;
  const line = err instanceof OpsError ? `${message}${hint ? `; ${hint}` : ''}` : `${message}${mode.verbose ? '' : ` (${hint})`}`;
  // Escaped whatever the call site did: an error is always one line, and input cannot fake another.
  process.stderr.write(`${red('error:')} ${escapeControl(redact(line, mode.secrets))}\n`);
  if (mode.verbose && (err as Error)?.stack) process.stderr.write(`${redact((err as Error).stack!, mode.secrets)}\n`);
  if (mode.json) process.stdout.write(`${redact(jsonText(doc, 2), mode.secrets)}\n`);
  return doc.error.exitCode;
}

/** How a command uses the process and the ledger. */
export interface Behaviour<O> {
  /** The first SIGINT/SIGTERM lets the current cycle finish (ops watch). */
  graceful?: boolean;
  /** The command only reads (with these options): it creates no ledger and no folder. */
  readOnly?: boolean | ((options: O & GlobalOptions) => boolean);
}

/** Wrap an action: build the context, handle signals, map errors to exit codes. */
export function action<O, A extends unknown[] = []>(handler: Action<O, A>, behaviour: Behaviour<O> = {}) {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const options = command.optsWithGlobals() as O & GlobalOptions;
    const positional = args.slice(0, -2) as A;
    const env = process.env;
    const ci = isCI(env);
    const secrets = secretValuesFromEnv(env);
    let out: CliOutput | undefined;
    let ctx: Context | undefined;
    const controller = new AbortController();
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      // A graceful command (ops watch) finishes its cycle on the first signal; a second one stops it now.
      if (behaviour.graceful && !controller.signal.aborted) {
        controller.abort(signal);
        process.stderr.write(`\n${signal}: stopping after the current cycle (again to stop now)\n`);
        return;
      }
      // The one signal path: the runs leave activeRuns at once (no withRun can finish them as failed)
      // and are marked interrupted; then the abort stops their children and ops exits.
      const stop = () => {
        controller.abort(signal);
        process.stderr.write(`\ninterrupted by ${signal}\n`);
        if (options.json) process.stdout.write(`${jsonText(errorDocument(new InterruptedError(`interrupted by ${signal}`, 'the run is recorded as interrupted; run the command again')), 2)}\n`);
        process.exit(ExitCode.interrupted);
      };
      // A second signal does not wait for the ledger.
      if (stopping) return stop();
      stopping = true;
      void (ctx?.interruptRuns(signal) ?? Promise.resolve())
        .catch((err: Error) => process.stderr.write(`\nerror: could not mark the run interrupted: ${redact(err.message, secrets)}\n`))
        .finally(stop);
    };
    // `on`, not `once`: execa's exit hook re-raises the signal when it finds itself the only listener.
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      out = await CliOutput.create({
        json: Boolean(options.json),
        quiet: Boolean(options.quiet),
        verbose: Boolean(options.verbose),
        color: colorEnabled(options.color, env, process.stdout) && colorEnabled(options.color, env, process.stderr),
        // A terminal that reports no width (some pseudo-terminals) cannot host a spinner.
        tty: Boolean(process.stderr.isTTY) && (process.stderr.columns ?? 0) > 0 && !ci,
        secrets,
      });
      const cwd = options.cwd ? (await import('node:path')).resolve(options.cwd) : process.cwd();
      ctx = await createContext({
        cwd,
        env,
        argv: process.argv.slice(2),
        configFile: options.config,
        ledgerFile: options.ledger,
        output: out,
        clock: systemClock,
        interactive: options.input !== false && Boolean(process.stdin.isTTY && process.stdout.isTTY) && !ci,
        cancel: controller.signal,
        secrets,
        readOnly: typeof behaviour.readOnly === 'function' ? behaviour.readOnly(options) : Boolean(behaviour.readOnly),
      });
      exitCode = (await handler(ctx, out, options, ...positional)) ?? ExitCode.ok;
    } catch (err) {
      exitCode = report(err, { verbose: Boolean(options.verbose), json: Boolean(options.json), secrets }, out);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await ctx?.closeLedger().catch(() => {});
    }
  };
}

