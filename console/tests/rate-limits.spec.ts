// Rate limits: an owner makes one, gives an identifier and a pattern their
// own limits, sees what the limit let through and limited (and who most),
// removes an override and deletes the limit; a developer reads it and is
// offered no change; everything fits a phone and passes axe.

import { expect, test } from '@playwright/test';
import { callApi, expectAccessible, screenshotPath, signIn } from './helpers';

for (const [name, viewport] of [
  ['1280 px', { width: 1280, height: 800 }],
  ['a 390 px phone', { width: 390, height: 844 }],
] as const) {
  test(`at ${name} an owner makes a rate limit, overrides it and sees its checks`, async ({ page, request }) => {
    await page.setViewportSize(viewport);
    const limitName = `sign-in-${viewport.width}-${Date.now()}`;
    await signIn(page, 'platform_owner', '/rate-limits');
    await expect(page.getByRole('heading', { level: 1, name: 'Rate limits' })).toBeVisible();

    await page.getByRole('button', { name: 'Create rate limit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a rate limit' });
    await dialog.getByLabel('Name').fill(limitName);
    await dialog.getByLabel('Requests allowed').fill('0');
    await dialog.getByRole('button', { name: 'Create rate limit' }).click();
    await expect(dialog.getByRole('alert')).toContainText('The limit must be a whole number from 1 to 1,000,000.');
    await dialog.getByLabel('Requests allowed').fill('3');
    await dialog.getByLabel('Window length').fill('1');
    await dialog.getByLabel('Window unit').selectOption('hours');
    await expectAccessible(page, `the create rate limit dialog at ${name}`);
    await dialog.getByRole('button', { name: 'Create rate limit' }).click();
    await expect(page.getByRole('status')).toContainText(`The rate limit ${limitName} was saved.`);
    const row = page.getByRole('row').filter({ hasText: limitName });
    await expect(row).toContainText('3 per hour');
    await expect(row).toContainText('Refuse requests');

    // Its page: two overrides, one exact and one a pattern.
    await row.getByRole('link', { name: limitName }).click();
    await expect(page.getByRole('heading', { level: 1, name: limitName })).toBeVisible();
    await expect(page.getByText('No overrides: every identifier gets the limit above.')).toBeVisible();
    for (const [identifier, limit] of [
      ['boss@example.com', '10'],
      ['*@example.com', '1'],
    ] as const) {
      await page.getByRole('button', { name: 'Add an override' }).click();
      const add = page.getByRole('dialog', { name: 'Add an override' });
      await add.getByLabel('Identifier or pattern').fill(identifier);
      await add.getByLabel('Requests allowed').fill(limit);
      if (identifier === 'boss@example.com') await expectAccessible(page, `the override dialog at ${name}`);
      await add.getByRole('button', { name: 'Add override' }).click();
      await expect(page.getByRole('status')).toContainText(`The override for ${identifier} was saved.`);
    }
    const overrides = page.getByRole('table').filter({ hasText: 'Identifier or pattern' });
    await expect(overrides.getByRole('row').filter({ hasText: '*@example.com' })).toContainText('1 per hour');

    // Checks, as a service makes them: the pattern limits whom it fits.
    const check = (identifier: string) =>
      callApi(request, 'platform_owner', 'POST', '/v1/ratelimit', { namespace: limitName, identifier });
    const answers = [];
    for (const identifier of ['ann@example.com', 'ann@example.com', 'ann@example.com', 'boss@example.com', '203.0.113.7']) {
      answers.push((await check(identifier)).success);
    }
    expect(answers).toEqual([true, false, false, true, true]);
    await page.getByRole('button', { name: 'Refresh' }).click();
    const usage = page.locator('section[aria-labelledby="usage-title"]');
    await expect(usage).toContainText('5 checks in the last 24 hours: 3 let through, 2 limited.');
    await expect(page.getByRole('list', { name: 'Limited most today' })).toHaveText('ann@example.com: 2 times');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    await expectAccessible(page, `a rate limit's page at ${name}`);
    if (viewport.width > 1000) await page.screenshot({ path: screenshotPath('19-rate-limit'), fullPage: true });

    // An override removed; then the limit itself, by typing its name.
    await page.getByRole('button', { name: 'Remove the override for *@example.com' }).click();
    const remove = page.getByRole('dialog', { name: 'Remove this override?' });
    await remove.getByRole('button', { name: 'Remove override' }).click();
    await expect(page.getByRole('status')).toContainText('The override for *@example.com was removed.');
    expect((await check('ann@example.com')).success).toBe(true);
    await page.getByRole('link', { name: '← All rate limits' }).click();
    await page.getByRole('button', { name: `Delete ${limitName}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this rate limit?' });
    await confirm.getByRole('textbox').fill(limitName);
    await confirm.getByRole('button', { name: 'Delete rate limit' }).click();
    await expect(page.getByRole('status')).toContainText(`The rate limit ${limitName} was deleted.`);
  });
}

test('a developer reads rate limits and is offered no change', async ({ page, request }) => {
  const name = `exports-${Date.now()}`;
  const created = await callApi(request, 'platform_owner', 'POST', '/v1/ratelimit-namespaces', {
    name,
    limit: 100,
    duration: 86_400,
    fail_open: true,
  });
  await signIn(page, 'developer', '/rate-limits');
  const row = page.getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('100 per day');
  await expect(row).toContainText('Let requests through');
  await expect(page.getByRole('button', { name: 'Create rate limit' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Delete/ })).toHaveCount(0);
  await page.goto(`/rate-limits/${created.id}`);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add an override' })).toHaveCount(0);
  await expect(page.getByText('No identifier was limited today.')).toBeVisible();
  await expectAccessible(page, 'a rate limit page for a developer');
});
