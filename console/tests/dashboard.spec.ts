// The API key dashboard: counts as the headline, newest first, filters,
// paging, copy the id on hover or focus; delete by typing the exact id.

import { expect, test } from '@playwright/test';
import { act, callApi, createKey, demoCatalog, everythingStored, expectAccessible, rowOf, screenshotPath, signIn } from './helpers';

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
  // Oldest first: the first one made is on top.
  await page.getByLabel('Order').selectOption({ label: 'Oldest first' });
  await expect(page.locator('tbody tr').first()).toContainText('paging 00');
  await page.getByLabel('Order').selectOption({ label: 'Newest first' });
  await expect(page.locator('tbody tr').first()).toContainText('paging 25');

  // Deleted keys are left out by default; the status filter shows them.
  await callApi(request, 'developer', 'DELETE', `/v1/api-keys/${made[3]}`, { confirm: made[3] });
  await page.getByLabel('Status').selectOption({ label: 'Active' });
  await page.getByLabel('Status').selectOption({ label: 'Any but deleted' });
  await expect(page.locator('tbody tr').filter({ hasText: made[3]! })).toHaveCount(0);
  await expect(page.locator('tbody tr')).toHaveCount(25);
  await page.getByLabel('Status').selectOption({ label: 'Deleted' });
  await expect(page.locator('tbody tr').filter({ hasText: made[3]! })).toHaveCount(1);
  await expect(page.locator('tbody tr').filter({ hasText: 'Active' })).toHaveCount(0);
  await page.getByLabel('Application').selectOption({ label: 'Payments API' });
  await page.getByLabel('Arx').selectOption({ label: 'All Arx' });
  await expect(page.locator('tbody tr').filter({ hasText: made[3]! })).toHaveCount(0);

  // A search by name, any case, with the other filters.
  await page.getByLabel('Application').selectOption({ label: 'Customer Portal' });
  await page.getByLabel('Status').selectOption({ label: 'Any but deleted' });
  await page.getByLabel('Name contains').fill('PAGING 1');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.locator('tbody tr')).toHaveCount(10);
  await expect(page.locator('tbody tr').first()).toContainText('paging 19');
  await page.getByLabel('Name contains').fill('nothing is called this');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText('No key matches these filters.')).toBeVisible();
});

test('a row shows a short id with a copy button, and links to the key', async ({ page, request }) => {
  const key = await createKey(request, 'copy me');
  await signIn(page, 'developer');
  const row = rowOf(page, key.id);
  await expect(row.locator('code [aria-hidden="true"]')).toHaveText(`apikey--…${key.id.slice(-8)}`);
  await row.getByRole('button', { name: `Copy key id ${key.id}` }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key.id);
  // "Copied" says so for a moment, then goes away again.
  await expect(row.getByRole('status').filter({ hasText: 'Copied' })).toBeVisible();
  await expect(row.getByRole('status').filter({ hasText: 'Copied' })).toHaveCount(0, { timeout: 5_000 });
  await row.getByRole('link', { name: 'copy me' }).click();
  await expect(page).toHaveURL(new RegExp(`/api-keys/${key.id}$`));
  await expect(page.getByRole('heading', { name: 'copy me' })).toBeVisible();
});

test('a key is deleted only by typing its exact id, and the dashboard updates at once', async ({ page, request }) => {
  const key = await createKey(request, 'to be deleted');
  await signIn(page, 'developer');
  const before = (await callApi(request, 'developer', 'GET', '/v1/api-keys?limit=1')).counts;
  const row = rowOf(page, key.id);
  await act(page, key.id, 'Delete');

  const dialog = page.getByRole('dialog', { name: 'Delete this API key?' });
  await expect(dialog).toBeVisible();
  const confirm = dialog.getByLabel(/To confirm, type the key's id/);
  const button = dialog.getByRole('button', { name: 'Delete key' });
  await expect(button).toBeDisabled();
  await confirm.fill(key.id.slice(0, -1));
  await expect(button).toBeDisabled();
  await expect(dialog).toContainText('Keep typing: it does not match yet.');
  await confirm.fill(`${key.id} `);
  await expect(button).toBeDisabled();
  await expect(dialog).toContainText('Remove the space before or after the id');
  await confirm.fill(key.id.toUpperCase());
  await expect(button).toBeDisabled();
  await expect(dialog).toContainText("This does not match the key's id.");
  await confirm.fill(key.id);
  await expect(button).toBeEnabled();
  await expectAccessible(page, 'the delete dialog');
  await page.screenshot({ path: screenshotPath('06-delete-dialog') });
  await button.click();

  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole('status').filter({ hasText: 'was deleted' })).toBeVisible();
  // Gone from the default list, which leaves deleted keys out.
  await expect(row).toHaveCount(0);
  const headline = page.locator('dl.counts');
  await expect(headline).toContainText(`Active${before.active - 1}`);
  await expect(headline).toContainText(`Deleted${before.deleted + 1}`);
  const stored = await callApi(request, 'developer', 'GET', `/v1/api-keys/${key.id}`);
  expect(stored.status).toBe('deleted');
});

