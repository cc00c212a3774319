import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import * as errors from '../src/errors.js';
import { EXIT_CODE_MEANINGS, ExitCode, OpsError } from '../src/errors.js';
import { PROJECT_ROOT, runOps } from './helpers/ops.js';

/** Every error class exported by src/errors.ts, made with placeholder arguments. */
function errorClasses(): Array<{ name: string; error: OpsError }> {
  return Object.entries(errors)
    .filter(([, value]) => typeof value === 'function' && (value === OpsError || value.prototype instanceof OpsError))
    .map(([name, Class]) => ({ name, error: new (Class as new (...args: string[]) => OpsError)('what', 'how', 'more') }));
}

/** The README's exit-code table: code -> [meaning, error codes]. */
function readmeTable(): Map<number, { meaning: string; codes: string[] }> {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Exit codes\n'), readme.indexOf('\n## ', readme.indexOf('\n## Exit codes\n') + 1));
  const rows = new Map<number, { meaning: string; codes: string[] }>();
  for (const line of section.split('\n')) {
    const cells = /^\| (\d+) \| (.*?) \| (.*?) ?\|$/.exec(line);
    if (cells) rows.set(Number(cells[1]), { meaning: cells[2]!, codes: [...cells[3]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!) });
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('one exit-code table', () => {
  it('the error classes, the README table and ops --help agree: one exit code per class, one meaning per code', async () => {
    const table = readmeTable();
    assert.deepEqual([...table.keys()], Object.values(ExitCode), 'the README lists exactly the exit codes of ExitCode, in order');
    for (const [code, meaning] of Object.entries(EXIT_CODE_MEANINGS)) assert.equal(table.get(Number(code))!.meaning, meaning, `README meaning of ${code}`);

    const classes = errorClasses();
    assert.ok(classes.length >= 10, `found ${classes.map((c) => c.name).join(', ')}`);
    const byCode = new Map<string, number>();
    for (const { name, error } of classes) {
      assert.ok(table.has(error.exitCode), `${name} exits ${error.exitCode}, which the README does not list`);
      assert.ok(table.get(error.exitCode)!.codes.includes(error.code), `${name} (${error.code}) is missing from the README row of exit code ${error.exitCode}`);
      const before = byCode.get(error.code);
      assert.ok(before === undefined || before === error.exitCode, `error code ${error.code} has two exit codes`);
      byCode.set(error.code, error.exitCode);
    }
    // The error classes that shape the contract are there, with the codes the README promises.
    const exitOf = (name: string) => classes.find((c) => c.name === name)!.error.exitCode;
    assert.deepEqual(
      ['NotFoundError', 'UsageError', 'GateBlockedError', 'InputNeededError', 'InterruptedError'].map(exitOf),
      [ExitCode.failed, ExitCode.usage, ExitCode.gate, ExitCode.inputNeeded, ExitCode.interrupted],
    );
    // Every code in the README comes from a class (or is `internal`: an error ops did not expect).
    for (const [exit, row] of table) for (const code of row.codes) assert.ok(code === 'internal' ? exit === 1 : byCode.get(code) === exit, `README lists ${code} under ${exit}`);

    const help = await runOps(['--help']);
    for (const [code, meaning] of Object.entries(EXIT_CODE_MEANINGS)) assert.match(help.stdout, new RegExp(`\\n  ${code} +${meaning.replace(/[()]/g, '\\$&')}\\n`));
  });

  it('every error class lives in src/errors.ts, so the walk above sees them all', () => {
    const names = new Set(errorClasses().map((c) => c.name));
    for (const file of sourceFiles(join(PROJECT_ROOT, 'src'))) {
      if (file.endsWith('/src/errors.ts')) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(/class (\w+) extends (\w+)/g)) {
        assert.ok(!names.has(match[2]!), `${relative(PROJECT_ROOT, file)}: ${match[1]} extends ${match[2]}; define it in src/errors.ts with its own code`);
      }
    }
  });
});
