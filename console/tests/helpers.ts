// What the browser tests share: signing in the way a user does, calling the
// API directly to set a scene, and reading every place a browser keeps data.

import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, type APIRequestContext, type Page } from '@playwright/test';

export type Role = 'platform_owner' | 'platform_admin' | 'developer';

export const ROLE_BUTTON: Record<Role, string> = {
  platform_owner: 'Sign in as platform owner',
  platform_admin: 'Sign in as platform admin',
  developer: 'Sign in as developer',
};

/** Opens `path` and signs in with the local sign-in, as a person would. */
export async function signIn(page: Page, role: Role, path = '/api-keys'): Promise<void> {
  await page.goto(path);
  await page.getByRole('button', { name: ROLE_BUTTON[role] }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

/** A token for setting up a scene through the API itself. */
export async function token(request: APIRequestContext, role: Role): Promise<string> {
  const answer = await request.post('/local-sign-in', { data: { role } });
  expect(answer.ok()).toBeTruthy();
  return (await answer.json()).token;
}

export async function callApi(
  request: APIRequestContext,
  role: Role,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH',
  path: string,
  body?: unknown,
): Promise<any> {
  const answer = await request.fetch(path, {
    method,
    headers: { authorization: `Bearer ${await token(request, role)}` },
    data: body,
  });
  expect(answer.status(), `${method} ${path}: ${await answer.text()}`).toBeLessThan(300);
  return answer.status() === 204 ? null : answer.json();
}

export async function demoCatalog(request: APIRequestContext) {
  const applications = (await callApi(request, 'developer', 'GET', '/v1/applications?limit=100')).items;
  const arx = (await callApi(request, 'developer', 'GET', '/v1/arx?limit=100')).items;
  const app = applications.find((a: any) => a.name === 'Payments API');
  const sydney = arx.find((a: any) => a.name === 'Production Sydney');
  return { app, arx: sydney, applications, allArx: arx };
}

export async function createKey(
  request: APIRequestContext,
  name: string,
  expiresAt: string | null = null,
): Promise<{ id: string; access_key: string }> {
  const { app, arx } = await demoCatalog(request);
  const created = await callApi(request, 'developer', 'POST', '/v1/api-keys', {
    application_id: app.id,
    arx_id: arx.id,
    name,
    expires_at: expiresAt,
  });
  return { id: created.api_key.id, access_key: created.access_key };
}

/** Everything the page's origin has stored, as one string to search. */
export async function everythingStored(page: Page): Promise<string> {
  const inPage = await page.evaluate(async () => {
    const databases = indexedDB.databases ? await indexedDB.databases() : [];
    const dumps: string[] = [];
    for (const { name } of databases) {
      if (!name) continue;
      dumps.push(
        await new Promise<string>((resolve) => {
          const open = indexedDB.open(name);
          open.onsuccess = () => {
            const db = open.result;
            const stores = Array.from(db.objectStoreNames);
            if (stores.length === 0) return resolve(name);
            const tx = db.transaction(stores, 'readonly');
            const all: unknown[] = [];
            for (const store of stores) {
              tx.objectStore(store).getAll().onsuccess = (event) => all.push((event.target as IDBRequest).result);
            }
            tx.oncomplete = () => resolve(`${name}:${JSON.stringify(all)}`);
          };
          open.onerror = () => resolve(name);
        }),
      );
    }
    const cached: string[] = [];
    for (const cacheName of await caches.keys()) {
      const cache = await caches.open(cacheName);
      for (const request of await cache.keys()) {
        cached.push(request.url, await (await cache.match(request))!.text());
      }
    }
    return JSON.stringify({
      local: { ...localStorage },
      session: { ...sessionStorage },
      cookies: document.cookie,
      url: location.href,
      historyState: history.state,
      historyLength: history.length,
      indexedDB: dumps,
      caches: cached,
    });
  });
  const cookies = JSON.stringify(await page.context().cookies());
  const state = JSON.stringify(await page.context().storageState());
  return `${inPage}\n${cookies}\n${state}`;
}

/** No serious or critical accessibility violation on what is shown now. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`),
    `accessibility of ${what}`,
  ).toEqual([]);
}

/** Where screenshots go: docs/console when refreshing the README's pictures. */
export function screenshotPath(name: string): string {
  return process.env.UPDATE_SCREENSHOTS ? `../docs/console/${name}.png` : `screenshots/${name}.png`;
}

export function devServerLog(): string {
  return readFileSync(`${process.env.CONSOLE_TEST_DATA}/dev-server.log`, 'utf8');
}

/** The next call matching `url` is refused 401, as the API does once a token has ended. */
export async function endSessionOnNextCall(page: Page, url: string): Promise<void> {
  await page.route(
    url,
    (route) =>
      route.fulfill({
        status: 401,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          code: 'unauthenticated',
          detail: 'a valid bearer token or service key is required',
        }),
      }),
    { times: 1 },
  );
}

/** The dashboard's row of the key with this id. */
export function rowOf(page: Page, id: string) {
  return page.locator('tbody tr').filter({ hasText: id });
}

/** Picks `action` ("Rotate", "Limits", "Disable", "Enable", "Delete", "See limits") in a key row's actions menu. */
export async function act(page: Page, id: string, action: string): Promise<void> {
  const row = rowOf(page, id);
  await row.getByRole('button', { name: new RegExp(`^Actions for .*\\(${id}\\)$`) }).click();
  await row.getByRole('button', { name: action, exact: true }).click();
}
