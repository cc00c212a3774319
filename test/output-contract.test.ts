import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { EXIT_CODE_MEANINGS } from '../src/errors.js';
import { gitRepo } from './helpers/git.js';
import { childPids, cleanEnv, OPS_BIN, processName, runOps } from './helpers/ops.js';

/** Every command, groups too (commander's own `help` pseudo-command left out). */
export async function allCommands(): Promise<Array<{ words: string[]; aliases: string[]; runs: boolean; group: boolean }>> {
  const program = await buildProgram([], '0.0.0');
  const found: Array<{ words: string[]; aliases: string[]; runs: boolean; group: boolean }> = [];
  const walk = (command: Command, path: string[]) => {
    found.push({ words: path, aliases: command.aliases(), runs: Boolean((command as unknown as { _actionHandler?: unknown })._actionHandler), group: command.commands.length > 0 });
    for (const sub of command.commands) if (sub.name() !== 'help') walk(sub, [...path, sub.name()]);
  };
  for (const command of program.commands) walk(command, [command.name()]);
  return found;
}

/** The lines of a help section ("Examples:", "Exit codes:") up to the next blank line. */
function section(help: string, title: string): string[] | undefined {
  const start = help.indexOf(`\n${title}\n`);
  if (start < 0) return undefined;
  const rest = help.slice(start + title.length + 2);
  return rest.slice(0, rest.search(/\n\n|$/)).split('\n').filter(Boolean);
}

