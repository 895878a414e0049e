// Limits and leaks in the console: an owner sets a key's limits and sees what
// is left as verifies spend it; a developer only reads them; a key GitHub
// reports shows as leaked, with where it was found in the audit log.

import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { callApi, createKey, expectAccessible, screenshotPath, signIn } from './helpers';

test('an owner sets limits, sees the credits left as verifies spend them; a developer only reads them', async ({
  page,
  request,
}) => {
  const key = await createKey(request, 'metered by the console');
  await signIn(page, 'platform_owner');
  const row = page.locator('tbody tr').filter({ hasText: key.id });
  await expect(row).toContainText('None');
  await row.getByRole('button', { name: `Set limits of key ${key.id}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Limits of this API key' });
  await expect(dialog).toBeVisible();

  await dialog.getByLabel('Limit the rate').check();
  await dialog.getByLabel('Requests').fill('10');
  await dialog.getByLabel('Per seconds').fill('60');
  await dialog.getByLabel('Limit with credits').check();
  await dialog.getByLabel('Credits to start with').fill('3');
  await dialog.getByLabel('Refill', { exact: true }).selectOption({ label: 'Every day (UTC midnight)' });
  await dialog.getByLabel('Refill to').fill('3');
  await expectAccessible(page, 'the limits dialog');
  await page.screenshot({ path: screenshotPath('12-limits') });

  // Refused by the API, said in its words, nothing saved.
  await dialog.getByLabel('Requests').fill('0');
  await dialog.getByRole('button', { name: 'Save limits' }).click();
  await expect(dialog.getByRole('alert')).toContainText('limits.rate.requests');
  await dialog.getByLabel('Requests').fill('10');
  await dialog.getByRole('button', { name: 'Save limits' }).click();
  await expect(dialog).toHaveCount(0);
  const summary = '10 per 60 s · 3 credits, refilled daily';
  await expect(page.locator('p.notice')).toContainText(summary);
  await expect(row).toContainText(summary);

  // Two verifies spend two credits; the dialog says what is left.
  for (const left of [2, 1]) {
    const verdict = await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: key.access_key });
    expect(verdict).toMatchObject({ valid: true, code: 'VALID', remaining: left });
  }
  await row.getByRole('button', { name: `Limits of key ${key.id}: ${summary}` }).click();
  await expect(dialog.getByLabel('Left now')).toContainText('Credits left1');
  await expect(dialog.getByLabel('Left now')).toContainText('Requests left in this window8');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // A developer reads the limits but cannot change them.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in as developer' }).click();
  await expect(row.getByRole('button', { name: `Set limits of key ${key.id}` })).toHaveCount(0);
  await row.getByRole('button', { name: `Limits of key ${key.id}: ${summary}` }).click();
  await expect(dialog.getByLabel('Left now')).toContainText('Credits left1');
  await expect(dialog.getByRole('button', { name: 'Save limits' })).toHaveCount(0);
  await expect(dialog.getByLabel('Requests')).toHaveCount(0);
  await expectAccessible(page, 'the limits dialog, read only');
});

test('a key GitHub finds in public code shows as leaked, and the audit log says where', async ({ page, request }) => {
  const key = await createKey(request, 'pushed to a public repo');
  const foundAt = 'https://github.com/octo/demo/blob/0a1b2c/config/.env';
  const body = JSON.stringify([{ token: key.access_key, type: 'api_keys_manager_access_key', url: foundAt, source: 'content' }]);
  // Signed as GitHub signs: ECDSA P-256 over the raw body, DER, base64.
  const signature = sign('sha256', Buffer.from(body), readFileSync(`${process.env.CONSOLE_TEST_DATA}/github-test-key.pem`, 'utf8')).toString('base64');
  const reported = await request.post('/v1/leaks/github', {
    headers: {
      'content-type': 'application/json',
      'github-public-key-identifier': 'console-test-key',
      'github-public-key-signature': signature,
    },
    data: body,
  });
  expect(reported.status(), await reported.text()).toBe(200);
  expect((await reported.json())[0].label).toBe('true_positive');

  await signIn(page, 'platform_owner');
  const row = page.locator('tbody tr').filter({ hasText: key.id });
  await expect(row).toContainText('Disabled');
  await expect(row).toContainText('Leaked: found in public code');
  await expectAccessible(page, 'the dashboard with a leaked key');

  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Object id', { exact: true }).fill(key.id);
  await page.getByRole('button', { name: 'Search' }).click();
  const leaked = page.locator('tbody tr').filter({ hasText: 'API key leaked: disabled' });
  await expect(leaked).toContainText(`found in public code at ${foundAt} (content)`);
  await expect(leaked).toContainText('system: github-secret-scanning');
});
