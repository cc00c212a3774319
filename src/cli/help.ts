import type { Command } from 'commander';
import { EXIT_CODE_MEANINGS, ExitCode } from '../errors.js';

/** The part of a command's --help after its options, in one layout for every command. */
export interface HelpSpec {
  /** What the command does beyond its one-line description (wrapped text, no indentation). */
  details?: string;
  /** Command lines without the `$ `; a comment may follow after two spaces. */
  examples: string[];
  /**
   * What this command's own failure codes mean: 1 (always), 3 (a gate), 4 (a prompt); 0 may say
   * what success is. 2 and 130 are the same for every command and are added here.
   */
  exitCodes?: { 0?: string; 1: string; 3?: string; 4?: string };
  /** A line under "Exit codes:" before the list (ops exec passes its command's code through). */
  exitCodesNote?: string;
}

const USAGE = 'bad flags, config or ledger; nothing was changed';

/** The exit codes a command lists: its own words for 0, 1, 3 and 4, the table's for 2 and 130. */
function exitCodeLines(codes: NonNullable<HelpSpec['exitCodes']>): string[] {
  const rows: Array<[number, string]> = [[ExitCode.ok, codes[0] ?? EXIT_CODE_MEANINGS[ExitCode.ok]], [ExitCode.failed, codes[1]], [ExitCode.usage, USAGE]];
  if (codes[3]) rows.push([ExitCode.gate, codes[3]]);
  if (codes[4]) rows.push([ExitCode.inputNeeded, codes[4]]);
  rows.push([ExitCode.interrupted, 'interrupted (SIGINT/SIGTERM)']);
  return rows.map(([code, meaning]) => `  ${String(code).padEnd(4)} ${meaning}`);
}

export function helpText(spec: HelpSpec): string {
  const parts: string[] = [];
  if (spec.details) parts.push(spec.details.trim());
  parts.push(['Examples:', ...spec.examples.map((line) => `  $ ${line}`)].join('\n'));
  if (spec.exitCodes) parts.push(['Exit codes:', ...(spec.exitCodesNote ? [`  ${spec.exitCodesNote}`] : []), ...exitCodeLines(spec.exitCodes)].join('\n'));
  return `\n${parts.join('\n\n')}`;
}

/** Add the help text after a command's options. */
export function withHelp(command: Command, spec: HelpSpec): Command {
  return command.addHelpText('after', helpText(spec));
}
