import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { OPS_BIN } from './ops.js';

export interface UiProcess {
  url: string;
  /** The URL's origin, without the token. */
  origin: string;
  stderr(): string;
}

/** Start `ops ui` (its first stdout line is the URL to open); stopped with SIGTERM after the test. */
export function startUi(t: TestContext, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<UiProcess> {
  const child = spawn(process.execPath, [OPS_BIN, 'ui', '--port', '0', ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ops ui printed no URL within 20 s: ${stderr}`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const line = stdout.split('\n')[0]!;
      if (stdout.includes('\n') && /^http:\/\//.test(line)) {
        clearTimeout(timer);
        const url = new URL(line);
        resolve({ url: line, origin: url.origin, stderr: () => stderr });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ops ui exited ${code}: ${stderr}`));
    });
  });
}
