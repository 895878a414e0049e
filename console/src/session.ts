// Who is signed in. The token lives in this module's memory only: never in
// localStorage, sessionStorage, a cookie or the URL. A reload signs in again.

import { useEffect, useState } from 'preact/hooks';

export type Role = 'platform_owner' | 'platform_admin' | 'developer';

export interface Session {
  token: string;
  user: string;
  tenant: string;
  role: Role;
  /** The API refused the token (it expired): sign in again, keeping the page. */
  expired: boolean;
}

/** How this server signs people in, from `/config.json`. */
export type SignInConfig = { kind: 'local'; tenant: string; roles: Role[] } | null;

let current: Session | null = null;
const listeners = new Set<() => void>();

function publish(next: Session | null) {
  current = next;
  for (const listener of listeners) listener();
}

export function session(): Session | null {
  return current;
}

export function useSession(): Session | null {
  const [, rerender] = useState(0);
  useEffect(() => {
    const listener = () => rerender((n) => n + 1);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
  return current;
}

export async function signInConfig(): Promise<SignInConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`The console's configuration did not load (${response.status}).`);
  const config = (await response.json()) as { sign_in: SignInConfig };
  return config.sign_in;
}

/** The dev server's sign-in: a demo user of the chosen role. */
export async function signInLocally(role: Role): Promise<void> {
  const response = await fetch('/local-sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role }),
    cache: 'no-store',
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error(body?.detail ?? `Sign-in was refused (${response.status}).`);
  }
  publish({ token: body.token, user: body.user, tenant: body.tenant, role: body.role, expired: false });
}

export function signOut(): void {
  publish(null);
}

/** The API answered 401: the token has ended. What the page holds stays. */
export function expire(): void {
  if (current && !current.expired) publish({ ...current, expired: true });
}

export const ROLE_NAMES: Record<Role, string> = {
  platform_owner: 'Platform owner',
  platform_admin: 'Platform admin',
  developer: 'Developer',
};

/** Owners and admins manage the catalog (applications and Arx). */
export function managesCatalog(role: Role): boolean {
  return role === 'platform_owner' || role === 'platform_admin';
}
