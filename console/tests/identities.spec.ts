// Identities and key roles: an owner makes a role and records a customer
// with shared limits, gives a key the role, follows the key to its identity
// and sees what its keys did; a developer reads both pages and changes
// nothing; everything fits a phone and passes axe.

import { expect, test } from '@playwright/test';
import { callApi, demoCatalog, expectAccessible, screenshotPath, signIn } from './helpers';

for (const [name, viewport] of [
  ['1280 px', { width: 1280, height: 800 }],
  ['a 390 px phone', { width: 390, height: 844 }],
] as const) {
  test(`at ${name} an owner makes a role and an identity, and a key joins both`, async ({ page, request }) => {
    await page.setViewportSize(viewport);
    const suffix = `${viewport.width}-${Date.now()}`;
    const owner = `acme-${suffix}`;
    const roleName = `editor-${suffix}`;
    await signIn(page, 'platform_owner', '/roles');

    // A role, from the Key roles page.
    await expect(page.getByRole('heading', { level: 1, name: 'Key roles' })).toBeVisible();
    await page.getByRole('button', { name: 'Create role' }).click();
    const roleDialog = page.getByRole('dialog', { name: 'Create a role' });
    await roleDialog.getByLabel('Name').fill(roleName);
    await roleDialog.getByLabel('Permissions').fill('documents.* comments.write');
    await expectAccessible(page, `the create role dialog at ${name}`);
    await roleDialog.getByRole('button', { name: 'Create role' }).click();
    await expect(page.getByRole('status')).toContainText(`The role ${roleName} was saved.`);
    const roleRow = page.getByRole('row').filter({ hasText: roleName });
    await expect(roleRow).toContainText('documents.*');

    // An identity with shared limits, from the Identities page.
    await page.goto('/identities');
    await expect(page.getByRole('heading', { level: 1, name: 'Identities' })).toBeVisible();
    await page.getByRole('button', { name: 'Record an identity' }).click();
    const dialog = page.getByRole('dialog', { name: 'Record an identity' });
    await dialog.getByLabel('Owner id').fill(owner);
    await dialog.getByLabel('Credits to start with').fill('3');
    await dialog.getByLabel('Rate limits, one per line').fill('requests twice');
    await dialog.getByRole('button', { name: 'Record identity' }).click();
    await expect(dialog.getByRole('alert')).toContainText('is not a rate limit');
    await dialog.getByLabel('Rate limits, one per line').fill('requests 100 per 60');
    await dialog.getByLabel('Meta (optional)').fill('{"plan": "gold"}');
    await expectAccessible(page, `the record identity dialog at ${name}`);
    await dialog.getByRole('button', { name: 'Record identity' }).click();
    await expect(page.getByRole('heading', { level: 1, name: owner })).toBeVisible();
    await expect(page.getByRole('status')).toContainText(`The identity ${owner} was recorded.`);
    await expect(page.getByLabel('What is left now')).toContainText('Credits left3');
    await expect(page.getByText('No key carries this owner id yet.')).toBeVisible();

    // A key of that owner, checked twice: the identity's credits and usage follow.
    const { app, arx } = await demoCatalog(request);
    const created = await callApi(request, 'developer', 'POST', '/v1/api-keys', {
      application_id: app.id,
      arx_id: arx.id,
      name: `key of ${owner}`,
      external_id: owner,
    });
    for (let i = 0; i < 2; i++) {
      const verdict = await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: created.access_key });
      expect(verdict.code).toBe('VALID');
      expect(verdict.identity.external_id).toBe(owner);
    }
    await page.reload();
    await expect(page.getByLabel('What is left now')).toContainText('Credits left1');
    await expect(page.getByRole('link', { name: `key of ${owner}` })).toBeVisible();
    const usage = page.locator('section[aria-labelledby="usage-title"]');
    await expect(usage).toContainText('2 verifies in the last 24 hours: 2 accepted.');
    await expect(page.getByRole('list', { name: 'Meta' }).or(page.getByLabel('Meta', { exact: true }))).toContainText('plangold');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    await expectAccessible(page, `the identity page at ${name}`);
    if (viewport.width > 1000) await page.screenshot({ path: screenshotPath('18-identity'), fullPage: true });

    // The key's page links to its identity; the owner gives it the role there.
    await page.getByRole('link', { name: `key of ${owner}` }).click();
    await expect(page.getByRole('heading', { level: 1, name: `key of ${owner}` })).toBeVisible();
    await page.getByRole('button', { name: /^Edit/ }).click();
    const access = page.getByRole('dialog', { name: 'Permissions, roles, addresses, owner and meta' });
    await access.getByRole('checkbox', { name: new RegExp(roleName) }).check();
    await expectAccessible(page, `the access dialog with roles at ${name}`);
    await access.getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('p.notice')).toContainText('permissions, roles, addresses, owner and meta');
    await expect(page.getByRole('list', { name: 'Roles' })).toHaveText(roleName);
    const verdict = await callApi(request, 'platform_owner', 'POST', '/v1/verify', {
      key: created.access_key,
      permissions: 'documents.read AND comments.write',
    });
    expect(verdict.code).toBe('VALID');
    await page.getByRole('link', { name: /Its identity/ }).click();
    await expect(page.getByRole('heading', { level: 1, name: owner })).toBeVisible();

    // Found again by its owner id; not deletable while the key carries it.
    await page.goto('/identities');
    await page.getByLabel('Find by owner id').fill(owner);
    await page.getByRole('button', { name: 'Find' }).click();
    await expect(page.getByRole('link', { name: owner })).toBeVisible();
    await expect(page.getByRole('row')).toHaveCount(2);
    await page.getByRole('link', { name: owner }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this identity?' });
    await confirm.getByRole('textbox').fill(owner);
    await confirm.getByRole('button', { name: 'Delete identity' }).click();
    await expect(confirm.getByRole('alert')).toContainText('Keys still belong to this customer');
  });
}

test('a developer reads identities and key roles, and is offered no change', async ({ page, request }) => {
  const owner = `read-only-${Date.now()}`;
  const identity = await callApi(request, 'platform_owner', 'POST', '/v1/identities', {
    external_id: owner,
    limits: { credits: { remaining: 50, refill: { amount: 50, every: 'day' } } },
  });
  await callApi(request, 'platform_owner', 'POST', '/v1/roles', { name: `reader-${Date.now()}`, permissions: ['documents.read'] });
  await signIn(page, 'developer', '/identities');
  await expect(page.getByRole('link', { name: owner })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Record an identity' })).toHaveCount(0);
  await page.goto(`/identities/${identity.id}`);
  await expect(page.getByText('50 credits, refilled to 50 daily')).toBeVisible();
  await expect(page.getByRole('group', { name: 'What to do with this identity' })).toHaveCount(0);
  await expectAccessible(page, 'an identity page for a developer');
  await page.goto('/roles');
  await expect(page.getByRole('button', { name: 'Create role' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Delete/ })).toHaveCount(0);
});
