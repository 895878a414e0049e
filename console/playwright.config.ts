// Browser tests: Debian's Chromium against a real dev server on a fresh data
// folder, serving this console's build (`npm run build` first).

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineConfig } from '@playwright/test';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DEV_SERVER = resolve(process.env.DEV_SERVER_BIN ?? '../target/debug/dev-server');
const port = Number(process.env.CONSOLE_TEST_PORT ?? 3917);
// The Cognito sign-in tests: a dev server that trusts a local stand-in for
// Cognito's managed login (tests/fake-cognito.mjs) instead of signing its own.
const cognitoPort = port + 1;
const fakeCognitoPort = port + 2;
// GitHub's secret scanning keys, for the leak test (tests/fake-github-keys.mjs).
const fakeGithubPort = port + 3;
const CLIENT_ID = 'consoletestclient01';

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
export const GITHUB_KEY_FILE = join(DATA_DIR, 'github-test-key.pem');
const githubKeys = `http://127.0.0.1:${fakeGithubPort}`;
const fakeCognito = `http://127.0.0.1:${fakeCognitoPort}`;
const cognitoEnv = [
  `JWT_ISSUER=${fakeCognito}`,
  `JWT_AUDIENCE=${CLIENT_ID}`,
  `JWKS_URL=${fakeCognito}/.well-known/jwks.json`,
  `COGNITO_DOMAIN=${fakeCognito}`,
  `COGNITO_CLIENT_ID=${CLIENT_ID}`,
].join(' ');

export default defineConfig({
  // `npm run bench` runs the timings in bench/ instead of the tests.
  testDir: process.env.CONSOLE_BENCH ? 'bench' : 'tests',
  // One server, one tenant: tests that read counts must not interleave.
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    permissions: ['clipboard-read', 'clipboard-write'],
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking'],
    },
  },
  projects: [
    { name: 'local sign-in', testIgnore: /cognito\.spec/, use: { baseURL: `http://127.0.0.1:${port}` } },
    { name: 'cognito sign-in', testMatch: /cognito\.spec/, use: { baseURL: `http://127.0.0.1:${cognitoPort}` } },
  ],
  webServer: [
    {
      // The embedded store even when the caller points at a DynamoDB server;
      // the log is kept so a test can prove no access key reached it.
      command: `env -u DYNAMODB_ENDPOINT -u JWT_HS256_SECRET -u JWKS_URL SECRET_SCANNING_KEYS_URL=${githubKeys}/keys.json ${DEV_SERVER} --addr 127.0.0.1:${port} --data-dir ${DATA_DIR}/local --console-dir dist > ${DATA_DIR}/dev-server.log 2>&1`,
      url: `http://127.0.0.1:${port}/config.json`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `node tests/fake-github-keys.mjs ${fakeGithubPort} ${GITHUB_KEY_FILE}`,
      url: `${githubKeys}/health`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `node tests/fake-cognito.mjs ${fakeCognitoPort} ${CLIENT_ID} http://127.0.0.1:${cognitoPort}/`,
      url: `${fakeCognito}/health`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `env -u DYNAMODB_ENDPOINT -u JWT_HS256_SECRET ${cognitoEnv} ${DEV_SERVER} --addr 127.0.0.1:${cognitoPort} --data-dir ${DATA_DIR}/cognito --console-dir dist > ${DATA_DIR}/dev-server-cognito.log 2>&1`,
      url: `http://127.0.0.1:${cognitoPort}/config.json`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
  ],
});
