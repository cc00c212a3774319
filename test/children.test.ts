import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { childPids, cleanEnv, OPS_BIN, processName, runOps, runOpsInTerminal } from './helpers/ops.js';

/** Gone: no such process, or a zombie nobody has reaped yet (it runs no more). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll until every pid is gone; false after `boundMs` (generous: the machine is shared). */
async function allGone(pids: number[], boundMs = 30_000): Promise<boolean> {
  const until = Date.now() + boundMs;
  while (Date.now() < until) {
    if (pids.every(gone)) return true;
    await pause(100);
  }
  return pids.every(gone);
}

/** The `sleep` processes under a process, at any depth (the watchdog `sh` has none while ops lives). */
function sleepers(pid: number): number[] {
  return childPids(pid).flatMap((child) => [...(processName(child) === 'sleep' ? [child] : []), ...sleepers(child)]);
}

/** `ops exec -- <command>`, resolved once `count` sleep processes run under it. */
async function startExec(command: string[], count: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ops-children-'));
  const ledger = join(dir, 'l.db');
  const env = cleanEnv();
  const ops = spawn(process.execPath, [OPS_BIN, '--ledger', ledger, 'exec', '--', ...command], { cwd: dir, env, stdio: ['pipe', 'ignore', 'ignore'] });
  const closed = new Promise<number | null>((resolve) => ops.on('close', resolve));
  while (sleepers(ops.pid!).length < count) await pause(20);
  // Past the first moments: a SIGKILL between the child's exec and ops listing it (microseconds,
  // more on a loaded machine) is the one window the watchdog cannot close.
  await pause(500);
  return { dir, ledger, env, ops, closed, sleeps: sleepers(ops.pid!) };
}

describe('children die with ops', () => {
  it('SIGKILL of `ops exec -- sleep 300`: the sleep is gone within seconds, and the run reads interrupted', async () => {
    const { dir, ledger, env, ops, closed, sleeps } = await startExec(['sleep', '300'], 1);
    ops.kill('SIGKILL');
    await closed;
    assert.ok(await allGone(sleeps), `sleep ${sleeps} outlived a killed ops`);
    const list = await runOps(['--ledger', ledger, 'runs', 'list', '--json'], { cwd: dir, env });
    assert.equal(JSON.parse(list.stdout)[0].status, 'interrupted');
  });

  it('SIGKILL: what the command started goes too (its process group)', async () => {
    const { ops, closed, sleeps } = await startExec(['sh', '-c', 'sleep 300 & sleep 300 & wait'], 2);
    ops.kill('SIGKILL');
    await closed;
    assert.ok(await allGone(sleeps), `sleeps ${sleeps} outlived a killed ops`);
  });

  it('SIGTERM stops the command and what it started, and exits 130', async () => {
    const { ops, closed, sleeps } = await startExec(['sh', '-c', 'sleep 300 & wait'], 1);
    ops.kill('SIGTERM');
    assert.equal(await closed, 130);
    assert.ok(await allGone(sleeps), `sleep ${sleeps} outlived a stopped ops`);
  });

  it('on a terminal the command keeps it: it can open /dev/tty to prompt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-children-'));
    const result = await runOpsInTerminal(['--ledger', join(dir, 'l.db'), 'exec', '--', 'sh', '-c', 'exec 3</dev/tty && echo tty-ok'], dir, []);
    assert.match(result.stdout, /tty-ok/);
  });
});
