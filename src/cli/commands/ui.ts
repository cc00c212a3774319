import { InvalidArgumentError, type Command } from 'commander';
import { action } from '../action.js';
import { helpText } from '../help.js';
import { durationFlag } from '../format.js';
import { installedVersion } from '../installation.js';
import { windowOptions, type WindowOptions } from './metrics.js';
import { pageFiles } from './report.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

export function registerUi(program: Command): void {
  windowOptions(program.command('ui').description('a local, read-only web UI over the live ledger: the report, and a page per release, incident, model version and run'))
    .option('--port <n>', 'port to listen on (0: any free port)', port, 7600)
    .option('--host <address>', 'address to listen on; anything but loopback needs the token printed at start', '127.0.0.1')
    .option('--refresh <duration>', 'how often open pages check the ledger for changes', durationFlag, 5000)
    .addHelpText('after', helpText({
      details: `The UI only reads: there are no write endpoints, and it answers while other ops processes write.
Pages reload themselves when the ledger changes. Stop it with Ctrl-C.`,
      examples: [
        'ops ui                               http://127.0.0.1:7600/',
        'ops ui --port 0 --since 90d',
        'ops ui --host 0.0.0.0                reachable from other machines; open the printed URL (it carries the token)',
      ],
      exitCodes: { 0: 'stopped by SIGINT/SIGTERM', 1: 'an unexpected failure (details with --verbose)' },
    }))
    .action(
      action<WindowOptions & { port: number; host: string; refresh: number }>(
        async (ctx, out, options) => {
          const { startUi } = await import('../../core/report/server.js');
          const { host } = options;
          const request = { since: options.since, until: options.until, env: options.env, service: options.service, by: options.by };
          const ui = await startUi(ctx, { host, port: options.port, files: pageFiles(), version: installedVersion(), request, refreshMs: Math.max(500, options.refresh) });
          if (options.json) out.json({ url: ui.url, token: ui.token });
          else out.result(ui.url);
          out.info(ui.token ? `ops ui on ${host}: every request needs the token in this URL` : 'ops ui: read-only, Ctrl-C to stop');
          await new Promise<void>((resolve) => (ctx.cancel.aborted ? resolve() : ctx.cancel.addEventListener('abort', () => resolve(), { once: true })));
          await ui.close();
        },
        { graceful: true },
      ),
    );
}
