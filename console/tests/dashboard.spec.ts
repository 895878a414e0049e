// The API key dashboard: counts as the headline, newest first, filters,
// paging, copy the id on hover or focus; delete by typing the exact id.

import { expect, test } from '@playwright/test';
import { callApi, createKey, demoCatalog, everythingStored, expectAccessible, screenshotPath, signIn } from './helpers';

test('the dashboard pages through keys newest first and filters them', async ({ page, request }) => {
  const { applications, allArx } = await demoCatalog(request);
  const portal = applications.find((a: any) => a.name === 'Customer Portal');
  const frankfurt = allArx.find((a: any) => a.name === 'Staging Frankfurt');
  // 26 keys: more than one page of 25.
  const made: string[] = [];
  for (let i = 0; i < 26; i++) {
    const created = await callApi(request, 'developer', 'POST', '/v1/api-keys', {
      application_id: portal.id,
      arx_id: frankfurt.id,
      name: `paging ${String(i).padStart(2, '0')}`,
    });
    made.push(created.api_key.id);
  }
  const counts = (await callApi(request, 'developer', 'GET', '/v1/api-keys?limit=1')).counts;

  await signIn(page, 'developer');
  const headline = page.getByRole('list', { name: 'Key counts' }).or(page.locator('dl.counts'));
  await expect(headline).toContainText(`Total${counts.total}`);
  await expect(headline).toContainText(`Active${counts.active}`);

  // Newest first: the last one made is on top.
  await page.getByLabel('Application').selectOption({ label: 'Customer Portal' });
  await page.getByLabel('Arx').selectOption({ label: 'Staging Frankfurt' });
  await expect(page.locator('tbody tr').first()).toContainText('paging 25');
  await expect(page.locator('tbody tr')).toHaveCount(25);
  await expectAccessible(page, 'the key dashboard');
  await page.screenshot({ path: screenshotPath('05-dashboard') });
  await page.getByRole('button', { name: 'Next page' }).click();
  await expect(page.locator('tbody tr')).toHaveCount(1);
  await expect(page.locator('tbody tr').first()).toContainText('paging 00');
  await page.getByRole('button', { name: 'Previous page' }).click();
  await expect(page.locator('tbody tr').first()).toContainText('paging 25');

  // Status filter: deleted keys only.
  await callApi(request, 'developer', 'DELETE', `/v1/api-keys/${made[3]}`, { confirm: made[3] });
  await page.getByLabel('Status').selectOption({ label: 'Deleted' });
  await expect(page.locator('tbody tr').filter({ hasText: made[3]! })).toHaveCount(1);
  await expect(page.locator('tbody tr').filter({ hasText: 'Active' })).toHaveCount(0);
  await page.getByLabel('Application').selectOption({ label: 'Payments API' });
  await page.getByLabel('Arx').selectOption({ label: 'All Arx' });
  await expect(page.locator('tbody tr').filter({ hasText: made[3]! })).toHaveCount(0);
});

test('the copy button of an id shows on hover and on focus', async ({ page, request }) => {
  const key = await createKey(request, 'copy me');
  await signIn(page, 'developer');
  const row = page.locator('tbody tr').filter({ hasText: key.id });
  const copy = row.getByRole('button', { name: `Copy key id ${key.id}` });
  await expect(copy).toHaveCSS('opacity', '0');
  await row.hover();
  await expect(copy).toHaveCSS('opacity', '1');
  await copy.click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key.id);
  await page.mouse.move(0, 0);
  await copy.focus();
  await expect(copy).toHaveCSS('opacity', '1');
});

test('a key is deleted only by typing its exact id, and the dashboard updates at once', async ({ page, request }) => {
  const key = await createKey(request, 'to be deleted');
  await signIn(page, 'developer');
  const before = (await callApi(request, 'developer', 'GET', '/v1/api-keys?limit=1')).counts;
  const row = page.locator('tbody tr').filter({ hasText: key.id });
  await row.getByRole('button', { name: `Delete key ${key.id}` }).click();

  const dialog = page.getByRole('dialog', { name: 'Delete this API key?' });
  await expect(dialog).toBeVisible();
  const confirm = dialog.getByLabel(/To confirm, type the key's id/);
  const button = dialog.getByRole('button', { name: 'Delete key' });
  await expect(button).toBeDisabled();
  await confirm.fill(key.id.slice(0, -1));
  await expect(button).toBeDisabled();
  await confirm.fill(`${key.id} `);
  await expect(button).toBeDisabled();
  await confirm.fill(key.id.toUpperCase());
  await expect(button).toBeDisabled();
  await confirm.fill(key.id);
  await expect(button).toBeEnabled();
  await expectAccessible(page, 'the delete dialog');
  await page.screenshot({ path: screenshotPath('06-delete-dialog') });
  await button.click();

  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole('status').filter({ hasText: 'was deleted' })).toBeVisible();
  await expect(row).toContainText('Deleted');
  const headline = page.locator('dl.counts');
  await expect(headline).toContainText(`Active${before.active - 1}`);
  await expect(headline).toContainText(`Deleted${before.deleted + 1}`);
  const stored = await callApi(request, 'developer', 'GET', `/v1/api-keys/${key.id}`);
  expect(stored.status).toBe('deleted');
});

