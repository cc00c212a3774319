import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Eta } from 'eta';
import { formatters } from './format.js';

/** Where the page templates and the bundled chart library are (the CLI knows its install folder). */
export interface PageFiles {
  templates: string;
  assets: string;
}

export type PageMode = 'report' | 'ui';

/** How a page links to a record: an anchor in the one-file report, a page of its own in `ops ui`. */
export interface Links {
  section(name: string): string;
  release(id: number): string;
  incident(id: number): string;
  version(model: string, version: number): string;
  run(id: number): string;
}

export function linksFor(mode: PageMode): Links {
  if (mode === 'report') {
    return {
      section: (name) => `#${name}`,
      release: (id) => `#release-${id}`,
      incident: (id) => `#incident-${id}`,
      version: (model) => `#model-${encodeURIComponent(model)}`,
      // The report has no page per run: it names the run where it is used.
      run: () => '#models',
    };
  }
  return {
    section: (name) => `/#${name}`,
    release: (id) => `/releases/${id}`,
    incident: (id) => `/incidents/${id}`,
    version: (model, version) => `/models/${encodeURIComponent(model)}/${version}`,
    run: (id) => `/runs/${id}`,
  };
}

/** JSON safe inside a <script> element: no `</script>` or `<!--` can close or confuse it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export interface PageMeta {
  project: string;
  version: string;
  ledger: string;
  generatedAt: string;
  mode: PageMode;
  /** `ops ui`: the ledger version the page shows, polled to reload when it changes. */
  live?: { version: string; intervalMs: number };
}

/** Renders the page templates with the chart library, styles and script inlined: one self-contained file. */
export class PageRenderer {
  private readonly eta: Eta;
  private readonly assets: { css: string; js: string; uplot: string; uplotCss: string };

  constructor(files: PageFiles) {
    this.eta = new Eta({ views: files.templates, autoEscape: true, cache: true, autoTrim: [false, 'nl'] });
    this.assets = {
      css: readFileSync(join(files.templates, 'report.css'), 'utf8'),
      js: readFileSync(join(files.templates, 'report.js'), 'utf8'),
      uplot: readFileSync(join(files.assets, 'uPlot.iife.min.js'), 'utf8'),
      uplotCss: readFileSync(join(files.assets, 'uPlot.min.css'), 'utf8'),
    };
  }

  /** `chartData` is what the page's script draws from; the template gets `view` as `it`. */
  render(template: string, title: string, meta: PageMeta, view: object, chartData: object): string {
    return this.eta.render(`./${template}`, {
      ...view,
      title,
      meta,
      f: formatters,
      link: linksFor(meta.mode),
      assets: this.assets,
      json: scriptJson(chartData),
    });
  }
}
