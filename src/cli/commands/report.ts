import type { Command } from 'commander';
import { action } from '../action.js';
import { helpText } from '../help.js';
import { packageFile, installedVersion } from '../installation.js';
import { windowOptions, type WindowOptions } from './metrics.js';

/** The templates and the bundled chart library, in the installed package. */
export function pageFiles() {
  return { templates: packageFile('templates/report'), assets: packageFile('dist/bundle/assets') };
}

export function registerReport(program: Command): void {
  windowOptions(
    program
      .command('report')
      .description('write one self-contained HTML page of the four keys, releases, incidents, models, risk calibration and triage'),
  )
    .option('--out <file>', 'the HTML file to write', 'ops-report.html')
    .addHelpText('after', helpText({
      details: `The page needs no network: the chart library is inlined, and every number is in a table too, so it
reads without JavaScript. Its figures are those of \`ops metrics --json\` for the same window.`,
      examples: [
        'ops report --out report.html',
        'ops report --since 12w --env prod --out public/delivery.html',
        'ops report --out report.html --json     the path, size and the metrics it shows',
      ],
      exitCodes: { 0: 'wrote the page', 1: 'the page could not be written' },
    }))
    .action(
      action<WindowOptions & { out: string }>(async (ctx, out, options) => {
        const { writeReport } = await import('../../core/report/index.js');
        const written = await writeReport(ctx, options, pageFiles(), installedVersion());
        if (options.json) return out.json(written);
        out.result(written.path);
        out.info(`wrote ${written.path} (${Math.round(written.bytes / 1024)} KiB)`);
      }),
    );
}
