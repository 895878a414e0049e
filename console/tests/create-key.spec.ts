// The product page's create flow: application, Arx, review, the key once.

import { expect, test } from '@playwright/test';
import { callApi, devServerLog, everythingStored, expectAccessible, screenshotPath, signIn } from './helpers';

test('a developer creates a key through the guided flow and sees it once', async ({ page, request }) => {
  // An archived application must not be offered.
  const archived = await callApi(request, 'platform_owner', 'POST', '/v1/applications', {
    name: 'Retired batch',
    technology: 'server',
  });
  await callApi(request, 'platform_owner', 'POST', `/v1/applications/${archived.id}/archive`);

  await signIn(page, 'developer');
  await page.getByRole('link', { name: 'Create API key' }).click();
  await expect(page).toHaveURL(/\/api-keys\/new$/);

  // 1. The application: name and technology; archived ones are not offered.
  await expect(page.getByRole('heading', { name: 'Which application is the key for?' })).toBeVisible();
  await expect(page.getByText('Server application')).toBeVisible();
  await expect(page.getByRole('radio', { name: 'Retired batch' })).toHaveCount(0);
  await page.getByRole('radio', { name: 'Payments API' }).check();
  await expectAccessible(page, 'the application step');
  await page.screenshot({ path: screenshotPath('01-choose-application') });
  await page.getByRole('button', { name: 'Continue' }).click();

  // 2. The Arx: name, purpose, provider, region. Nothing chosen is said plainly.
  await expect(page.getByRole('heading', { name: 'Which Arx is the key for?' })).toBeVisible();
  await expect(page.getByText('Production · aws · ap-southeast-2')).toBeVisible();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toContainText('Select the Arx the key is for.');
  await expectAccessible(page, 'the Arx step, with its error');
  await page.screenshot({ path: screenshotPath('02-choose-arx') });
  await page.getByRole('radio', { name: 'Production Sydney' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();

  // 3. What it may do and who owns it: optional (tests/access.spec.ts fills them).
  await expect(page.getByRole('heading', { name: 'What may the key do, and who holds it? (optional)' })).toBeVisible();
  await page.getByRole('button', { name: 'Continue' }).click();

  // 4. A name and an expiry.
  await page.getByLabel('Name', { exact: true }).fill('billing worker');
  await page.getByLabel('Expires on (optional)').fill('2031-01-31');
  await expectAccessible(page, 'the name and expiry step');
  await page.getByRole('button', { name: 'Review' }).click();

  // 5. The API's summary; nothing exists yet.
  await expect(page.getByRole('heading', { name: 'Check the key before you create it' })).toBeVisible();
  const summary = page.locator('dl.summary');
  await expect(summary).toContainText('Payments API');
  await expect(summary).toContainText('Production Sydney');
  await expect(summary).toContainText('billing worker');
  await expect(summary).toContainText('2031');
  await expectAccessible(page, 'the review step');
  await page.screenshot({ path: screenshotPath('03-review') });
  const before = await callApi(request, 'developer', 'GET', '/v1/api-keys?limit=1');
  await page.getByRole('button', { name: 'Create API key' }).click();

  // 6. The access key, once, with a copy button and the Arx URL.
  await expect(page.getByRole('heading', { name: 'Your new access key' })).toBeVisible();
  await expect(page.getByText('It will not be shown again.')).toBeVisible();
  const accessKey = (await page.locator('#access-key').textContent())!.trim();
  expect(accessKey).toMatch(/^akm_[0-9a-f]{32}_[0-9A-Za-z]{36}$/);
  await expect(page.getByText(/^https:\/\/.*arx--[0-9a-f]{32}$/)).toBeVisible();
  await page.getByRole('button', { name: 'Copy the access key' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(accessKey);
  await expectAccessible(page, 'the access key screen');
  await page.screenshot({ path: screenshotPath('04-access-key') });
  // The key id copies too; on a phone the key takes two lines at most and
  // the Arx URL breaks after its last slash, its id in one piece.
  await page.getByRole('button', { name: 'Copy the key id' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(/^apikey--[0-9a-f]{32}$/);
  await page.setViewportSize({ width: 390, height: 844 });
  const lines = await page.evaluate(() => {
    const key = document.querySelector('#access-key')!;
    const lineHeight = parseFloat(getComputedStyle(key).lineHeight) || 20;
    return {
      key: Math.round(key.getBoundingClientRect().height / lineHeight),
      urlEnd: document.querySelector('code.url .url-end')!.getClientRects().length,
      scrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    };
  });
  expect(lines).toEqual({ key: 2, urlEnd: 1, scrolls: false });
  await page.setViewportSize({ width: 1280, height: 800 });

  // Leaving asks first: a link, and a reload.
  page.once('dialog', (dialog) => dialog.dismiss());
  await page.getByRole('link', { name: 'Applications' }).click();
  await expect(page.getByRole('heading', { name: 'Your new access key' })).toBeVisible();
  let unloadAsked = false;
  page.once('dialog', async (dialog) => {
    unloadAsked = dialog.type() === 'beforeunload';
    await dialog.dismiss();
  });
  await page.reload({ timeout: 2_000 }).catch(() => undefined);
  expect(unloadAsked).toBe(true);
  await expect(page.getByRole('heading', { name: 'Your new access key' })).toBeVisible();

  // Closing needs "I have stored it".
  const done = page.getByRole('button', { name: 'Done' });
  await expect(done).toBeDisabled();
  await page.getByLabel('I have stored the access key somewhere safe').check();
  await done.click();

  // The dashboard shows it at once, newest first, marked, with a notice and the counts moved.
  await expect(page).toHaveURL(/\/api-keys$/);
  const firstRow = page.locator('tbody tr').first();
  await expect(firstRow).toContainText('billing worker');
  await expect(firstRow).toHaveClass(/highlight/);
  await expect(page.getByRole('status').filter({ hasText: 'billing worker was created for Payments API in Production Sydney.' })).toBeVisible();
  await expect(page.getByRole('definition').first()).toHaveText(String(before.counts.total + 1));

  // The key is nowhere in the browser now, nor in the server's log.
  const stored = await everythingStored(page);
  expect(stored).not.toContain(accessKey);
  expect(stored).not.toContain(accessKey.split('_')[2]);
  expect(await page.content()).not.toContain(accessKey);
  expect(devServerLog()).not.toContain(accessKey.split('_')[2]);
});

test('the whole create flow works with the keyboard alone', async ({ page }) => {
  await signIn(page, 'developer');
  await page.getByRole('link', { name: 'Create API key' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Which application is the key for?' })).toBeVisible();

  // Tab into a radio group, arrows choose within it, Enter submits the step.
  const tabTo = async (name: RegExp | string, role: 'radio' | 'button' | 'checkbox' | 'textbox') => {
    const target = role === 'radio' ? page.getByRole('radio') : page.getByRole(role, { name });
    for (let i = 0; i < 30; i++) {
      const focused = await target.evaluateAll((els) => els.some((el) => el === document.activeElement));
      if (focused) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached the ${role} ${name}`);
  };
  const choose = async (name: string) => {
    await tabTo(name, 'radio');
    await page.keyboard.press('Space');
    for (let i = 0; i < 10 && !(await page.getByRole('radio', { name }).isChecked()); i++) {
      await page.keyboard.press('ArrowDown');
    }
    await expect(page.getByRole('radio', { name })).toBeChecked();
    await expect(page.getByRole('radio', { name })).toBeFocused();
  };
  await choose('Payments API');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Which Arx is the key for?' })).toBeVisible();
  await choose('Production Sydney');
  await page.keyboard.press('Enter');
  // The optional step: Enter in its one-line field goes on.
  await tabTo('Owner (optional)', 'textbox');
  await page.keyboard.press('Enter');
  await tabTo('Name', 'textbox');
  await page.keyboard.type('keyboard only');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Check the key before you create it' })).toBeVisible();
  await tabTo('Create API key', 'button');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Your new access key' })).toBeFocused();
  await tabTo('I have stored the access key somewhere safe', 'checkbox');
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Done' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('tbody tr').first()).toContainText('keyboard only');
});

test('a refusal names the step and field at fault', async ({ page, request }) => {
  await signIn(page, 'developer');
  await page.getByRole('link', { name: 'Create API key' }).click();
  await page.getByRole('radio', { name: 'Payments API' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('radio', { name: 'Staging Frankfurt' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  // No permissions or owner: the step is optional.
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Expires on (optional)').fill('2020-01-01');
  await page.getByRole('button', { name: 'Review' }).click();
  // The API refuses an expiry in the past: the message is at the field.
  await expect(page.getByRole('alert')).toContainText('The expiry date must be in the future.');
  await expect(page.getByLabel('Expires on (optional)')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page, 'a refused step');

  // The Arx is disabled meanwhile: the create is refused (409) and said so.
  await page.getByLabel('Expires on (optional)').fill('');
  await page.getByRole('button', { name: 'Review' }).click();
  await expect(page.getByRole('heading', { name: 'Check the key before you create it' })).toBeVisible();
  const { allArx } = await (await import('./helpers')).demoCatalog(request);
  const frankfurt = allArx.find((a: any) => a.name === 'Staging Frankfurt');
  await callApi(request, 'platform_admin', 'POST', `/v1/arx/${frankfurt.id}/disable`);
  try {
    await page.getByRole('button', { name: 'Create API key' }).click();
    await expect(page.getByRole('alert')).toContainText(/disabled|not active/i);
    await expect(page.getByRole('heading', { name: 'Your new access key' })).toHaveCount(0);
  } finally {
    await callApi(request, 'platform_admin', 'POST', `/v1/arx/${frankfurt.id}/enable`);
  }
});

test('each step of the create flow is an address: Back goes one step back, a reload keeps the answers', async ({ page }) => {
  await signIn(page, 'developer');
  await page.getByRole('link', { name: 'Create API key' }).click();
  await expect(page).toHaveURL(/\/api-keys\/new$/);
  await page.getByRole('radio', { name: 'Payments API' }).check();
  await page.reload();
  await expect(page.getByRole('radio', { name: 'Payments API' })).toBeChecked();
  await page.getByRole('button', { name: 'Continue' }).click();

  await expect(page).toHaveURL(/\/api-keys\/new\/arx$/);
  await page.getByRole('radio', { name: 'Production Sydney' }).check();
  await page.reload();
  await expect(page.getByRole('radio', { name: 'Production Sydney' })).toBeChecked();
  await page.goBack();
  await expect(page.getByRole('heading', { name: 'Which application is the key for?' })).toBeVisible();
  await expect(page.getByRole('radio', { name: 'Payments API' })).toBeChecked();
  await page.goForward();
  await page.getByRole('button', { name: 'Continue' }).click();

  await expect(page).toHaveURL(/\/api-keys\/new\/access$/);
  await page.getByLabel('Permissions (optional)').fill('documents.*');
  await page.reload();
  await expect(page.getByLabel('Permissions (optional)')).toHaveValue('documents.*');
  await page.getByRole('button', { name: 'Continue' }).click();

  await expect(page).toHaveURL(/\/api-keys\/new\/details$/);
  await page.getByLabel('Name', { exact: true }).fill('stepped through');
  await page.goBack();
  await expect(page.getByRole('heading', { name: 'What may the key do, and who holds it? (optional)' })).toBeVisible();
  await page.goForward();
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('stepped through');
  await page.getByRole('button', { name: 'Review' }).click();

  // The review asks the API again after a reload.
  await expect(page).toHaveURL(/\/api-keys\/new\/review$/);
  await page.reload();
  const summary = page.locator('dl.summary');
  await expect(summary).toContainText('stepped through');
  await expect(summary).toContainText('documents.*');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await expect(page.getByRole('heading', { name: 'Your new access key' })).toBeVisible();
  // Neither the address nor the tab's storage ever holds the key.
  const accessKey = (await page.locator('#access-key').textContent())!.trim();
  expect(page.url()).not.toContain(accessKey.slice(-20));
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
  expect(stored).not.toContain(accessKey.slice(-20));
  await page.getByLabel('I have stored the access key somewhere safe').check();
  await page.getByRole('button', { name: 'Done' }).click();

  // A new key starts from the first question.
  await page.getByRole('link', { name: 'Create API key' }).click();
  await expect(page.getByRole('radio', { name: 'Payments API' })).not.toBeChecked();
});
