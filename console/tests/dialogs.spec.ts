// Every dialog of the console, for each role that can open it, at 1280 px
// and at a phone's 390 px: it opens, fits the window (nothing scrolls
// sideways), passes axe, and closes with Cancel. One table lists them all.

import { expect, test, type Page } from '@playwright/test';
import { callApi, createKey, expectAccessible, signIn, type Role } from './helpers';

/** What a test made for the dialogs to act on. */
interface Scene {
  keyId: string;
  identityId: string;
  roleName: string;
  serviceKeyName: string;
  /** A rate limit's id and name, with one override (`*@example.com`). */
  namespaceId: string;
  namespaceName: string;
}

interface DialogCase {
  /** Where it opens from. */
  path: (scene: Scene) => string;
  /** Who may open it. */
  roles: readonly Role[];
  /** Opens it, on that page. */
  open: (page: Page, scene: Scene, role: Role) => Promise<void>;
  title: string | RegExp;
}

const EVERYONE = ['platform_owner', 'platform_admin', 'developer'] as const;
const MANAGERS = ['platform_owner', 'platform_admin'] as const;
const keyPage = (scene: Scene) => `/api-keys/${scene.keyId}`;
const button = (name: string | RegExp) => async (page: Page) => {
  await page.locator('main').getByRole('button', { name, exact: typeof name === 'string' }).first().click();
};

/** Every dialog, once. */
const DIALOGS: readonly DialogCase[] = [
  // A key's dialogs, from its page (its row's menu on the dashboard opens the same ones).
  { path: keyPage, roles: EVERYONE, open: button('Rotate'), title: 'Rotate this API key?' },
  { path: keyPage, roles: MANAGERS, open: button('Limits'), title: 'Limits of this API key' },
  { path: keyPage, roles: ['developer'], open: button('See limits'), title: 'Limits of this API key' },
  { path: keyPage, roles: MANAGERS, open: button('Disable'), title: 'Disable this API key?' },
  { path: keyPage, roles: EVERYONE, open: button('Delete'), title: 'Delete this API key?' },
  { path: keyPage, roles: MANAGERS, open: button(/^Edit/), title: 'Permissions, roles, addresses, owner and meta' },
  { path: () => '/applications', roles: MANAGERS, open: button('Register application'), title: 'Register an application' },
  { path: () => '/applications', roles: MANAGERS, open: button('Edit Payments API'), title: 'Edit Payments API' },
  { path: () => '/applications', roles: MANAGERS, open: button('Archive Payments API'), title: 'Archive this application?' },
  { path: () => '/arx', roles: MANAGERS, open: button('Create Arx'), title: 'Create an Arx' },
  { path: () => '/arx', roles: MANAGERS, open: button('Edit Production Sydney'), title: 'Edit Production Sydney' },
  { path: () => '/arx', roles: MANAGERS, open: button('Disable Production Sydney'), title: 'Disable this Arx?' },
  { path: () => '/arx', roles: MANAGERS, open: button('Delete Production Sydney'), title: 'Delete this Arx?' },
  { path: () => '/service-keys', roles: MANAGERS, open: button('Create service key'), title: 'Create a service key' },
  { path: () => '/service-keys', roles: MANAGERS, open: (p, s) => button(`Revoke ${s.serviceKeyName}`)(p), title: 'Revoke this service key?' },
  { path: () => '/identities', roles: MANAGERS, open: button('Record an identity'), title: 'Record an identity' },
  { path: (s) => `/identities/${s.identityId}`, roles: MANAGERS, open: button('Change limits or meta'), title: 'Change this identity' },
  { path: (s) => `/identities/${s.identityId}`, roles: MANAGERS, open: button('Delete'), title: 'Delete this identity?' },
  { path: () => '/roles', roles: MANAGERS, open: button('Create role'), title: 'Create a role' },
  { path: () => '/roles', roles: MANAGERS, open: (p, s) => button(`Change ${s.roleName}`)(p), title: /^Change the role / },
  { path: () => '/roles', roles: MANAGERS, open: (p, s) => button(`Delete ${s.roleName}`)(p), title: 'Delete this role?' },
  { path: () => '/rate-limits', roles: MANAGERS, open: button('Create rate limit'), title: 'Create a rate limit' },
  {
    path: () => '/rate-limits',
    roles: MANAGERS,
    open: (p, s) => button(`Change ${s.namespaceName}`)(p),
    title: /^Change the rate limit /,
  },
  { path: () => '/rate-limits', roles: MANAGERS, open: (p, s) => button(`Delete ${s.namespaceName}`)(p), title: 'Delete this rate limit?' },
  { path: (s) => `/rate-limits/${s.namespaceId}`, roles: MANAGERS, open: button('Add an override'), title: 'Add an override' },
  {
    path: (s) => `/rate-limits/${s.namespaceId}`,
    roles: MANAGERS,
    open: button('Change the override for *@example.com'),
    title: 'Change the override for *@example.com',
  },
  {
    path: (s) => `/rate-limits/${s.namespaceId}`,
    roles: MANAGERS,
    open: button('Remove the override for *@example.com'),
    title: 'Remove this override?',
  },
  {
    path: () => '/api-keys',
    roles: EVERYONE,
    open: async (page) => page.getByRole('button', { name: /feedback/i }).click(),
    title: 'Send feedback',
  },
];

