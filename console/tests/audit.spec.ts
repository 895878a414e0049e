// The audit log page: owners and admins only, newest first, any filters at
// once and a date range, each object named beside its id.

import { expect, test } from '@playwright/test';
import { callApi, createKey, expectAccessible, signIn } from './helpers';

test('owners and admins read the audit log by several filters and dates; developers have no such page', async ({
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
  await expect(rows.first()).toContainText('demo-admin');
  await expect(rows.first()).toContainText('platform admin');
  // The object's name beside its id, linking to its page.
  await expect(rows.first().getByRole('link', { name: `audited ${key.id}` })).toBeVisible();
  await expectAccessible(page, 'the audit log');

  await page.getByLabel('Object id').fill(key.id);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('API key disabled');
  await expect(rows.nth(1)).toContainText('API key created');
  // A second filter with it: both hold.
  await page.getByLabel('Action').selectOption({ label: 'API key created' });
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('API key created');
  await page.getByLabel('Who').fill('demo-developer');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(rows).toHaveCount(1);
  // Dates: from tomorrow, nothing yet.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('From (UTC)').fill(tomorrow);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText('No events match these filters.')).toBeVisible();
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByLabel('Action').selectOption({ label: 'Arx created' });
  await expect(rows.first()).toContainText('the demo data');
  await expect(rows.first().getByRole('link', { name: /Production Sydney|Staging Frankfurt/ })).toBeVisible();

  // A malformed search is said in words at its field, and no old result stays under it.
  await page.getByLabel('Object id').fill('not-an-id');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('alert')).toContainText('The object id must be an API key, service key, application, Arx, identity, role or rate-limit namespace id.');
  await expect(page.getByLabel('Object id')).toHaveAttribute('aria-invalid', 'true');
  await expect(rows).toHaveCount(0);
  await expectAccessible(page, 'the audit log with a refused search');
});
