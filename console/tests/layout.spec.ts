// The dashboard and a key's page fit the screen: at 1280 px and at a phone's
// 390 px nothing scrolls sideways, every action of a key can be reached, the
// feedback button covers nothing, and axe finds nothing serious on the pages
// and their dialogs.

import { expect, test, type Page } from '@playwright/test';
import { act, callApi, createKey, expectAccessible, rowOf, screenshotPath, signIn } from './helpers';

/** Nothing is wider than the window: no sideways scroll. */
async function expectNoSidewaysScroll(page: Page, what: string) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: document.documentElement.clientWidth,
  }));
  expect(scroll, `${what} scrolls sideways`).toBeLessThanOrEqual(width);
}

/**
 * The feedback button is in the screen's lower right corner without
 * scrolling, and no link, button or field of the page enters its column, so
 * it covers none however far the page is scrolled.
 */
async function expectFeedbackCoversNothing(page: Page, what: string) {
  const viewport = page.viewportSize()!;
  const button = (await page.locator('.feedback-button').boundingBox())!;
  expect(button.x + button.width, `the feedback button is at the right on ${what}`).toBeGreaterThan(viewport.width - 40);
  expect(button.y + button.height, `the feedback button is at the bottom on ${what}`).toBeGreaterThan(viewport.height - 40);
  const inItsColumn = await page.evaluate((left) => {
    return Array.from(document.querySelectorAll('main a, main button, main input, main select, main textarea, main summary'))
      .filter((element) => element.getClientRects().length > 0 && element.getBoundingClientRect().right > left)
      .map((element) => element.outerHTML.slice(0, 80));
  }, button.x);
  expect(inItsColumn, `controls in the feedback button's column on ${what}`).toEqual([]);
  await expectFeedbackOverNothing(page, what);
}

/** The feedback button's box meets no other link, button or field where it is now. */
async function expectFeedbackOverNothing(page: Page, what: string) {
  const overlaps = await page.evaluate(() => {
    const box = (element: Element) => {
      const r = element.getBoundingClientRect();
      return { left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX, bottom: r.bottom + scrollY };
    };
    const feedback = document.querySelector('.feedback-button');
    if (!feedback) return ['no feedback button'];
    const f = box(feedback);
    return Array.from(document.querySelectorAll('a, button, input, select, textarea, summary'))
      .filter((element) => element !== feedback && element.getClientRects().length > 0)
      .filter((element) => {
        const b = box(element);
        return b.left < f.right && f.left < b.right && b.top < f.bottom && f.top < b.bottom;
      })
      .map((element) => element.outerHTML.slice(0, 80));
  });
  expect(overlaps, `the feedback button covers something on ${what}`).toEqual([]);
}

/** Each of the key's actions is in its menu, inside the window. */
async function expectEveryActionReachable(page: Page, id: string, actions: string[]) {
  const row = rowOf(page, id);
  const menu = row.getByRole('button', { name: /^Actions for/ });
  await menu.scrollIntoViewIfNeeded();
  await menu.click();
  const width = page.viewportSize()!.width;
  for (const action of actions) {
    const item = row.getByRole('button', { name: action, exact: true });
    await expect(item).toBeVisible();
    const box = (await item.boundingBox())!;
    expect(box.x, `${action} starts inside the window`).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, `${action} ends inside the window`).toBeLessThanOrEqual(width);
  }
  await page.keyboard.press('Escape');
  await expect(row.getByRole('button', { name: actions[0]!, exact: true })).toHaveCount(0);
}