/** Every command that runs an action, by its words: `deploy`, `deploy rollback`, `model show`... */
export async function actionCommands(): Promise<string[][]> {
  const program = await buildProgram([], '0.0.0');
  const found: string[][] = [];
  const walk = (command: Command, path: string[]) => {
    if ((command as unknown as { _actionHandler?: unknown })._actionHandler) found.push(path);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  for (const command of program.commands) walk(command, [command.name()]);
  return found;
}

/** The command `args` runs: the longest run of leading words that names one (global options skipped). */
export function commandOf(commands: string[], args: string[]): string | undefined {
  const words = args.filter((a, i) => !a.startsWith('-') && !['--config', '--ledger', '--cwd'].includes(args[i - 1] ?? ''));
  for (let n = Math.min(words.length, 2); n > 0; n--) if (commands.includes(words.slice(0, n).join(' '))) return words.slice(0, n).join(' ');
  return undefined;
}

/** A project with one service and one environment, a git repo, and no ledger yet. */
function project(): { dir: string; env: NodeJS.ProcessEnv } {
  const repo = gitRepo();
  repo.commit({ Dockerfile: 'FROM busybox\n' }, 'first');
  writeFileSync(join(repo.dir, 'ops.config.yaml'), 'project: contract\nservices:\n  web:\n    image: contract/web\nenvironments:\n  local:\n    target: docker\n');
  return { dir: repo.dir, env: cleanEnv() };
}

describe('one output contract', () => {
  let p: { dir: string; env: NodeJS.ProcessEnv };
  before(() => {
    p = project();
  });

  it('--json errors: one {"error": {message, hint, code, exitCode}} on stdout and the line on stderr, for every command', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ops-contract-'));
    // One error per command, with the exit code and error.code it must give.
    const cases: Array<[string[], number, string]> = [
      [['init', '--no-input'], 4, 'input_needed'],
      [['doctor', 'extra'], 2, 'usage'],
      [['runs', 'list', '--status', 'done'], 2, 'usage'],
      [['runs', 'show', '99'], 1, 'not_found'],
      [['build', 'nosuch'], 2, 'usage'],
      [['deploy', 'web'], 2, 'usage'],
      [['deploy', 'rollback', 'web', '--env', 'local', '--to', '99'], 1, 'not_found'],
      [['deploy', 'history', 'web', '--env', 'nope'], 2, 'usage'],
      [['deploy', 'status', '--env', 'nope'], 2, 'usage'],
      [['model', 'train', 'm'], 2, 'usage'],
      [['model', 'register', 'm', '--run', '99'], 1, 'not_found'],
      [['model', 'promote', 'm@1', '--to', 'production'], 1, 'not_found'],
      [['model', 'rollback', 'm', '--alias', 'production'], 1, 'not_found'],
      [['model', 'list', 'extra'], 2, 'usage'],
      [['model', 'show', 'm'], 1, 'not_found'],
      [['model', 'history', 'm'], 1, 'not_found'],
      [['model', 'lineage', 'm@1'], 1, 'not_found'],
      [['model', 'diff', 'm@1', 'm@2'], 1, 'not_found'],
      [['model', 'verify', 'm@1'], 1, 'not_found'],
      [['model', 'predict', 'm@1', '--data', 'x.csv'], 1, 'not_found'],
      [['model', 'log', 'x.jsonl'], 2, 'usage'],
      [['model', 'label', 'x.jsonl'], 2, 'usage'],
      [['model', 'monitor', 'm@production'], 1, 'not_found'],
      [['model', 'retrain', 'm@production'], 1, 'not_found'],
      [['risk', 'train', '--repo', empty], 2, 'usage'],
      [['risk', 'mine', '--repo', empty], 2, 'usage'],
      [['risk', 'labels', '--repo', empty], 2, 'usage'],
      [['risk', 'eval'], 2, 'usage'],
      [['risk', 'score'], 2, 'usage'],
      [['watch', '--once'], 2, 'usage'],
      [['watch', 'eval', '--nab', join(empty, 'nab')], 2, 'usage'],
      [['incident', 'list', '--state', 'closed'], 2, 'usage'],
      [['incident', 'show', '9'], 1, 'not_found'],
      [['incident', 'ack', '9'], 1, 'not_found'],
      [['incident', 'resolve', '9'], 1, 'not_found'],
      [['triage'], 1, 'not_found'],
      [['data', 'profile', join(empty, 'nope.csv')], 2, 'usage'],
      [['data', 'check', join(empty, 'nope.csv')], 2, 'usage'],
      [['exec'], 2, 'usage'],
      [['metrics', '--env', 'local', '--by', 'month'], 2, 'usage'],
      [['report', '--env', 'local', '--until', 'soon'], 2, 'usage'],
      [['ui', '--port', '99999'], 2, 'usage'],
      [['--config', join(empty, 'nope.yaml'), 'runs', 'list'], 2, 'config'],
      [['ledger', 'migrate'], 2, 'usage'],
      [['ledger', 'export', '--out', join(empty, 'no', 'such', 'dir', 'x.jsonl')], 2, 'usage'],
      [['ledger', 'import', join(empty, 'nope.jsonl')], 2, 'usage'],
      [['status', 'extra'], 2, 'usage'],
      [['completion', 'tcsh'], 2, 'usage'],
      [['no-such-command'], 2, 'usage'],
      [['runs', 'list', '--colour'], 2, 'usage'],
    ];
    const commands = (await actionCommands()).map((words) => words.join(' '));
    const covered = new Set(cases.map(([args]) => commandOf(commands, args)));
    for (const command of commands) assert.ok(covered.has(command), `no --json error case for \`ops ${command}\``);
    for (const [args, exitCode, code] of cases) {
      const shown = `ops ${args.join(' ')} --json`;
      const result = await runOps([...args, '--json'], { cwd: p.dir, env: p.env });
      assert.equal(result.code, exitCode, `${shown}: ${result.stderr}`);
      const doc = JSON.parse(result.stdout);
      assert.deepEqual(Object.keys(doc), ['error'], shown);
      assert.deepEqual(Object.keys(doc.error), ['message', 'hint', 'code', 'exitCode'], shown);
      assert.deepEqual([doc.error.code, doc.error.exitCode], [code, exitCode], shown);
      assert.ok(doc.error.message.length > 0 && doc.error.hint.length > 0, shown);
      assert.match(result.stderr, new RegExp(`^error: ${doc.error.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').slice(0, 40)}`, 'm'), shown);
      // Without --json stdout stays empty: the document is the --json form of the error, not extra output.
      const plain = await runOps(args, { cwd: p.dir, env: p.env });
      assert.deepEqual([plain.code, plain.stdout], [exitCode, ''], `ops ${args.join(' ')}`);
    }
  });

  it('--help of every command: examples of its own, its own exit codes, the global options, no "(default: [])", one indentation', async () => {
    const commands = await allCommands();
    assert.ok(commands.length >= 35, `${commands.length} commands`);
    for (const { words, aliases, runs, group } of commands) {
      const shown = `ops ${words.join(' ')} --help`;
      // `ops metrics|dora`: a command may be shown, and given as an example, by an alias.
      const named = [words.slice(0, -1).join(' '), `(${[words[words.length - 1], ...aliases].join('|')})`].filter(Boolean).join(' ');
      const result = await runOps([...words, '--help'], { cwd: p.dir, env: p.env });
      assert.equal(result.code, 0, shown);
      const help = result.stdout;
      assert.match(help, new RegExp(`^Usage: ops ${named.replace('|', '\\|').replace(/[()]/g, '')}`), shown);
      assert.doesNotMatch(help, /\(default: \[\]\)/, shown);
      assert.match(help, /\nGlobal Options:\n(.*\n)*  --json +print one JSON document/, `${shown}: the global options`);
      const examples = section(help, 'Examples:');
      assert.ok(examples && examples.length > 0, `${shown}: no examples`);
      for (const line of examples) assert.match(line, new RegExp(`^  \\$ ops ${named}( |$)`), `${shown}: an example of another command, or indented differently: ${line}`);
      if (group) assert.match(help, /\nCommands:\n/, shown);
      const exits = section(help, 'Exit codes:');
      if (!runs) continue;
      assert.ok(exits, `${shown}: no exit codes`);
      const listed = exits.filter((line) => /^  \d/.test(line)).map((line) => {
        assert.match(line, /^  \d+ +\S/, `${shown}: ${line}`);
        return Number(line.trim().split(/\s/)[0]);
      });
      assert.deepEqual(listed, [...listed].sort((a, b) => a - b), `${shown}: exit codes in order`);
      for (const code of [0, 1, 2, 130]) assert.ok(listed.includes(code), `${shown} does not list exit code ${code}`);
      for (const code of listed) assert.ok(code in EXIT_CODE_MEANINGS, `${shown} lists ${code}, which is not in the table`);
      for (const line of exits) assert.match(line, /^  \S/, `${shown}: indentation of ${line}`);
    }
    // Each command says what its own failures are: listing models is not training them.
    const modelList = section((await runOps(['model', 'list', '--help'])).stdout, 'Exit codes:')!.join('\n');
    assert.doesNotMatch(modelList, /train|gate/);
    const promote = section((await runOps(['model', 'promote', '--help'])).stdout, 'Exit codes:')!.join('\n');
    assert.match(promote, /\n  3 +blocked by the alias's promotion gate/);
  });

  it('--json: interrupted is a JSON error too (exit 130, error.code interrupted)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-contract-'));
    const child = spawn(process.execPath, [OPS_BIN, '--ledger', join(dir, 'l.db'), '--json', 'exec', '--', 'sleep', '30'], { cwd: dir, env: cleanEnv() });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    while (!childPids(child.pid!).some((pid) => processName(pid) === 'sleep')) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 130);
    assert.deepEqual(JSON.parse(stdout).error, { message: 'interrupted by SIGTERM', hint: 'the run is recorded as interrupted; run the command again', code: 'interrupted', exitCode: 130 });
  });
});
