import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Children die with ops, even when ops is killed with SIGKILL (which no handler sees, and Node has
 * no prctl(PR_SET_PDEATHSIG)). Each child runs in its own process group (a new session) so that
 * stopping it stops what it started too, and one watchdog per ops process (a `sh` in its own
 * session, ignoring the terminal's signals) keeps the list of live groups on its stdin: when ops
 * dies the pipe closes, and the watchdog sends SIGTERM to every group still listed, then SIGKILL
 * after a grace period. Measured on Linux: setpriv --pdeathsig kills the direct child only (a
 * shell's own children lived on) and a closed stdin stops only children that read it.
 *
 * With a terminal on stdin a child stays in ops's foreground group instead, so that it can prompt
 * on /dev/tty and gets Ctrl-C itself; the watchdog then stops the child, not what it started.
 * Windows has neither process groups nor `sh`: there children are plain, as before.
 */
/** How long the watchdog waits between SIGTERM and SIGKILL. */
const GRACE_SECONDS = 3;

const WATCHDOG_SCRIPT = `trap '' INT TERM HUP
targets=' '
while read -r verb target; do
  case $verb in
    add) targets="$targets$target " ;;
    del) case $targets in *" $target "*) targets="\${targets%%" $target "*} \${targets#*" $target "}" ;; esac ;;
  esac
done
[ -z "\${targets# }" ] && exit 0
for t in $targets; do kill -TERM $t 2>/dev/null; done
sleep ${GRACE_SECONDS}
for t in $targets; do kill -KILL $t 2>/dev/null; done
`;

const supported = process.platform !== 'win32';
let watchdog: ChildProcess | null | undefined;

/** Start the watchdog once, before the first child: a child killed with ops must already be seen. */
function startWatchdog(): void {
  if (watchdog !== undefined) return;
  try {
    watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    // A watchdog that could not start (or was killed) leaves children as they were before it.
    watchdog.on('error', () => (watchdog = null));
    watchdog.stdin!.on('error', () => (watchdog = null));
    // It must not keep ops alive: it only ever waits for ops to end.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref(): void }).unref();
  } catch {
    watchdog = null;
  }
}

function tell(line: string): void {
  watchdog?.stdin!.write(`${line}\n`);
}

/** spawn/execa options for a child that dies with ops: its own group unless it needs the terminal. */
export function childOptions(stdinIsTerminal = false): { detached: boolean } {
  if (supported) startWatchdog();
  return { detached: supported && !stdinIsTerminal };
}

/** The target a signal for this child goes to: its group when it has one. */
function target(child: ChildProcess, detached: boolean): number {
  return detached ? -child.pid! : child.pid!;
}

/** Put a spawned child (spawned with `childOptions`) on the watchdog's list until it exits. */
export function guard(child: ChildProcess, options: { detached: boolean }): void {
  if (!supported || child.pid === undefined) return;
  const who = target(child, options.detached);
  tell(`add ${who}`);
  child.once('exit', () => tell(`del ${who}`));
}

/** Signal a guarded child (its whole group when it has one); false when it is gone already. */
export function signalChild(child: ChildProcess, options: { detached: boolean }, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
  try {
    process.kill(supported ? target(child, options.detached) : child.pid, signal);
    return true;
  } catch {
    return false;
  }
}
