import type { Command } from 'commander';
import { createContext, isCI, type Context } from '../core/context.js';
import { ExitCode, OpsError } from '../core/errors.js';
import { systemClock } from '../core/output.js';
import { secretValuesFromEnv } from '../core/redact.js';
import { CliOutput, colorEnabled } from './output.js';
import { registerBuild } from './commands/build.js';
import { registerDeploy } from './commands/deploy.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExec } from './commands/exec.js';
import { registerIncident } from './commands/incident.js';
import { registerTriage } from './commands/triage.js';
import { registerInit } from './commands/init.js';
import { registerModel } from './commands/model.js';
import { registerRisk } from './commands/risk.js';
import { registerRuns } from './commands/runs.js';
import { registerWatch } from './commands/watch.js';

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

let exitCode: number = ExitCode.ok;

function report(err: unknown, verbose: boolean, out: CliOutput | undefined): number {
  const red = (text: string) => (out ? out.chalk.red(text) : text);
  if (err instanceof OpsError) {
    process.stderr.write(`${red('error:')} ${err.message}${err.hint ? `; ${err.hint}` : ''}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const message = (err as Error)?.message ?? String(err);
  process.stderr.write(`${red('error:')} ${message}${verbose ? '' : ' (run again with --verbose for details)'}\n`);
  if (verbose && (err as Error)?.stack) process.stderr.write(`${(err as Error).stack}\n`);
  return ExitCode.failed;
}

/** Wrap an action: build the context, handle signals, map errors to exit codes. */
export function action<O, A extends unknown[] = []>(handler: Action<O, A>, behaviour: { graceful?: boolean } = {}) {
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
    const onSignal = (signal: NodeJS.Signals) => {
      // A graceful command (ops watch) finishes its cycle on the first signal; a second one stops it now.
      if (behaviour.graceful && !controller.signal.aborted) {
        controller.abort(signal);
        process.stderr.write(`\n${signal}: stopping after the current cycle (again to stop now)\n`);
        return;
      }
      if (controller.signal.aborted && !behaviour.graceful) return;
      controller.abort(signal);
      if (ctx) {
        void import('../core/runs.js').then(({ interruptActiveRuns }) => {
          try {
            interruptActiveRuns(ctx!, signal);
          } finally {
            process.stderr.write(`\ninterrupted by ${signal}\n`);
            process.exit(ExitCode.interrupted);
          }
        });
      } else {
        process.exit(ExitCode.interrupted);
      }
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
      });
      exitCode = (await handler(ctx, out, options, ...positional)) ?? ExitCode.ok;
    } catch (err) {
      exitCode = report(err, Boolean(options.verbose), out);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  };
}

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the operation failed
  2    usage, configuration or environment error (nothing was changed)
  3    blocked by a policy gate (risk gate, promotion gate)
  4    input needed but the session is not interactive
  130  interrupted (SIGINT/SIGTERM)`;

export interface Installation {
  version: string;
  /** Folder holding package.json and templates/. */
  packageRoot: string;
}

let installation: Installation;

/** A file shipped with ops (templates/...). */
export function packageFile(relativePath: string): string {
  return `${installation.packageRoot.replace(/\/?$/, '/')}${relativePath}`;
}

/**
 * Commands by name. Only the one being run is defined (commander builds every option and help
 * text it is given); help and unknown names get them all.
 */
const COMMANDS: Record<string, (program: Command, subcommand?: string) => void> = {
  init: registerInit,
  doctor: registerDoctor,
  runs: registerRuns,
  build: registerBuild,
  deploy: registerDeploy,
  model: registerModel,
  risk: registerRisk,
  watch: registerWatch,
  incident: registerIncident,
  triage: registerTriage,
  exec: registerExec,
};

const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--config', '--ledger', '--cwd']);

/** The (sub)command named in args: the first word that is not a global option or an option's value. */
function commandName(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return undefined;
    if (!arg.startsWith('-')) return arg;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
  }
  return undefined;
}

export async function main(argv: string[], install: Installation): Promise<number> {
  const { Command, CommanderError, Option } = await import('commander');
  installation = install;
  const { version } = install;
  exitCode = ExitCode.ok;

  const program = new Command('ops')
    .description('Build, deploy, watch, triage and score risk in one loop, recorded in a local SQLite ledger.')
    .version(version, '-V, --version')
    .option('--json', 'print one JSON document on stdout; messages go to stderr')
    .option('-q, --quiet', 'print only results and errors')
    .option('--verbose', 'show stack traces and child-process command lines')
    .option('--no-input', 'never prompt (implied when stdin is not a TTY or CI=true)')
    .option('--no-color', 'disable colour (also NO_COLOR, TERM=dumb, or output that is not a TTY)')
    .option('--config <file>', 'use this config file instead of searching for ops.config.yaml')
    .addOption(new Option('--ledger <file>', 'ledger database file').env('OPS_LEDGER'))
    .option('--cwd <dir>', 'run as if started in this folder')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `
Examples:
  $ ops init                 create ops.config.yaml for this project
  $ ops doctor               check the tools, the engine and the ledger
  $ ops build --push         build every service, tagged by git state, and push
  $ ops runs list --limit 20 the latest recorded runs
${EXIT_CODES_HELP}

Docs: README.md in the ops repository.`)
    .exitOverride();

  const args = argv.slice(2);
  const wanted = commandName(args);
  const subcommand = wanted ? commandName(args.slice(args.indexOf(wanted) + 1)) : undefined;
  for (const [name, register] of Object.entries(COMMANDS)) {
    if (!wanted || !(wanted in COMMANDS)) register(program);
    else if (name === wanted) register(program, subcommand);
  }
  for (const command of program.commands) command.exitOverride().showHelpAfterError('(add --help for usage)');

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    return report(err, argv.includes('--verbose'), undefined);
  }
  return exitCode;
}
