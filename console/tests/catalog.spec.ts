// The Application and Arx dashboards: everyone browses; owners and admins
// manage, each destructive action confirmed by typing the exact name.

import { expect, test } from '@playwright/test';
import { callApi, expectAccessible, signIn } from './helpers';

test('an owner registers, changes and archives an application', async ({ page, request }) => {
  await signIn(page, 'platform_owner', '/applications');
  await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();
  await page.getByRole('button', { name: 'Register application' }).click();
  const form = page.getByRole('dialog', { name: 'Register an application' });
  await expectAccessible(page, 'the application form');
  // The API's refusal, beside the field it names.
  await form.getByRole('button', { name: 'Register application' }).click();
  await expect(form.getByRole('alert')).toContainText('name');
  await expect(form.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  await form.getByLabel('Name').fill('Mobile app');
  await form.getByLabel(/Client/).check();
  await form.getByLabel(/Allowed origins/).fill('https://app.example.com\nhttps://m.example.com');
  await form.getByRole('button', { name: 'Register application' }).click();
  await expect(page.getByRole('status')).toContainText('Mobile app was registered.');
  const row = page.locator('tbody tr').filter({ hasText: 'Mobile app' });
  await expect(row).toContainText('https://app.example.com, https://m.example.com');

  await row.getByRole('button', { name: 'Edit Mobile app' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Mobile app' });
  await edit.getByLabel('Name').fill('Mobile app v2');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  const renamed = page.locator('tbody tr').filter({ hasText: 'Mobile app v2' });
  await expect(renamed).toBeVisible();

  await renamed.getByRole('button', { name: 'Archive Mobile app v2' }).click();
  const confirm = page.getByRole('dialog', { name: 'Archive this application?' });
  await expect(confirm.getByRole('button', { name: 'Archive application' })).toBeDisabled();
  await confirm.getByLabel(/To confirm/).fill('Mobile app');
  await expect(confirm.getByRole('button', { name: 'Archive application' })).toBeDisabled();
  await confirm.getByLabel(/To confirm/).fill('Mobile app v2');
  await expectAccessible(page, 'the archive dialog');
  await confirm.getByRole('button', { name: 'Archive application' }).click();
  await expect(renamed).toContainText('Archived');
  await expect(renamed.getByRole('button')).toHaveCount(0);
  const stored = (await callApi(request, 'developer', 'GET', '/v1/applications?limit=100')).items.find(
    (a: any) => a.name === 'Mobile app v2',
  );
  expect(stored.status).toBe('archived');
});

test('an admin creates, disables, enables and deletes an Arx', async ({ page, request }) => {
  await signIn(page, 'platform_admin', '/arx');
  await page.getByRole('button', { name: 'Create Arx' }).click();
  const form = page.getByRole('dialog', { name: 'Create an Arx' });
  await form.getByLabel('Name').fill('Development Oregon');
  await form.getByLabel('Purpose').selectOption('development');
  await form.getByLabel('Provider').fill('aws');
  await form.getByLabel('Region').fill('us-west-2');
  await form.getByLabel('Encryption method').fill('AES-GCM-256');
  await form.getByLabel('Rotation cycle').fill('30 days');
  // The plan is left empty: the API names it.
  await form.getByRole('button', { name: 'Create Arx' }).click();
  await expect(form.getByText('Error:')).toBeVisible();
  await expect(form.getByLabel('Plan')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page, 'the Arx form, with its error');
  await form.getByLabel('Plan').fill('standard');
  await form.getByRole('button', { name: 'Create Arx' }).click();
  const row = page.locator('tbody tr').filter({ hasText: 'Development Oregon' });
  await expect(row).toContainText('Active');
  await expectAccessible(page, 'the Arx dashboard as admin');

  await row.getByRole('button', { name: 'Disable Development Oregon' }).click();
  const disable = page.getByRole('dialog', { name: 'Disable this Arx?' });
  await disable.getByLabel(/To confirm/).fill('Development Oregon');
  await expectAccessible(page, 'the disable dialog');
  await disable.getByRole('button', { name: 'Disable Arx' }).click();
  await expect(row).toContainText('Disabled');
  await row.getByRole('button', { name: 'Enable Development Oregon' }).click();
  await expect(row).toContainText('Active');

  await row.getByRole('button', { name: 'Delete Development Oregon' }).click();
  const remove = page.getByRole('dialog', { name: 'Delete this Arx?' });
  await expect(remove.getByRole('button', { name: 'Delete Arx' })).toBeDisabled();
  await remove.getByLabel(/To confirm/).fill('Development Oregon');
  await remove.getByRole('button', { name: 'Delete Arx' }).click();
  await expect(row).toContainText('Deleted');
  const arx = (await callApi(request, 'developer', 'GET', '/v1/arx?limit=100')).items.find(
    (a: any) => a.name === 'Development Oregon',
  );
  expect(arx.status).toBe('deleted');
});

test('a developer browses the catalog without any of its controls', async ({ page }) => {
  await signIn(page, 'developer', '/applications');
  await expect(page.locator('tbody tr').filter({ hasText: 'Payments API' })).toBeVisible();
  await expect(page.getByRole('button', { name: /Register|Edit|Archive/ })).toHaveCount(0);
  await expectAccessible(page, 'the Application dashboard as developer');
  await page.getByRole('link', { name: 'Arx', exact: true }).click();
  await expect(page.locator('tbody tr').filter({ hasText: 'Production Sydney' })).toBeVisible();
  await expect(page.getByRole('button', { name: /Create|Edit|Disable|Enable|Delete/ })).toHaveCount(0);
  await expectAccessible(page, 'the Arx dashboard as developer');
});