test("the API's refusal is shown in the delete dialog", async ({ page, request }) => {
  const key = await createKey(request, 'deleted elsewhere');
  await signIn(page, 'developer');
  const row = page.locator('tbody tr').filter({ hasText: key.id });
  await row.getByRole('button', { name: `Delete key ${key.id}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this API key?' });
  await dialog.getByLabel(/To confirm/).fill(key.id);
  // Someone else deletes it first.
  await callApi(request, 'platform_owner', 'DELETE', `/v1/api-keys/${key.id}`, { confirm: key.id });
  await dialog.getByRole('button', { name: 'Delete key' }).click();
  await expect(dialog.getByRole('alert')).toContainText(/already deleted|deleted/i);
  await expect(dialog).toBeVisible();

  // A mismatch the API itself refuses (422) is shown too, if one ever gets through.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  const other = await createKey(request, 'refused confirmation');
  await page.reload();
  await page.getByRole('button', { name: 'Sign in as developer' }).click();
  await page.route('**/v1/api-keys/*', (route) =>
    route.request().method() === 'DELETE'
      ? route.continue({ postData: JSON.stringify({ confirm: 'apikey--0000' }) })
      : route.continue(),
  );
  const otherRow = page.locator('tbody tr').filter({ hasText: other.id });
  await otherRow.getByRole('button', { name: `Delete key ${other.id}` }).click();
  const second = page.getByRole('dialog', { name: 'Delete this API key?' });
  await second.getByLabel(/To confirm/).fill(other.id);
  await second.getByRole('button', { name: 'Delete key' }).click();
  await expect(second.getByRole('alert')).toContainText('exact id');
  expect((await callApi(request, 'developer', 'GET', `/v1/api-keys/${other.id}`)).status).toBe('active');
});

test('owners and admins disable and enable a key; developers cannot', async ({ page, request }) => {
  const key = await createKey(request, 'suspend me');
  await signIn(page, 'developer');
  const devRow = page.locator('tbody tr').filter({ hasText: key.id });
  await expect(devRow).toBeVisible();
  await expect(devRow.getByRole('button', { name: /Disable|Enable/ })).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();

  await page.getByRole('button', { name: 'Sign in as platform admin' }).click();
  const before = (await callApi(request, 'developer', 'GET', '/v1/api-keys?limit=1')).counts;
  const row = page.locator('tbody tr').filter({ hasText: key.id });
  await row.getByRole('button', { name: `Disable key ${key.id}` }).click();
  await expect(page.getByRole('status').filter({ hasText: 'was disabled' })).toBeVisible();
  await expect(row).toContainText('Disabled');
  const headline = page.locator('dl.counts');
  await expect(headline).toContainText(`Disabled${before.disabled + 1}`);
  await expect(headline).toContainText(`Active${before.active - 1}`);
  expect((await callApi(request, 'developer', 'GET', `/v1/api-keys/${key.id}`)).status).toBe('disabled');
  await expectAccessible(page, 'the dashboard as admin, with a disabled key');

  await row.getByRole('button', { name: `Enable key ${key.id}` }).click();
  await expect(row).toContainText('Active');
  await expect(headline).toContainText(`Disabled${before.disabled}`);
  expect((await callApi(request, 'developer', 'GET', `/v1/api-keys/${key.id}`)).status).toBe('active');
});

test('a key is rotated from the dashboard: the new key shown once, the old one working for the overlap', async ({
  page,
  request,
}) => {
  const key = await createKey(request, 'rotate me');
  await signIn(page, 'developer');
  const row = page.locator('tbody tr').filter({ hasText: key.id });
  await row.getByRole('button', { name: `Rotate key ${key.id}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Rotate this API key?' });
  await expect(dialog.getByRole('radio', { name: 'One day' })).toBeChecked();
  await dialog.getByRole('radio', { name: 'One hour' }).check();
  await expectAccessible(page, 'the rotate dialog');
  await dialog.getByRole('button', { name: 'Rotate key' }).click();

  await expect(page.getByRole('heading', { name: 'Your new access key' })).toBeVisible();
  await expect(page.getByText(`It replaces ${key.id}`)).toBeVisible();
  const newKey = (await page.locator('#access-key').textContent())!.trim();
  expect(newKey).toMatch(/^akm_[0-9a-f]{32}_[0-9A-Za-z]{36}$/);
  expect(newKey).not.toBe(key.access_key);
  await page.getByLabel('I have stored the access key somewhere safe').check();
  await page.getByRole('button', { name: 'Done' }).click();

  await expect(page.getByRole('status').filter({ hasText: 'was rotated' })).toBeVisible();
  await expect(row).toContainText('replaced; works until');
  await expect(row.getByRole('button', { name: `Rotate key ${key.id}` })).toHaveCount(0);
  const old = await callApi(request, 'developer', 'GET', `/v1/api-keys/${key.id}`);
  expect(old.rotated_to).toMatch(/^apikey--/);
  const left = (Date.parse(old.expires_at) - Date.now()) / 1000;
  expect(left).toBeGreaterThan(3000);
  expect(left).toBeLessThanOrEqual(3600);
  expect(await everythingStored(page)).not.toContain(newKey);
});

test('a key close to its expiry is marked on the dashboard', async ({ page, request }) => {
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const soon = await createKey(request, 'ends in three days', inDays(3));
  const later = await createKey(request, 'ends in a month', inDays(30));
  await signIn(page, 'developer');
  const row = (id: string) => page.locator('tbody tr').filter({ hasText: id });
  await expect(row(soon.id)).toContainText('Expires soon');
  await expect(row(later.id)).toBeVisible();
  await expect(row(later.id)).not.toContainText('Expires soon');
  await expectAccessible(page, 'the dashboard with a key that expires soon');
  expect((await callApi(request, 'developer', 'GET', `/v1/api-keys/${soon.id}`)).expires_soon).toBe(true);
});
