// The console's first load, measured (not asserted): what the browser
// downloads, gzipped, and how long from navigation to a usable page.
// `npm run bench` (after `npm run build` and `cargo build -p dev-server`);
// the figures go into docs/benchmarks.md.

import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { test } from '@playwright/test';
import { createKey } from '../tests/helpers';

const RUNS = 20;

function sizes() {
  const index = readFileSync('dist/index.html', 'utf8');
  const assets = [...index.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
  const total = { js: 0, css: 0, jsRaw: 0, cssRaw: 0 };
  for (const asset of assets) {
    const body = readFileSync(`dist/${asset}`);
    const kind = asset.endsWith('.js') ? 'js' : asset.endsWith('.css') ? 'css' : null;
    if (!kind) continue;
    total[kind] += gzipSync(body, { level: 9 }).length;
    total[`${kind}Raw`] += body.length;
  }
  return total;
}

function summary(name: string, values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `${name}: median ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms (${values.length} runs)`;
}

test('first load: bytes and time to an interactive dashboard', async ({ browser, request }) => {
  test.setTimeout(300_000);
  for (let i = 0; i < 25; i++) await createKey(request, `bench ${i}`);
  const size = sizes();
  const signInReady: number[] = [];
  const dashboardReady: number[] = [];
  const total: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // A new context each run: an empty cache, as a first visit.
    const context = await browser.newContext();
    const page = await context.newPage();
    const started = performance.now();
    await page.goto('/api-keys');
    const signIn = page.getByRole('button', { name: 'Sign in as developer' });
    await signIn.waitFor();
    const ready = performance.now();
    await signIn.click();
    await page.locator('tbody tr').nth(24).waitFor();
    await page.getByRole('button', { name: /^Actions for/ }).first().waitFor();
    const done = performance.now();
    signInReady.push(ready - started);
    dashboardReady.push(done - ready);
    total.push(done - started);
    await context.close();
  }
  const lines = [
    `first-load JavaScript: ${(size.js / 1024).toFixed(1)} KiB gzipped (${(size.jsRaw / 1024).toFixed(1)} KiB raw)`,
    `first-load CSS: ${(size.css / 1024).toFixed(1)} KiB gzipped (${(size.cssRaw / 1024).toFixed(1)} KiB raw)`,
    summary('navigation to an interactive sign-in', signInReady),
    summary('sign-in click to a dashboard of 25 keys', dashboardReady),
    summary('navigation to an interactive dashboard, signing in included', total),
  ];
  console.log(lines.join('\n'));
});
