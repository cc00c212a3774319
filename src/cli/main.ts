import type { Command } from 'commander';
import { ECHO_MAX_CHARS, escapeControl, EXIT_CODE_MEANINGS, ExitCode, UsageError } from '../errors.js';
import { errorDocument, report, takeExitCode } from './action.js';
import { setInstallation, type Installation } from './installation.js';
import { registerBuild } from './commands/build.js';
import { registerCompletion } from './commands/completion.js';
import { registerData } from './commands/data.js';
import { registerDeploy } from './commands/deploy.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExec } from './commands/exec.js';
import { registerIncident } from './commands/incident.js';
import { registerLedger } from './commands/ledger.js';
import { registerTriage } from './commands/triage.js';
import { registerInit } from './commands/init.js';
import { registerMetrics } from './commands/metrics.js';
import { registerModel } from './commands/model.js';
import { registerReport } from './commands/report.js';
import { registerRisk } from './commands/risk.js';
import { registerRuns } from './commands/runs.js';
import { registerStatus } from './commands/status.js';
import { registerUi } from './commands/ui.js';
import { registerWatch } from './commands/watch.js';

const EXIT_CODES_HELP = `
Exit codes:
${Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => `  ${code.padEnd(4)} ${meaning}`).join('\n')}`;

/**
 * Commands by name. Only the one being run is defined (commander builds every option and help
 * text it is given); help and unknown names get them all.
 */
const COMMANDS: Record<string, (program: Command, subcommand?: string) => void> = {
  init: registerInit,
  doctor: registerDoctor,
  status: registerStatus,
  runs: registerRuns,
  ledger: registerLedger,
  build: registerBuild,
  deploy: registerDeploy,
  model: registerModel,
  data: registerData,
  risk: registerRisk,
  watch: registerWatch,
  incident: registerIncident,
  triage: registerTriage,
  exec: registerExec,
  metrics: registerMetrics,
  report: registerReport,
  ui: registerUi,
  completion: registerCompletion,
};

/** Other names of commands (commander aliases), so that only their command is defined. */
const ALIASES: Record<string, string> = { dora: 'metrics' };

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

/** Commander's own errors echo arguments in single quotes: cut long ones, and escape control characters as ours do. */
function commanderError(text: string): string {
  const cut = text.replace(/\n$/, '').replace(/'([^']*)'/g, (whole, inner: string) => {
    const chars = [...inner];
    return chars.length > ECHO_MAX_CHARS ? `'${chars.slice(0, ECHO_MAX_CHARS).join('')}…' (${chars.length} characters)` : whole;
  });
  return `${escapeControl(cut)}\n`;
}

/** --json among the options (not after `--`, where the words belong to a child command). */
function jsonWanted(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/**
 * The ops program with the commands `args` needs: only the one named (and of a group only the
 * subcommand named, where the group supports it); every command for help, an unknown name, or
 * no args at all (completion scripts and tests walk that whole tree).
 */
export async function buildProgram(args: string[], version: string): Promise<Command> {
  const { Command, InvalidArgumentError, Option } = await import('commander');
  /** A path flag: an empty value (an unset shell variable) is a usage error, not the default. */
  const nonEmpty = (what: string) => (value: string) => {
    if (value === '') throw new InvalidArgumentError(`expected ${what}, not an empty value; give a path, or leave the option out for the default`);
    return value;
  };
  const program = new Command('ops')
    .description('Build, deploy, watch, triage and score risk in one loop, recorded in a local SQLite ledger.')
    .version(version, '-V, --version')
    .option('--json', 'print one JSON document on stdout; messages go to stderr')
    .option('-q, --quiet', 'print only results and errors')
    .option('--verbose', 'show stack traces and child-process command lines')
    .option('--no-input', 'never prompt (implied when stdin is not a TTY or CI=true)')
    .option('--no-color', 'disable colour (also NO_COLOR, TERM=dumb, or output that is not a TTY)')
    .option('--config <file>', 'use this config file instead of searching for ops.config.yaml', nonEmpty('a config file'))
    .addOption(new Option('--ledger <file>', 'ledger database file').env('OPS_LEDGER').argParser(nonEmpty('a ledger file')))
    .option('--cwd <dir>', 'run as if started in this folder', nonEmpty('a folder'))
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(commanderError(text)) })
    // Inherited by every command defined below: each --help lists the global options too.
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', `
Examples:
  $ ops init                 create ops.config.yaml for this project
  $ ops doctor               check the tools, the engine and the ledger
  $ ops build --push         build every service, tagged by git state, and push
  $ ops runs list --limit 20 the latest recorded runs
${EXIT_CODES_HELP}

Docs: README.md in the ops repository.`)
    .exitOverride();

  const named = commandName(args);
  const wanted = named && (ALIASES[named] ?? named);
  const subcommand = named ? commandName(args.slice(args.indexOf(named) + 1)) : undefined;
  for (const [name, register] of Object.entries(COMMANDS)) {
    if (!wanted || !(wanted in COMMANDS)) register(program);
    else if (name === wanted) register(program, subcommand);
  }
  for (const command of program.commands) command.exitOverride().showHelpAfterError('(add --help for usage)');
  return program;
}

export async function main(argv: string[], install: Installation): Promise<number> {
  const { CommanderError } = await import('commander');
  setInstallation(install);
  takeExitCode();
  const args = argv.slice(2);
  if (args[0] === '__complete') {
    // The shell asks for candidates at each TAB (see cli/completion.ts): the whole tree, no context.
    const { complete, configNames } = await import('./completion.js');
    const words = args.slice(args[1] === '--' ? 2 : 1);
    const candidates = await complete(await buildProgram([], install.version), words, () => configNames(words, process.env));
    process.stdout.write(candidates.map((c) => `${c}\n`).join(''));
    return ExitCode.ok;
  }
  const program = await buildProgram(args, install.version);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    const json = jsonWanted(args);
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      // Commander has written its line to stderr already; --json adds the document on stdout.
      if (json) process.stdout.write(`${JSON.stringify(errorDocument(new UsageError(err.message.replace(/^error: /, ''), 'add --help for usage')), null, 2)}\n`);
      return ExitCode.usage;
    }
    return report(err, { verbose: args.includes('--verbose'), json, secrets: [] }, undefined);
  }
  return takeExitCode();
}
