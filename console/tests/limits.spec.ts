// Limits and leaks in the console: an owner sets a key's limits and sees what
// is left as verifies spend it; a developer only reads them; a key GitHub
// reports shows as leaked, with where it was found in the audit log.

import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { act, callApi, createKey, expectAccessible, screenshotPath, signIn } from './helpers';

test('an owner sets limits, sees the credits left as verifies spend them; a developer only reads them', async ({
  page,
  request,
}) => {
  const key = await createKey(request, 'metered by the console');
  await signIn(page, 'platform_owner');
  await act(page, key.id, 'Limits');
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

  // A bad number is said in plain words at its field, and nothing is sent.
  let sent = 0;
  page.on('request', (r) => r.method() === 'PATCH' && sent++);
  for (const bad of ['0', '1.5', 'ten', '']) {
    await dialog.getByLabel('Requests').fill(bad);
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    const message = 'Requests must be a whole number from 1 to 1,000,000.';
    await expect(dialog.getByRole('alert')).toHaveText(`There is a problem${message}`);
    await expect(dialog.locator('#limit-requests-error')).toHaveText(`Error: ${message}`);
    await expect(dialog.getByLabel('Requests')).toHaveAttribute('aria-invalid', 'true');
  }
  await expectAccessible(page, 'the limits dialog with an error at its field');
  await page.screenshot({ path: screenshotPath('12-limits') });
  // The summary's link takes the cursor to the field.
  await dialog.getByRole('link', { name: /Requests must be/ }).click();
  await expect(dialog.getByLabel('Requests')).toBeFocused();
  expect(sent).toBe(0);
  await dialog.getByLabel('Requests').fill('10');
  await dialog.getByRole('button', { name: 'Save limits' }).click();
  await expect(dialog).toHaveCount(0);
  const summary = '10 per 60 s · 3 credits, refilled daily';
  await expect(page.locator('p.notice')).toContainText(summary);

  // Two verifies spend two credits; the dialog says what is left.
  for (const left of [2, 1]) {
    const verdict = await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: key.access_key });
    expect(verdict).toMatchObject({ valid: true, code: 'VALID', remaining: left });
  }
  await act(page, key.id, 'Limits');
  await expect(dialog.getByLabel('Left now')).toContainText('Credits left1');
  await expect(dialog.getByLabel('Left now')).toContainText('Requests left in this window8');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  // The key's page says the same.
  await page.getByRole('link', { name: 'metered by the console' }).click();
  await expect(page.locator('dl.details')).toContainText(summary);
  await expect(page.getByLabel('Left now')).toContainText('Credits left1');
  await page.getByRole('link', { name: '← All API keys' }).click();

  // A developer reads the limits but cannot change them.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in as developer' }).click();
  await act(page, key.id, 'See limits');
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
  await expect(row).toContainText('Leaked');
  await expectAccessible(page, 'the dashboard with a leaked key');
  // The key's page says why, and its history where.
  await row.getByRole('link', { name: 'pushed to a public repo' }).click();
  await expect(page.locator('dl.details')).toContainText('Found in public code by GitHub secret scanning');
  await expect(page.locator('ol.history')).toContainText(`found in public code at ${foundAt} (content)`);

  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await page.getByLabel('Object id', { exact: true }).fill(key.id);
  await page.getByRole('button', { name: 'Search' }).click();
  const leaked = page.locator('tbody tr').filter({ hasText: 'API key leaked: disabled' });
  await expect(leaked).toContainText(`found in public code at ${foundAt} (content)`);
  await expect(leaked).toContainText('GitHub secret scanning');
});
