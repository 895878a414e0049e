// The audit log page: owners and admins only, newest first, one filter at a time.

import { expect, test } from '@playwright/test';
import { callApi, createKey, expectAccessible, signIn } from './helpers';

test('owners and admins read the audit log by action and by object; developers have no such page', async ({
  page,
  request,
}) => {
  const key = await createKey(request, 'audited');
  await callApi(request, 'platform_admin', 'POST', `/v1/api-keys/${key.id}/disable`);

  await signIn(page, 'developer');
  await expect(page.getByRole('link', { name: 'Audit log' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();

  await page.getByRole('button', { name: 'Sign in as platform owner' }).click();
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  const rows = page.locator('tbody tr');
  await expect(rows.first()).toContainText('API key disabled');
  await expect(rows.first()).toContainText('demo-platform_admin');
  await expect(rows.first()).toContainText('platform admin');
  await expectAccessible(page, 'the audit log');

  await page.getByLabel('Object id', { exact: true }).fill(key.id);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('API key disabled');
  await expect(rows.nth(1)).toContainText('API key created');

  await page.getByLabel('Action').selectOption({ label: 'Arx created' });
  await expect(rows.first()).toContainText('system: seed');

  // A malformed search is said in words at the field.
  await page.getByLabel('Object id', { exact: true }).fill('not-an-id');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('alert')).toContainText('The object id must be an API key, service key, application or Arx id.');
  await expect(page.getByLabel('Object id', { exact: true })).toHaveAttribute('aria-invalid', 'true');
});
