// The feedback button in the screen's lower right corner, always in view, in
// a column no control enters.

import { expect, test } from '@playwright/test';
import { expectAccessible, screenshotPath, signIn } from './helpers';

test('feedback is sent from the lower right corner with the page it was opened on', async ({ page }) => {
  await signIn(page, 'developer');
  const button = page.getByRole('button', { name: 'Feedback' });
  // The page's lower right corner: below everything else, at the right
  // (measured once the dashboard has loaded, so the page has its length).
  await expect(page.locator('dl.counts dd').first()).not.toHaveText('…');
  await expect(page.locator('tbody tr, .empty-state').first()).toBeVisible();
  const box = (await button.boundingBox())!;
  const viewport = page.viewportSize()!;
  expect(box.x + box.width, 'at the right').toBeGreaterThan(viewport.width - 40);
  expect(box.y + box.height, 'at the bottom, without scrolling').toBeGreaterThan(viewport.height - 40);
  expect(box.y + box.height).toBeLessThanOrEqual(viewport.height);
  // Still there at the page's end.
  await page.mouse.wheel(0, 5000);
  await expect(button).toBeInViewport();

  await button.click();
  const form = page.getByRole('dialog', { name: 'Send feedback' });
  await expect(form).toContainText('Sent with the page you are on: /api-keys');
  await form.getByRole('button', { name: 'Send feedback' }).click();
  await expect(form.getByRole('alert')).toContainText('message');
  await expect(form.getByLabel(/What works/)).toHaveAttribute('aria-invalid', 'true');

  let sent: any = null;
  page.on('request', (request) => {
    if (request.url().endsWith('/v1/feedback')) sent = request.postDataJSON();
  });
  await form.getByLabel(/What works/).fill('The one-time key screen is clear.');
  await form.getByRole('radio', { name: '4' }).check();
  await expectAccessible(page, 'the feedback form');
  await page.screenshot({ path: screenshotPath('07-feedback') });
  await form.getByRole('button', { name: 'Send feedback' }).click();
  await expect(page.getByRole('dialog', { name: 'Thank you' })).toContainText('Thank you for your feedback');
  await expectAccessible(page, 'the thank-you dialog');
  expect(sent).toEqual({ message: 'The one-time key screen is clear.', rating: 4, page: '/api-keys' });
  await page.getByRole('button', { name: 'Close' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
});