for (const [name, viewport] of [
  ['1280 px', { width: 1280, height: 800 }],
  ['a 390 px phone', { width: 390, height: 844 }],
] as const) {
  test.describe(`at ${name}`, () => {
    test.use({ viewport });

    test('the dashboard and a key page fit, every action is reachable, and the feedback button covers nothing', async ({
      page,
      request,
    }) => {
      // Enough rows to scroll, one key with limits and one rotated.
      for (let i = 0; i < 6; i++) await createKey(request, `layout filler ${i}`);
      const key = await createKey(request, `a key with a long name for the layout test at ${viewport.width} px wide`);
      await callApi(request, 'platform_owner', 'PATCH', `/v1/api-keys/${key.id}`, {
        limits: { rate: { requests: 100, per_seconds: 60 }, credits: { remaining: 1000 } },
      });
      const old = await createKey(request, 'rotated for the layout test');
      const rotated = await callApi(request, 'developer', 'POST', `/v1/api-keys/${old.id}/rotate`, { grace_seconds: 3600 });

      await signIn(page, 'platform_owner');
      await expect(rowOf(page, key.id)).toBeVisible();
      await expectNoSidewaysScroll(page, 'the dashboard');
      await expectAccessible(page, `the dashboard at ${name}`);
      if (viewport.width < 500) await page.screenshot({ path: screenshotPath('10-dashboard-phone') });
      await expectEveryActionReachable(page, key.id, ['Rotate', 'Limits', 'Disable', 'Delete']);
      await expectEveryActionReachable(page, old.id, ['Limits', 'Disable', 'Delete']);
      await expectFeedbackCoversNothing(page, 'the dashboard');

      // Every dialog, for every role, is checked in dialogs.spec.ts.

      // The key's page: everything about it, and its actions, in the window.
      await rowOf(page, key.id).getByRole('link').first().click();
      await expect(page.getByRole('heading', { level: 1 })).toContainText('a key with a long name');
      const details = page.locator('dl.details');
      await expect(details).toContainText('100 per 60 s · 1,000 credits');
      await expect(details).toContainText('Payments API in Production Sydney');
      await expect(page.locator('ol.history')).toContainText('API key limits changed');
      await expectNoSidewaysScroll(page, 'the key page');
      await expectAccessible(page, `the key page at ${name}`);
      const actions = page.getByRole('group', { name: 'What to do with this key' });
      for (const action of ['Rotate', 'Limits', 'Disable', 'Delete']) {
        const box = (await actions.getByRole('button', { name: action, exact: true }).boundingBox())!;
        expect(box.x + box.width, `${action} on the key page`).toBeLessThanOrEqual(viewport.width);
      }
      await expectFeedbackCoversNothing(page, 'the key page');
      if (viewport.width > 1000) await page.screenshot({ path: screenshotPath('09-key-page'), fullPage: true });

      // A rotated key's page links both ways, and the replacement's history has the rotation.
      await page.goto(`/api-keys/${old.id}`);
      await page.getByRole('link', { name: rotated.api_key.id }).click();
      await expect(page).toHaveURL(new RegExp(`/api-keys/${rotated.api_key.id}$`));
      await expect(page.locator('dl.details')).toContainText(`Replaces${old.id}`);
      await expect(page.locator('ol.history')).toContainText(`by rotation, replacing ${old.id}`);
      await expectNoSidewaysScroll(page, 'a replacement key page');
    });
  });
}

/** No box that scrolls sideways holds a link, button or field: every control is in view. */
async function expectNoControlInASidewaysScrollBox(page: Page, what: string) {
  const boxes = await page.evaluate(() =>
    Array.from(document.querySelectorAll('main *'))
      .filter((element) => {
        const overflow = getComputedStyle(element).overflowX;
        return (overflow === 'auto' || overflow === 'scroll') && element.scrollWidth > element.clientWidth + 1;
      })
      .filter((element) => element.querySelector('a, button, input, select, textarea'))
      .map((element) => element.outerHTML.slice(0, 80)),
  );
  expect(boxes, `a control sits in a box that scrolls sideways on ${what}`).toEqual([]);
}

/** Every button and link of the page's main part lies inside the window's width. */
async function expectEveryControlInsideTheWidth(page: Page, what: string) {
  const width = page.viewportSize()!.width;
  const outside = await page.evaluate(
    (width) =>
      Array.from(document.querySelectorAll('main a, main button, main input, main select'))
        .filter((element) => element.getClientRects().length > 0)
        .filter((element) => {
          const box = element.getBoundingClientRect();
          return box.left < 0 || box.right > width + 1;
        })
        .map((element) => `${element.textContent?.trim().slice(0, 30) || element.outerHTML.slice(0, 60)}`),
    width,
  );
  expect(outside, `controls outside the window on ${what}`).toEqual([]);
}

/** Every page, and who may see it (a developer has no audit log and no service keys). */
const PAGES = [
  ['/api-keys', 'API keys', true],
  ['/api-keys/new', 'Which application is the key for?', true],
  ['/identities', 'Identities', true],
  ['/roles', 'Key roles', true],
  ['/applications', 'Applications', true],
  ['/arx', 'Arx', true],
  ['/usage', 'Usage', true],
  ['/audit', 'Audit log', false],
  ['/service-keys', 'Service keys', false],
] as const;

for (const [name, viewport] of [
  ['1280 px', { width: 1280, height: 800 }],
  ['a 390 px phone', { width: 390, height: 844 }],
] as const) {
  for (const role of ['platform_owner', 'platform_admin', 'developer'] as const) {
    test(`every page fits ${name} for a ${role}: no sideways scroll, every control in view, the feedback button over none, axe clean`, async ({ page, request }) => {
      await page.setViewportSize(viewport);
      // A service key, so that list has a row and its Revoke button.
      // Named in words: another test reads every page for roles' wire names.
      const who = role.replace('platform_', '');
      await callApi(request, 'platform_owner', 'POST', '/v1/service-keys', {
        name: `layout ${viewport.width} ${who}`,
        role: 'verifier',
      });
      await createKey(request, `every page at ${viewport.width} for the ${who}`);
      await signIn(page, role);
      for (const [path, heading, everyone] of PAGES) {
        if (!everyone && role === 'developer') continue;
        await page.goto(path);
        await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
        // Whatever the page lists is drawn before it is measured.
        await page.waitForLoadState('networkidle');
        const what = `${path} at ${name} for a ${role}`;
        await expectNoSidewaysScroll(page, what);
        await expectNoControlInASidewaysScrollBox(page, what);
        await expectEveryControlInsideTheWidth(page, what);
        await expectFeedbackCoversNothing(page, what);
        await expectAccessible(page, what);
      }
    });
  }
}

