// Browser tests: Debian's Chromium against a real dev server on a fresh data
// folder, serving this console's build (`npm run build` first).

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineConfig } from '@playwright/test';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DEV_SERVER = resolve(process.env.DEV_SERVER_BIN ?? '../target/debug/dev-server');
const port = Number(process.env.CONSOLE_TEST_PORT ?? 3917);

if (!existsSync(CHROMIUM)) {
  throw new Error(`No Chromium at ${CHROMIUM}: install Debian's with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`);
}
if (!existsSync(DEV_SERVER)) {
  throw new Error(`No dev server at ${DEV_SERVER}: build it with \`cargo build -p dev-server\` (or set DEV_SERVER_BIN).`);
}
if (!existsSync('dist/index.html')) {
  throw new Error('The console is not built: run `npm run build` first.');
}

// Chosen once in the main process; workers inherit it through the environment.
process.env.CONSOLE_TEST_DATA ??= mkdtempSync(join(tmpdir(), 'console-tests-'));
export const DATA_DIR = process.env.CONSOLE_TEST_DATA;

export default defineConfig({
  // `npm run bench` runs the timings in bench/ instead of the tests.
  testDir: process.env.CONSOLE_BENCH ? 'bench' : 'tests',
  // One server, one tenant: tests that read counts must not interleave.
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    headless: true,
    permissions: ['clipboard-read', 'clipboard-write'],
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking'],
    },
  },
  webServer: {
    // The embedded store even when the caller points at a DynamoDB server;
    // the log is kept so a test can prove no access key reached it.
    command: `env -u DYNAMODB_ENDPOINT ${DEV_SERVER} --addr 127.0.0.1:${port} --data-dir ${DATA_DIR} --console-dir dist > ${DATA_DIR}/dev-server.log 2>&1`,
    url: `http://127.0.0.1:${port}/config.json`,
    reuseExistingServer: false,
    timeout: 30_000,
  },
});
