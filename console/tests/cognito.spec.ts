// Signing in the AWS way: OAuth 2.0 authorization code with PKCE against
// Cognito's managed login (here tests/fake-cognito.mjs, which checks the
// client, the redirect URI and the S256 challenge as Cognito does), the ID
// token verified by the API through the JWKS, kept in memory only.

import { expect, test } from '@playwright/test';
import { everythingStored, expectAccessible, endSessionOnNextCall } from './helpers';

test('sign-in goes through the managed login with PKCE and comes back signed in', async ({ page }) => {
  const authorizeUrls: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/oauth2/authorize')) authorizeUrls.push(request.url());
  });
  let idToken = '';
  let refreshToken = '';
  page.on('response', async (response) => {
    if (response.url().endsWith('/oauth2/token') && response.ok()) {
      ({ id_token: idToken, refresh_token: refreshToken } = await response.json());
    }
  });
  let verifier = '';
  page.on('request', (request) => {
    if (request.url().endsWith('/oauth2/token')) verifier = new URLSearchParams(request.postData() ?? '').get('code_verifier') ?? '';
  });

  await page.goto('/applications');
  await expect(page.getByRole('note')).toHaveCount(0); // no local sign-in here
  await expectAccessible(page, 'the Cognito sign-in page');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Fake managed login' })).toBeVisible();
  const authorize = new URL(authorizeUrls[0]!);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(authorize.searchParams.get('state')?.length).toBeGreaterThan(20);
  expect(authorize.searchParams.has('client_secret')).toBe(false);
  await page.getByRole('button', { name: 'Log in as platform_admin' }).click();

  // Back on the page it started from, the code gone from the address bar.
  await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();
  await expect(page).toHaveURL(/\/applications$/);
  await expect(page.getByRole('banner')).toContainText('platform.admin@example.com');
  await expect(page.getByRole('button', { name: 'Register application' })).toBeVisible();
  expect(idToken).not.toBe('');
  // The tokens live in memory, and the PKCE verifier left storage on the way back.
  expect(verifier).toMatch(/^[A-Za-z0-9_-]{64}$/);
  const stored = await everythingStored(page);
  for (const secret of [idToken, refreshToken, verifier]) {
    expect(secret).not.toBe('');
    expect(stored).not.toContain(secret);
  }
  expect(stored).not.toContain('code=');

  // A reload signs in again silently through the managed login's session.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();
  await expect(page.getByRole('banner')).toContainText('platform.admin@example.com');

  // Sign-out ends the managed login's session too: the next sign-in asks again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to the API Keys manager' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Fake managed login' })).toBeVisible();
});

test('an answer this tab did not ask for is refused', async ({ page }) => {
  // A forged return (say, a link a stranger sent) carries someone else's code.
  await page.goto('/?code=stolen-code&state=not-ours');
  await expect(page.getByRole('alert')).toContainText('not asked for by this tab');
  await expect(page).toHaveURL(/\/api-keys$/);
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
});

test('an ended session is renewed with the refresh token, keeping what was typed', async ({ page }) => {
  await page.goto('/api-keys/new');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Log in as developer' }).click();
  await page.getByRole('radio', { name: 'Payments API' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('radio', { name: 'Production Sydney' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  // No permissions or owner: the step is optional.
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Name', { exact: true }).fill('kept across a refresh');
  await endSessionOnNextCall(page, '**/v1/api-keys?dry_run=true');
  await page.getByRole('button', { name: 'Review' }).click();
  const again = page.getByRole('dialog', { name: 'Your session has ended' });
  await again.getByRole('button', { name: 'Sign in again' }).click();
  await expect(again).toHaveCount(0);
  await page.getByRole('button', { name: 'Review' }).click();
  await expect(page.locator('dl.summary')).toContainText('kept across a refresh');
});

test('a user whose role may not use the console is told so', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Log in as verifier' }).click();
  await expect(page.getByRole('alert')).toContainText('no role that may use the console');
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
});
