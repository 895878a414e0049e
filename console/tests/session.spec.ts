// Signing in and out, roles, an ended session, and pages with no blank screen.

import { expect, test } from '@playwright/test';
import { everythingStored, expectAccessible, ROLE_BUTTON, signIn, endSessionOnNextCall } from './helpers';

test('the local sign-in is marked as such and offers each demo role', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in to the API Keys manager' })).toBeVisible();
  await expect(page.getByRole('note')).toContainText('Local sign-in');
  await expect(page.getByRole('note')).toContainText('Cognito');
  for (const name of Object.values(ROLE_BUTTON)) {
    await expect(page.getByRole('button', { name })).toBeVisible();
  }
  await expectAccessible(page, 'the sign-in page');
});

for (const [role, shown] of [
  ['platform_owner', 'Platform owner'],
  ['platform_admin', 'Platform admin'],
  ['developer', 'Developer'],
] as const) {
  test(`a ${role} signs in, keeps the demo token in the tab only, stays signed in on a reload, and signs out`, async ({
    page,
  }) => {
    let token = '';
    page.on('response', async (response) => {
      if (response.url().endsWith('/local-sign-in')) token = (await response.json()).token;
    });
    await signIn(page, role);
    await expect(page.getByRole('banner')).toContainText(shown);
    await expect(page.getByRole('heading', { name: 'API keys' })).toBeVisible();
    expect(token).not.toBe('');
    // The dev server's demo token is in this tab's sessionStorage and nowhere else.
    const kept = JSON.parse(await everythingStored(page).then((all) => all.split('\n')[0]!));
    expect(JSON.stringify(kept.session)).toContain(token);
    expect(JSON.stringify({ ...kept, session: null })).not.toContain(token);
    await page.reload();
    await expect(page.getByRole('banner')).toContainText(shown);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in to the API Keys manager' })).toBeVisible();
    expect(await everythingStored(page)).not.toContain(token);
    // A reload after signing out starts signed out: nothing was kept.
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Sign in to the API Keys manager' })).toBeVisible();
  });
}

test('an ended session signs in again without losing what was typed', async ({ page }) => {
  await signIn(page, 'developer', '/api-keys/new');
  await page.getByRole('radio', { name: 'Payments API' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('radio', { name: 'Production Sydney' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  // No permissions or owner: the step is optional.
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Name', { exact: true }).fill('typed before expiry');

  // The token ends: the next call is refused 401, as the API does.
  await endSessionOnNextCall(page, '**/v1/api-keys?dry_run=true');
  await page.getByRole('button', { name: 'Review' }).click();
  const again = page.getByRole('dialog', { name: 'Your session has ended' });
  await expect(again).toBeVisible();
  await expectAccessible(page, 'the session-ended dialog');
  await again.getByRole('button', { name: 'Sign in as developer' }).click();
  await expect(again).toHaveCount(0);
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('typed before expiry');
  await page.getByRole('button', { name: 'Review' }).click();
  await expect(page.locator('dl.summary')).toContainText('typed before expiry');
});

test('an unknown page and an unreachable API are said in words', async ({ page }) => {
  await signIn(page, 'developer', '/no-such-page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expectAccessible(page, 'the not-found page');
  await page.route('**/v1/api-keys?*', (route) => route.abort('connectionrefused'));
  await page.getByRole('link', { name: 'API key dashboard' }).click();
  await expect(page.getByRole('alert')).toContainText('The API could not be reached');
});