test('on a phone the header is one line, the pages open from Menu, and the first key shows without scrolling', async ({
  page,
  request,
}) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const key = await createKey(request, 'first on the phone');
  await signIn(page, 'platform_owner');
  const header = (await page.locator('header.site-header').boundingBox())!;
  expect(header.height, 'the header is one line').toBeLessThanOrEqual(80);
  // The keys come before the filters: the newest is on the first screen.
  const row = (await rowOf(page, key.id).boundingBox())!;
  expect(row.y, 'the first key is on the first screen').toBeLessThan(844);
  await expect(page.getByLabel('Status')).toBeHidden();
  await page.getByRole('button', { name: 'Filters' }).click();
  await expect(page.getByLabel('Status')).toBeVisible();
  await expectAccessible(page, 'the phone dashboard with its filters open');

  const menu = page.getByRole('button', { name: 'Menu' });
  await expect(page.getByRole('link', { name: 'Applications' })).toBeHidden();
  await menu.click();
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByText('Signed in as demo-owner · Platform owner')).toBeVisible();
  await expectAccessible(page, 'the phone menu');
  await page.getByRole('link', { name: 'Applications' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Applications' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Audit log' })).toBeHidden();
  await expectNoSidewaysScroll(page, 'the applications page on a phone');
  await page.screenshot({ path: screenshotPath('17-applications-phone') });
});

/** What a person reads on the page that is not a word: an API code, a route, a role's wire name. */
async function programmerWords(page: Page, what: string): Promise<string[]> {
  const text = await page.evaluate(() => document.body.innerText);
  const found = [
    ...(text.match(/\b[A-Z][A-Z_]{5,}\b/g) ?? []),
    ...(text.match(/\/v1\/[\w/{}-]*/g) ?? []),
    ...(text.match(/\bplatform_(owner|admin)\b/g) ?? []),
  ];
  return found.map((word) => `${what}: ${word}`);
}

test('every page and dialog speaks plain words', async ({ page, request }) => {
  const key = await createKey(request, 'plain words');
  await callApi(request, 'platform_owner', 'PATCH', `/v1/api-keys/${key.id}`, {
    limits: { rate: { requests: 100, per_seconds: 60 }, credits: { remaining: 1000 } },
  });
  await signIn(page, 'platform_owner');
  const found: string[] = [];
  for (const path of ['/api-keys', '/api-keys/new', '/applications', '/arx', '/usage', '/audit', '/service-keys', `/api-keys/${key.id}`]) {
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await page.waitForLoadState('networkidle');
    found.push(...(await programmerWords(page, path)));
  }
  await page.goto('/api-keys');
  for (const [action, title] of [
    ['Disable', 'Disable this API key?'],
    ['Delete', 'Delete this API key?'],
    ['Rotate', 'Rotate this API key?'],
    ['Limits', 'Limits of this API key'],
  ] as const) {
    await act(page, key.id, action);
    const dialog = page.getByRole('dialog', { name: title });
    await expect(dialog).toBeVisible();
    await page.waitForLoadState('networkidle');
    found.push(...(await programmerWords(page, `the "${title}" dialog`)));
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  }
  expect(found, 'programmer words a person would read').toEqual([]);
});

test('a key is deleted from its own page, and the dashboard says so', async ({ page, request }) => {
  const key = await createKey(request, 'deleted from its page');
  await signIn(page, 'developer', `/api-keys/${key.id}`);
  await expect(page.getByRole('heading', { name: 'deleted from its page' })).toBeVisible();
  // A developer sees no history and no owner actions.
  await expect(page.getByRole('heading', { name: 'History' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Disable', exact: true })).toHaveCount(0);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this API key?' });
  await dialog.getByLabel(/To confirm/).fill(key.id);
  await dialog.getByRole('button', { name: 'Delete key' }).click();
  await expect(page).toHaveURL(/\/api-keys$/);
  await expect(page.getByRole('status').filter({ hasText: `deleted from its page (${key.id}) was deleted` })).toBeVisible();
  // An id that is not a key's is the not-found page; one of no key says so.
  await page.goto('/api-keys/apikey--00000000000000000000000000000000');
  await expect(page.getByRole('alert')).toContainText('This no longer exists');
});
