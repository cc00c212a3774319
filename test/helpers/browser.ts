import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { setup, unavailable } from './engine.js';
import { PROJECT_ROOT } from './ops.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Where the tests leave a screenshot of every page (CI keeps the folder; git ignores it). */
export const SCREENSHOTS = join(PROJECT_ROOT, 'screenshots');

/** Without the background-networking flags chromium's connections are refused on this closed network. */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Debian's chromium, headless, with a fresh profile; installed first when root. Never downloads a browser. */
export async function chromium(t: TestContext): Promise<BrowserContext | undefined> {
  if (!existsSync(CHROMIUM)) {
    const installed = await setup(['chromium']);
    if (installed instanceof Error || !existsSync(CHROMIUM)) return unavailable(t, 'chromium', installed instanceof Error ? installed.message : `${CHROMIUM} is missing`);
  }
  const { chromium: launcher } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'ops-chromium-'));
  const browser = await launcher.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return browser;
}

export interface PageProblems {
  console: string[];
  failed: string[];
}

/** Everything a page reports as wrong: console errors and warnings, uncaught errors, failed or refused requests. */
export function watchProblems(page: Page): PageProblems {
  const problems: PageProblems = { console: [], failed: [] };
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.console.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.console.push(`uncaught: ${err.message}`));
  page.on('requestfailed', (request) => problems.failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.failed.push(`${response.url()}: HTTP ${response.status()}`);
  });
  return problems;
}

/** How many canvases the page has, and how many of them have any pixel drawn. */
export function drawnCanvases(page: Page): Promise<{ canvases: number; drawn: number }> {
  return page.evaluate(() => {
    const canvases = [...document.querySelectorAll('canvas')];
    const drawn = canvases.filter((canvas) => {
      const context = canvas.getContext('2d');
      if (!context || canvas.width === 0 || canvas.height === 0) return false;
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
      return false;
    }).length;
    return { canvases: canvases.length, drawn };
  });
}

/** The figures a page marks with data-metric (a JSON path) and data-value (the raw number). */
export function pageFigures(page: Page): Promise<Array<{ path: string; value: string }>> {
  return page.$$eval('[data-metric]', (elements) => elements.map((e) => ({ path: e.getAttribute('data-metric')!, value: e.getAttribute('data-value') ?? '' })));
}

/** The value at a dotted path of a JSON document, as the page writes it (null as ''). */
export function atPath(document: unknown, path: string): string {
  let value: unknown = document;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | null)?.[key];
  return value == null ? '' : String(value);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
