// Loads a report file in Debian's chromium (headless) several times; prints the median navigation
// timings and the charts drawn, as one JSON line, for bench/metrics.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { median } from './lib.js';

const LOADS = 7;
const file = process.argv[2]!;
const profile = mkdtempSync(join(tmpdir(), 'ops-bench-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
try {
  const samples: Array<{ domInteractive: number; loadEventEnd: number; charts: number }> = [];
  for (let i = 0; i < LOADS; i++) {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    // Done when every canvas has pixels: the time is the page's own clock from navigation start.
    await page.waitForFunction(() => [...document.querySelectorAll('canvas')].every((c) => c.width > 0 && c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data.some((v, k) => k % 4 === 3 && v !== 0)), undefined, { timeout: 30_000 });
    samples.push(
      await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { domInteractive: nav.domInteractive, loadEventEnd: Math.max(nav.loadEventEnd, performance.now()), charts: document.querySelectorAll('canvas').length };
      }),
    );
    await page.close();
  }
  process.stdout.write(
    `${JSON.stringify({ domInteractive: median(samples.map((s) => s.domInteractive)), loadEventEnd: median(samples.map((s) => s.loadEventEnd)), charts: Math.min(...samples.map((s) => s.charts)), runs: LOADS })}\n`,
  );
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
