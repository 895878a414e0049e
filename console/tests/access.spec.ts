// What a key may do and who owns it: set in the create flow, read on the
// key's page, changed there by owners and admins, read only by developers,
// and the dashboard's owner filter.

import { expect, test } from '@playwright/test';
import { callApi, devServerLog, expectAccessible, rowOf, screenshotPath, signIn } from './helpers';

test('a key made with permissions and an owner shows them; an owner edits them, a developer only reads them', async ({
  page,
  request,
}) => {
  // Fresh data per run (playwright.config.ts): no other test names an owner.
  const owner = 'acme-corp';
  await signIn(page, 'developer');
  await page.getByRole('link', { name: 'Create API key' }).click();
  await page.getByRole('radio', { name: 'Payments API' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('radio', { name: 'Production Sydney' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();

  // 3. A name outside the grammar is said at its field, before anything is sent.
  await expect(page.getByText('Step 3 of 5')).toBeVisible();
  await page.getByLabel('Permissions (optional)').fill('documents.read, reports/all');
  await page.getByLabel('Owner (optional)').fill(owner);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toContainText('“reports/all” is not a permission name');
  await expect(page.getByLabel('Permissions (optional)')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page, 'the permissions step, with its error');
  await page.screenshot({ path: screenshotPath('13-create-permissions'), fullPage: true });
  await page.getByLabel('Permissions (optional)').fill('documents.read, billing:write documents.read');
  // Meta that is not a JSON object is said at its field too.
  await page.getByLabel('Meta (optional)').fill('["pro"]');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toContainText('The meta must be an object in braces');
  await expect(page.getByLabel('Meta (optional)')).toHaveAttribute('aria-invalid', 'true');
  await page.getByLabel('Meta (optional)').fill('{"plan": "pro"}');
  await expectAccessible(page, 'the permissions step');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Name', { exact: true }).fill('reports reader');
  await page.getByRole('button', { name: 'Review' }).click();

  // The review says both, as the API will store them (each name once, in order).
  const summary = page.locator('dl.summary');
  const permissionsRow = summary.locator('div').filter({ hasText: 'Permissions' });
  await expect(permissionsRow.getByRole('listitem')).toHaveText(['billing:write', 'documents.read']);
  await expect(summary.locator('div').filter({ hasText: 'Owner' })).toContainText(owner);
  await expect(summary.locator('div').filter({ hasText: 'Meta' })).toContainText('planpro');
  await expectAccessible(page, 'the review with permissions and an owner');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const accessKey = (await page.locator('#access-key').textContent())!.trim();
  await page.getByLabel('I have stored the access key somewhere safe').check();
  await page.getByRole('button', { name: 'Done' }).click();

  // The dashboard names the owner under what the key is for; the owner filter finds it alone.
  const created = await callApi(request, 'developer', 'GET', `/v1/api-keys?external_id=${owner}`);
  expect(created.items).toHaveLength(1);
  const id: string = created.items[0].id;
  await expect(rowOf(page, id)).toContainText(`Owner ${owner}`);
  await page.getByLabel('Owner', { exact: true }).fill(owner);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.locator('tbody tr')).toHaveCount(1);
  await expect(rowOf(page, id)).toBeVisible();

  // The developer's view of the key: both, and no way to change them.
  await rowOf(page, id).getByRole('link', { name: 'reports reader' }).click();
  const access = page.locator('dl[aria-labelledby="access-title"]');
  await expect(access.getByRole('listitem')).toHaveText(['billing:write', 'documents.read']);
  await expect(access).toContainText(owner);
  await expect(page.getByRole('button', { name: 'Edit permissions, roles, addresses, owner and meta' })).toHaveCount(0);
  await expect(page.getByText('Platform owners and admins change what a key may do and who owns it.')).toBeVisible();
  await expectAccessible(page, "a developer's view of a key's permissions");

  // An owner changes them: a name added, one taken away, another owner.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, 'platform_owner', `/api-keys/${id}`);
  await page.getByRole('button', { name: 'Edit permissions, roles, addresses, owner and meta' }).click();
  const dialog = page.getByRole('dialog', { name: 'Permissions, roles, addresses, owner and meta' });
  await expect(dialog.getByLabel('Permissions (optional)')).toHaveValue('billing:write, documents.read');
  await dialog.getByLabel('Permissions (optional)').fill('documents.read documents.write');
  await dialog.getByLabel('Owner (optional)').fill('acme-labs');
  await expect(dialog.getByLabel('Meta (optional)')).toHaveValue('{\n  "plan": "pro"\n}');
  await dialog.getByLabel('Meta (optional)').fill('{"plan": "enterprise", "seats": 40}');
  await expectAccessible(page, 'the permissions dialog');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole('status').filter({ hasText: 'The permissions, roles, addresses, owner and meta of reports reader were saved.' })).toBeVisible();
  await expect(access.getByRole('listitem')).toHaveText(['documents.read', 'documents.write']);
  await expect(access).toContainText('acme-labs');
  await expect(access).toContainText('planenterpriseseats40');
  await expect(page.locator('ol.history')).toContainText(
    `permissions added: documents.write; permissions removed: billing:write; owner set to acme-labs`,
  );
  await expectAccessible(page, "an owner's view of a key's permissions");
  await page.screenshot({ path: screenshotPath('14-key-permissions'), fullPage: true });

  // The change reaches verify: the key may now write, and may no longer bill.
  const asked = async (permissions: string) =>
    (await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: accessKey, permissions })).code;
  expect(await asked('documents.write')).toBe('VALID');
  expect(await asked('billing:write')).toBe('INSUFFICIENT_PERMISSIONS');
  // And the meta edited here is what a check of the key answers with.
  const verdict = await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: accessKey });
  expect(verdict.meta).toEqual({ plan: 'enterprise', seats: 40 });

  // And the developer reads the new ones, still without the button.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, 'developer', `/api-keys/${id}`);
  await expect(access.getByRole('listitem')).toHaveText(['documents.read', 'documents.write']);
  await expect(page.getByRole('button', { name: 'Edit permissions, roles, addresses, owner and meta' })).toHaveCount(0);
  // The owner is the customer's data: it is never logged.
  expect(devServerLog()).not.toContain(owner);
});