test("the API's refusal is shown in the delete dialog", async ({ page, request }) => {
  const key = await createKey(request, 'deleted elsewhere');
  await signIn(page, 'developer');
  await act(page, key.id, 'Delete');
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
  await page.route('**/v1/api-keys/*', (route) =>
    route.request().method() === 'DELETE'
      ? route.continue({ postData: JSON.stringify({ confirm: 'apikey--0000' }) })
      : route.continue(),
  );
  await act(page, other.id, 'Delete');
  const second = page.getByRole('dialog', { name: 'Delete this API key?' });
  await second.getByLabel(/To confirm/).fill(other.id);
  await second.getByRole('button', { name: 'Delete key' }).click();
  await expect(second.getByRole('alert')).toContainText('exactly the id shown');
  expect((await callApi(request, 'developer', 'GET', `/v1/api-keys/${other.id}`)).status).toBe('active');
});

test('owners and admins disable a key after saying what stops working, and enable it; developers cannot', async ({
  page,
  request,
}) => {
  const key = await createKey(request, 'suspend me');
  await signIn(page, 'developer');
  const devRow = rowOf(page, key.id);
  await devRow.getByRole('button', { name: /^Actions for/ }).click();
  await expect(devRow.getByRole('button', { name: 'Delete', exact: true })).toBeVisible();
  await expect(devRow.getByRole('button', { name: /^(Disable|Enable)$/ })).toHaveCount(0);
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Sign out' }).click();

  await page.getByRole('button', { name: 'Sign in as platform admin' }).click();
  const before = (await callApi(request, 'developer', 'GET', '/v1/api-keys?limit=1')).counts;
  const row = rowOf(page, key.id);
  await act(page, key.id, 'Disable');
  // Disable asks first, saying what stops working; Cancel changes nothing.
  const dialog = page.getByRole('dialog', { name: 'Disable this API key?' });
  await expect(dialog).toContainText('is refused from now on');
  await expectAccessible(page, 'the disable dialog');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  expect((await callApi(request, 'developer', 'GET', `/v1/api-keys/${key.id}`)).status).toBe('active');
  await act(page, key.id, 'Disable');
  await dialog.getByRole('button', { name: 'Disable key' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'was disabled' })).toBeVisible();
  await expect(row).toContainText('Disabled');
  await expect(row).toHaveClass(/highlight/);
  const headline = page.locator('dl.counts');
  await expect(headline).toContainText(`Disabled${before.disabled + 1}`);
  await expect(headline).toContainText(`Active${before.active - 1}`);
  expect((await callApi(request, 'developer', 'GET', `/v1/api-keys/${key.id}`)).status).toBe('disabled');
  await expectAccessible(page, 'the dashboard as admin, with a disabled key');

  await act(page, key.id, 'Enable');
  await page.getByRole('dialog', { name: 'Enable this API key?' }).getByRole('button', { name: 'Enable key' }).click();
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
  const row = rowOf(page, key.id);
  await act(page, key.id, 'Rotate');
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
  await expect(row).toContainText('Replaced');
  await row.getByRole('button', { name: /^Actions for/ }).click();
  await expect(row.getByRole('button', { name: 'Rotate', exact: true })).toHaveCount(0);
  await page.keyboard.press('Escape');
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
  const row = (id: string) => rowOf(page, id);
  await expect(row(soon.id)).toContainText('Expires soon');
  await expect(row(later.id)).toBeVisible();
  await expect(row(later.id)).not.toContainText('Expires soon');
  await expectAccessible(page, 'the dashboard with a key that expires soon');
  expect((await callApi(request, 'developer', 'GET', `/v1/api-keys/${soon.id}`)).expires_soon).toBe(true);
});