for (const [name, viewport] of [
  ['1280 px', { width: 1280, height: 800 }],
  ['a 390 px phone', { width: 390, height: 844 }],
] as const) {
  for (const role of EVERYONE) {
    test(`every dialog a ${role} can open fits ${name}, passes axe and closes`, async ({ page, request }) => {
      await page.setViewportSize(viewport);
      const tag = `${viewport.width}-${role.replace('platform_', '')}-${Date.now()}`;
      const key = await createKey(request, `dialogs ${tag}`);
      const identity = await callApi(request, 'platform_owner', 'POST', '/v1/identities', { external_id: `dialogs-${tag}` });
      const roleName = `dialogs-${tag}`;
      await callApi(request, 'platform_owner', 'POST', '/v1/roles', { name: roleName, permissions: ['documents.read'] });
      const serviceKeyName = `dialogs ${tag}`;
      await callApi(request, 'platform_owner', 'POST', '/v1/service-keys', { name: serviceKeyName, role: 'verifier' });
      const namespaceName = `dialogs-${tag}`;
      const namespace = await callApi(request, 'platform_owner', 'POST', '/v1/ratelimit-namespaces', {
        name: namespaceName,
        limit: 5,
        duration: 60,
      });
      await callApi(request, 'platform_owner', 'PUT', `/v1/ratelimit-namespaces/${namespace.id}/overrides`, {
        identifier: '*@example.com',
        limit: 50,
        duration: 60,
      });
      const scene: Scene = {
        keyId: key.id,
        identityId: identity.id,
        roleName,
        serviceKeyName,
        namespaceId: namespace.id,
        namespaceName,
      };

      await signIn(page, role);
      let opened = 0;
      for (const dialog of DIALOGS.filter((each) => each.roles.includes(role))) {
        await page.goto(dialog.path(scene));
        await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
        await page.waitForLoadState('networkidle');
        await dialog.open(page, scene, role);
        const shown = page.getByRole('dialog', { name: dialog.title });
        await expect(shown).toBeVisible();
        const what = `the "${dialog.title}" dialog for a ${role} at ${name}`;
        const box = (await shown.boundingBox())!;
        expect(box.x, `${what} starts inside the window`).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width, `${what} ends inside the window`).toBeLessThanOrEqual(viewport.width);
        const { scroll, width } = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          width: document.documentElement.clientWidth,
        }));
        expect(scroll, `${what} makes the page scroll sideways`).toBeLessThanOrEqual(width);
        await expectAccessible(page, what);
        // Cancel, or Close where the dialog only shows (a developer's limits).
        await shown.getByRole('button', { name: /^(Cancel|Close)$/ }).first().click();
        await expect(shown).toHaveCount(0);
        opened += 1;
      }
      expect(opened, 'the dialogs this role may open').toBe(DIALOGS.filter((each) => each.roles.includes(role)).length);
    });
  }
}
