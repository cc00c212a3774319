import { renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Context } from '../context.js';
import type { MetricsRequest } from '../metrics/index.js';
import { OpsError } from '../../errors.js';
import { PageRenderer, type PageFiles } from './render.js';
import { chartData, overview } from './view.js';
import type { MetricsReport } from '../metrics/compute.js';

export interface ReportResult {
  path: string;
  bytes: number;
  metrics: MetricsReport;
}

/** The ledger as a page may name it: a URL without its password. */
export function ledgerLabel(ctx: Context): string {
  return ctx.ledgerPath.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/** `ops report`: one self-contained HTML file of the window (written whole, then moved into place). */
export async function writeReport(ctx: Context, request: MetricsRequest & { out: string }, files: PageFiles, version: string): Promise<ReportResult> {
  const view = await overview(ctx, request);
  const renderer = new PageRenderer(files);
  const project = ctx.config?.project ?? 'ops';
  const html = renderer.render('overview', 'delivery report', { project, version, ledger: ledgerLabel(ctx), generatedAt: new Date(ctx.clock.now()).toISOString(), mode: 'report' }, view, chartData(view));
  const path = resolve(ctx.cwd, request.out);
  const partial = `${path}.${process.pid}.partial`;
  try {
    writeFileSync(partial, html, { mode: 0o644 });
    renameSync(partial, path);
  } catch (err) {
    throw new OpsError(`cannot write ${path}: ${(err as Error).message}`, `check that ${dirname(path)} exists and is writable, or pass --out <file>`);
  }
  return { path, bytes: Buffer.byteLength(html), metrics: view.metrics };
}
