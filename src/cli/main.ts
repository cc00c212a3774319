import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { report, takeExitCode } from './action.js';
import { setInstallation, type Installation } from './installation.js';
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

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the operation failed
  2    usage, configuration or environment error (nothing was changed)
  3    blocked by a policy gate (risk gate, promotion gate)
  4    input needed but the session is not interactive
  130  interrupted (SIGINT/SIGTERM)`;

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
  setInstallation(install);
  const { version } = install;
  takeExitCode();

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
  return takeExitCode();
}
