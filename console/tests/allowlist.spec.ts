// A key's allowlist in the console: an owner edits it on the key's page, a
// bad entry is refused at its field before anything is sent, the list reads
// back normalised, and report-only checks from elsewhere show on the key's
// usage chart in words.

import { expect, test } from '@playwright/test';
import { callApi, createKey, expectAccessible, signIn } from './helpers';

for (const [name, viewport] of [
  ['1280 px', { width: 1280, height: 800 }],
  ['a 390 px phone', { width: 390, height: 844 }],
] as const) {
  test(`at ${name} an owner sets a key's allowlist, a bad entry refused at its field`, async ({ page, request }) => {
    await page.setViewportSize(viewport);
    const key = await createKey(request, `allowlist at ${viewport.width}`);
    await signIn(page, 'platform_owner', `/api-keys/${key.id}`);
    await expect(page.locator('dl.facts')).toContainText('Any address');
    await page.getByRole('button', { name: /^Edit/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Permissions, roles, addresses, owner and meta' });
    const field = dialog.getByLabel('Addresses it may be used from (optional)');
    await field.fill('203.0.113.9/24\nnot-an-address');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog.locator('#key-allowlist-error')).toContainText('“not-an-address” is not an address or a range');
    await expect(field).toHaveAttribute('aria-invalid', 'true');
    await expectAccessible(page, `the allowlist refused at its field at ${name}`);
    await field.fill('203.0.113.9/24\n2001:DB8::/32');
    await dialog.getByRole('checkbox', { name: /Report only/ }).check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog).toHaveCount(0);
    const addresses = page.getByRole('list', { name: 'Addresses it may be used from' });
    await expect(addresses).toHaveText(['203.0.113.0/24', '2001:db8::/32'].join(''));
    await expect(page.locator('dl.facts')).toContainText('Report only');

    // A check from elsewhere is let through and counted as such.
    const verdict = await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: key.access_key, ip: '192.0.2.1' });
    expect(verdict.code).toBe('VALID');
    expect(verdict.would_refuse).toBe('ADDRESS_NOT_ALLOWED');
    const usage = page.locator('section[aria-labelledby="usage-title"]');
    await usage.getByRole('button', { name: 'Refresh' }).click();
    await expect(usage).toContainText('1 verify in the last 24 hours');
    await expect(usage.getByRole('list', { name: 'What the colours mean' })).toContainText(
      'Accepted, from outside its allowlist (report only)',
    );
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    await expectAccessible(page, `a key page with an allowlist at ${name}`);
  });
}
