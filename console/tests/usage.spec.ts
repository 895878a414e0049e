// What keys did: a key's chart changes after verifies and reads the same as
// its table; the dashboard counts today's verifies; the tenant's overview
// says which application is busiest and what was refused; both as CSV.

import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { callApi, createKey, expectAccessible, rowOf, screenshotPath, signIn } from './helpers';

test("a key's usage chart follows its verifies, with a table and a CSV of the same numbers", async ({ page, request }) => {
  const key = await createKey(request, 'usage chart');
  const verify = async () => (await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: key.access_key })).code;

  await signIn(page, 'developer', `/api-keys/${key.id}`);
  const usage = page.locator('section[aria-labelledby="usage-title"]');
  await expect(usage).toContainText('0 verifies in the last 24 hours: no verifies.');
  await expect(usage.getByText('No verifies in this range.')).toHaveCount(1);

  for (let i = 0; i < 3; i++) expect(await verify()).toBe('VALID');
  await callApi(request, 'platform_admin', 'POST', `/v1/api-keys/${key.id}/disable`);
  for (let i = 0; i < 2; i++) expect(await verify()).toBe('DISABLED');

  await usage.getByRole('button', { name: 'Refresh' }).click();
  await expect(usage).toContainText('5 verifies in the last 24 hours: 3 accepted, 2 disabled.');
  await expect(usage.locator('svg rect')).toHaveCount(2);
  await expect(usage.getByRole('list', { name: 'What the colours mean' })).toHaveText(/Accepted\s*Disabled/);
  // The axis says how many: its top a round number at or above the tallest bar.
  await expect(usage.locator('.y-axis span')).toHaveText(['5', '2.5', '0']);
  await usage.getByText('The numbers, as a table').click();
  const table = usage.getByRole('table', { name: 'Verifies of this key in the last 24 hours' });
  await expect(table.getByRole('columnheader')).toHaveText(['Hour', 'All', 'Accepted', 'Disabled']);
  const rows = table.locator('tbody tr');
  // A test that crosses the hour splits its verifies over two rows; they add up.
  const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))));
  expect(cells.reduce((sum, row) => [sum[0]! + row[0]!, sum[1]! + row[1]!, sum[2]! + row[2]!], [0, 0, 0])).toEqual([5, 3, 2]);
  await expectAccessible(page, "a key's usage, with its table open");
  await usage.screenshot({ path: screenshotPath('15-key-usage') });

  await usage.getByLabel('Show').selectOption('day');
  await expect(usage).toContainText('5 verifies in the last 30 days: 3 accepted, 2 disabled.');

  const download = page.waitForEvent('download');
  await usage.getByRole('button', { name: 'Download as CSV' }).click();
  const saved = await download;
  expect(saved.suggestedFilename()).toBe(`${key.id}-usage-day.csv`);
  const csv = readFileSync((await saved.path())!, 'utf8').trim().split('\n');
  expect(csv[0]).toBe('start,total,VALID,INSUFFICIENT_PERMISSIONS,RATE_LIMITED,USAGE_EXCEEDED,DISABLED,EXPIRED,DELETED,ADDRESS_NOT_ALLOWED,ADDRESS_REPORTED');
  expect(csv.at(-1)).toMatch(/,5,3,0,0,0,2,0,0,0,0$/);

  // The dashboard counts them in "Today".
  await page.getByRole('link', { name: 'API keys', exact: true }).click();
  await page.getByLabel('Status').selectOption('all');
  await expect(rowOf(page, key.id).locator('td[data-label="Today"]')).toHaveText('5');
});

test("the usage page says which application is busiest and what was refused, in bars and numbers", async ({ page, request }) => {
  const key = await createKey(request, 'usage overview');
  await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: key.access_key });
  await callApi(request, 'platform_admin', 'POST', `/v1/api-keys/${key.id}/disable`);
  await callApi(request, 'platform_owner', 'POST', '/v1/verify', { key: key.access_key });

  await signIn(page, 'developer');
  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Usage', level: 1 })).toBeVisible();
  const byApplication = page.locator('section[aria-labelledby="by-application-title"]');
  await expect(byApplication.locator('.hbars li').first()).toContainText('Payments API');
  const refused = page.locator('section[aria-labelledby="refused-title"]');
  await expect(refused.locator('.hbars')).toContainText('Disabled');
  const reasons = refused.getByRole('table', { name: 'Refusals this week by reason' });
  await expect(reasons).toContainText('Disabled');
  // One number per reason, not a column per reason repeating it down a diagonal.
  await expect(reasons.getByRole('columnheader')).toHaveText(['Reason', 'Verifies']);
  // The application's bar is split by outcome (other tests' verifies may add
  // more), with a legend in words.
  expect(await byApplication.locator('.hbars li').first().locator('.hbar').count()).toBeGreaterThanOrEqual(2);
  const legend = byApplication.getByRole('list', { name: 'What the colours mean' });
  await expect(legend).toContainText('Accepted');
  await expect(legend).toContainText('Disabled');
  // Day by day: seven days, today's holding at least these two, and an axis with numbers.
  const daily = page.locator('section[aria-labelledby="daily-title"]');
  await expect(daily.locator('svg g')).toHaveCount(7);
  await expect(daily.locator('.y-axis')).toContainText('0');
  await daily.getByText('The numbers, as a table').click();
  const days = daily.getByRole('table', { name: 'Verifies each day by outcome' });
  const today = Number(await days.locator('tbody tr').last().locator('td').first().textContent());
  expect(today).toBeGreaterThanOrEqual(2);
  await expectAccessible(page, 'the usage page');
  await page.screenshot({ path: screenshotPath('16-usage'), fullPage: true });
});
