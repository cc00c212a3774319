import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setup, unavailable } from './helpers/engine.js';
import { gitRepo } from './helpers/git.js';
import { cleanEnv, OPS_BIN, runOps, runProcess } from './helpers/ops.js';

/** A project with two services and two environments, and a PATH on which `ops` is this build. */
function project(): { dir: string; env: NodeJS.ProcessEnv } {
  const repo = gitRepo();
  writeFileSync(
    join(repo.dir, 'ops.config.yaml'),
    'project: comp\nservices:\n  web:\n    image: comp/web\n  worker:\n    image: comp/worker\nenvironments:\n  local:\n    target: docker\n  staging:\n    target: docker\n',
  );
  const bin = mkdtempSync(join(tmpdir(), 'ops-bin-'));
  writeFileSync(join(bin, 'ops'), `#!/bin/sh\nexec "${process.execPath}" "${OPS_BIN}" "$@"\n`);
  chmodSync(join(bin, 'ops'), 0o755);
  return { dir: repo.dir, env: cleanEnv({ PATH: `${bin}:${process.env.PATH}` }) };
}

/** What bash completes for `line` (the cursor at its end) once the script is sourced. */
async function bashComplete(p: { dir: string; env: NodeJS.ProcessEnv }, line: string): Promise<string[]> {
  const script = [
    'source <(ops completion bash)',
    `read -ra COMP_WORDS <<< ${JSON.stringify(line)}`,
    // A trailing space starts a new, empty word.
    `[[ ${JSON.stringify(line)} == *' ' ]] && COMP_WORDS+=('')`,
    'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))',
    '_ops_complete',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const result = await runProcess('bash', ['-c', script], { cwd: p.dir, env: p.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

async function shell(t: TestContext, name: 'zsh' | 'fish'): Promise<boolean> {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    // Not installed: Debian has both.
  }
  const installed = await setup(['shells']);
  if (installed instanceof Error) return Boolean(unavailable(t, name, installed.message));
  return true;
}

describe('ops completion', () => {
  it('bash: sourced, it registers for ops and completes commands, options, services and environments from the config', async () => {
    const p = project();
    const registered = await runProcess('bash', ['-c', 'source <(ops completion bash) && complete -p ops'], { cwd: p.dir, env: p.env });
    assert.equal(registered.code, 0, registered.stderr);
    assert.match(registered.stdout, /^complete .*-F _ops_complete ops$/m);

    assert.deepEqual(await bashComplete(p, 'ops de'), ['deploy', 'doctor'].filter((c) => c.startsWith('de')));
    assert.deepEqual(await bashComplete(p, 'ops model pro'), ['promote']);
    assert.deepEqual(await bashComplete(p, 'ops deploy '), ['history', 'rollback', 'status', 'web', 'worker']);
    assert.deepEqual(await bashComplete(p, 'ops deploy web '), ['worker']);
    assert.deepEqual(await bashComplete(p, 'ops build wo'), ['worker']);
    assert.deepEqual(await bashComplete(p, 'ops deploy web --env '), ['local', 'staging']);
    assert.deepEqual(await bashComplete(p, 'ops deploy history web -e st'), ['staging']);
    assert.deepEqual(await bashComplete(p, 'ops risk score --service '), ['web', 'worker']);
    assert.deepEqual(await bashComplete(p, 'ops runs list --st'), ['--status']);
    // Global options on every command, and an option's choices.
    assert.ok((await bashComplete(p, 'ops runs show 1 --')).includes('--json'));
    assert.deepEqual(await bashComplete(p, 'ops triage --format m'), ['markdown']);
    assert.deepEqual(await bashComplete(p, 'ops completion '), ['bash', 'fish', 'zsh']);
    // Another config through --config is read for names; a file is completed where a path goes.
    writeFileSync(join(p.dir, 'other.yaml'), 'project: other\nservices:\n  api:\n    image: o/api\nenvironments:\n  prod:\n    target: docker\n');
    assert.deepEqual(await bashComplete(p, 'ops --config other.yaml deploy '), ['api', 'history', 'rollback', 'status']);
    assert.deepEqual(await bashComplete(p, 'ops --config oth'), ['other.yaml']);
    // Outside a project only the commands are known; no error leaks into the line.
    const empty = { dir: mkdtempSync(join(tmpdir(), 'ops-noconf-')), env: p.env };
    assert.deepEqual(await bashComplete(empty, 'ops deploy '), ['history', 'rollback', 'status']);
  });

  it('zsh and fish: the scripts parse, and fish completes through it', async (t) => {
    const p = project();
    for (const name of ['zsh', 'fish'] as const) {
      if (!(await shell(t, name))) return;
      const script = join(p.dir, `ops.${name}`);
      writeFileSync(script, (await runOps(['completion', name], { cwd: p.dir, env: p.env })).stdout);
      const checked = await runProcess(name, ['-n', script], { env: p.env });
      assert.equal(checked.code, 0, `${name} -n: ${checked.stderr}`);
    }
    const zsh = await runProcess('zsh', ['-c', `autoload -U compinit && compinit -u -D && source ${join(p.dir, 'ops.zsh')} && print -r -- $_comps[ops]`], { cwd: p.dir, env: p.env });
    assert.equal(zsh.stdout.trim(), '_ops', zsh.stderr);
    const fish = await runProcess('fish', ['-c', `source ${join(p.dir, 'ops.fish')}; complete -C 'ops deploy web --env '`], { cwd: p.dir, env: p.env });
    assert.deepEqual(fish.stdout.split('\n').filter(Boolean), ['local', 'staging'], fish.stderr);
  });

  it('usage: an unknown shell is exit 2', async () => {
    const result = await runOps(['completion', 'tcsh'], { env: cleanEnv() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish/);
  });
});
