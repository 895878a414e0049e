// Service keys: an owner creates one (its secret shown once), a machine uses
// it as its bearer credential, and the owner revokes it by typing its id.

import { expect, test } from '@playwright/test';
import { createKey, devServerLog, everythingStored, expectAccessible, screenshotPath, signIn } from './helpers';

test('an owner creates a verifier service key, sees it once, and revokes it by typing its id', async ({
  page,
  request,
}) => {
  await signIn(page, 'developer');
  await expect(page.getByRole('link', { name: 'Service keys' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();

  await page.getByRole('button', { name: 'Sign in as platform owner' }).click();
  await page.getByRole('link', { name: 'Service keys' }).click();
  await expect(page.getByRole('heading', { name: 'Service keys' })).toBeVisible();
  await expectAccessible(page, 'the service keys page');

  await page.getByRole('button', { name: 'Create service key' }).click();
  const dialog = page.getByRole('dialog');
  // An empty name is refused, at its field, in words.
  await dialog.getByRole('button', { name: 'Create service key' }).click();
  await expect(dialog.getByRole('alert')).toBeVisible();
  await expect(page.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  await page.getByLabel('Name').fill('payments verifier');
  await dialog.getByLabel(/^Verifier/).check();
  await expectAccessible(page, 'the create service key dialog');
  await dialog.getByRole('button', { name: 'Create service key' }).click();

  await expect(page.getByRole('heading', { name: 'Your new service key' })).toBeVisible();
  const secret = (await page.locator('#service-key-secret').textContent())!.trim();
  expect(secret).toMatch(/^akmsk_[0-9a-f]{32}_[0-9A-Za-z]{36}$/);
  await page.getByRole('button', { name: 'Copy the service key' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await expectAccessible(page, 'the service key screen');
  await page.screenshot({ path: screenshotPath('08-service-key') });
  const done = page.getByRole('button', { name: 'Done' });
  await expect(done).toBeDisabled();
  await page.getByLabel('I have stored the service key somewhere safe').check();
  await done.click();

  const row = page.locator('tbody tr').filter({ hasText: 'payments verifier' });
  await expect(page.getByRole('status').filter({ hasText: 'was created' })).toBeVisible();
  await expect(row).toContainText('Verifier');
  await expect(row).toContainText('Active');
  await expect(row).toContainText('Never');
  const id = (await row.locator('code').textContent())!.trim();

  // A machine uses it: a verify answered with the service key alone.
  const key = await createKey(request, 'checked by a service key');
  const verdict = await request.post('/v1/verify', {
    headers: { authorization: `Bearer ${secret}` },
    data: { key: key.access_key },
  });
  expect(verdict.status()).toBe(200);
  expect((await verdict.json()).code).toBe('VALID');

  // Its use is on the record (the list is read again on coming back).
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('link', { name: 'Service keys' }).click();
  await expect(row).not.toContainText('Never');

  // Revoked by typing its exact id: the button waits for it.
  await row.getByRole('button', { name: 'Revoke payments verifier' }).click();
  const revoke = page.getByRole('dialog').getByRole('button', { name: 'Revoke service key' });
  await expect(revoke).toBeDisabled();
  await page.getByLabel(/To confirm, type/).fill(id);
  await expectAccessible(page, 'the revoke dialog');
  await revoke.click();
  await expect(page.getByRole('status').filter({ hasText: 'was revoked' })).toBeVisible();
  await expect(row).toContainText('Revoked');
  await expect(row.getByRole('button', { name: /Revoke/ })).toHaveCount(0);

  const refused = await request.post('/v1/verify', {
    headers: { authorization: `Bearer ${secret}` },
    data: { key: key.access_key },
  });
  expect(refused.status()).toBe(401);

  // The secret is nowhere in the browser now, nor in the server's log.
  const stored = await everythingStored(page);
  expect(stored).not.toContain(secret.split('_')[2]);
  expect(await page.content()).not.toContain(secret);
  expect(devServerLog()).not.toContain(secret.split('_')[2]);
});
