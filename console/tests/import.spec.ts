// Import keys: an owner checks a CSV file of keys the team issued before (a
// dry run: what is ready, which rows are refused and why, nothing imported),
// imports it, and the keys verify as they are; the page fits a phone, passes
// axe and keeps no key anywhere the browser stores things. A developer is
// offered no import.

import { expect, test } from '@playwright/test';
import { callApi, everythingStored, expectAccessible, screenshotPath, signIn } from './helpers';

for (const [name, viewport] of [
  ['1280 px', { width: 1280, height: 800 }],
  ['a 390 px phone', { width: 390, height: 844 }],
] as const) {
  test(`at ${name} an owner checks a CSV file of old keys, then imports it`, async ({ page, request }) => {
    await page.setViewportSize(viewport);
    const run = `${viewport.width}${Date.now()}`;
    const keys = [`legacy_live_${run}_first0000`, `legacy_live_${run}_second000`];
    const csv = `key,name,permissions\n${keys[0]},Old billing,invoices.read\n${keys[1]},Old search,\nshort,Too short,\n`;
    const owner = await callApi(request, 'platform_owner', 'GET', '/v1/api-keys?limit=1');
    const before = owner.counts.total;

    await signIn(page, 'platform_owner', '/api-keys');
    await page.getByRole('link', { name: 'Import keys' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Import keys' })).toBeVisible();
    await page.getByLabel('Application').selectOption({ label: 'Payments API' });
    await page.getByLabel('Arx').selectOption({ label: 'Production Sydney' });
    await page.getByLabel('How the keys were stored').selectOption('plaintext');

    // No file yet: said in words, beside the field.
    await page.getByRole('button', { name: 'Check the file' }).click();
    await expect(page.getByRole('alert')).toContainText('Choose the CSV file to import.');

    await page.getByLabel('CSV file').setInputFiles({ name: 'old-keys.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Check the file' }).click();
    const check = page.locator('section[aria-labelledby="import-check-title"]');
    await expect(check.getByRole('status')).toHaveText('2 keys are ready to import; 1 will not be imported. Nothing has been imported yet.');
    const refused = check.getByRole('table', { name: 'Rows not imported' });
    await expect(refused.getByRole('row').nth(1)).toHaveText(/^3\s*The key must be 8 to 512 visible ASCII characters\.$/);
    const unchanged = await callApi(request, 'platform_owner', 'GET', '/v1/api-keys?limit=1');
    expect(unchanged.counts.total, 'a check imports nothing').toBe(before);
    await expectAccessible(page, `the import check at ${name}`);

    await check.getByRole('button', { name: 'Import 2 keys' }).click();
    const done = page.locator('section[aria-labelledby="import-done-title"]');
    await expect(done.getByRole('status')).toContainText('2 keys were imported; 1 was not.');
    for (const key of keys) {
      const verdict = await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key });
      expect(verdict.code).toBe('VALID');
    }
    const verdict = await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: keys[0] });
    expect(verdict.permissions).toEqual(['invoices.read']);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    await expectAccessible(page, `the import result at ${name}`);
    if (viewport.width > 1000) await page.screenshot({ path: screenshotPath('20-import'), fullPage: true });

    // The keys went to the API as the file held them, and nowhere else.
    const stored = await everythingStored(page);
    for (const key of keys) expect(stored).not.toContain(key);
    expect(await page.content()).not.toContain(keys[0]);

    // Imported again: each row says it is there already.
    await page.getByLabel('CSV file').setInputFiles({ name: 'old-keys.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Check the file' }).click();
    await expect(check.getByRole('status')).toHaveText('0 keys are ready to import; 3 will not be imported. Nothing has been imported yet.');
    await expect(check.getByRole('table', { name: 'Rows not imported' })).toContainText('This key is already imported');
    await expect(check.getByRole('button', { name: /^Import/ })).toHaveCount(0);
  });
}

test('a developer is offered no import', async ({ page }) => {
  await signIn(page, 'developer', '/api-keys');
  await expect(page.getByRole('heading', { level: 1, name: 'API keys' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Import keys' })).toHaveCount(0);
  await page.goto('/api-keys/import');
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
});
