// Who is signed in, and signing in. A Cognito token lives in this module's
// memory only: never in localStorage, sessionStorage, a cookie or the URL.
// The dev server's demo token (a local sign-in, on loopback only) is also
// kept in the tab's sessionStorage, so that a reload keeps the local session;
// it goes when the tab closes, on sign-out, and when the server refuses it.
//
// Two ways in, chosen by the server's /config.json:
// - local: the dev server's demo users (POST /local-sign-in);
// - cognito: Cognito's managed login, OAuth 2.0 authorization code with PKCE
//   (RFC 7636, S256), a public client with no secret. Across the one redirect
//   the tab keeps, in sessionStorage, the PKCE verifier, the state and the page
//   to return to; they are removed the moment the browser comes back. A flag
//   (no token) lets a reload sign in again silently through the managed login
//   session.

import { useEffect, useState } from 'preact/hooks';

export type Role = 'platform_owner' | 'platform_admin' | 'developer';

export interface Session {
  token: string;
  user: string;
  tenant: string;
  role: Role;
  /** The API refused the token (it ended): sign in again, keeping the page. */
  expired: boolean;
}

export type CognitoSignIn = {
  kind: 'cognito';
  domain: string;
  client_id: string;
  scopes: string[];
  tenant_claim: string;
  role_claim: string;
};
export type SignInConfig = { kind: 'local'; tenant: string; roles: Role[] } | CognitoSignIn | null;

/** The server's `/config.json`. */
export interface ConsoleConfig {
  sign_in: SignInConfig;
  /** The API's origin when it is not the console's own. */
  api_url: string | null;
}

export const ROLE_NAMES: Record<Role, string> = {
  platform_owner: 'Platform owner',
  platform_admin: 'Platform admin',
  developer: 'Developer',
};

const PENDING = 'akm.sign-in.pending';
const SIGNED_IN = 'akm.sign-in.cognito';
const LOCAL_SESSION = 'akm.sign-in.local';

let current: Session | null = null;
let refreshToken: string | null = null;
let config: ConsoleConfig = { sign_in: null, api_url: null };
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

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`The console's configuration did not load (${response.status}).`);
  config = (await response.json()) as ConsoleConfig;
  return config;
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
  const signedIn = { token: body.token, user: body.user, tenant: body.tenant, role: body.role, expired: false };
  sessionStorage.setItem(LOCAL_SESSION, JSON.stringify(signedIn));
  publish(signedIn);
}

/** After a reload on the dev server: the local session the tab kept, if any. */
export function restoreLocalSession(): void {
  if (config.sign_in?.kind !== 'local') return;
  try {
    const kept = JSON.parse(sessionStorage.getItem(LOCAL_SESSION) ?? 'null') as Session | null;
    const roles: string[] = config.sign_in.roles;
    if (kept && typeof kept.token === 'string' && roles.includes(kept.role)) publish({ ...kept, expired: false });
  } catch {
    sessionStorage.removeItem(LOCAL_SESSION);
  }
}

function redirectUri(): string {
  return `${location.origin}/`;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function randomText(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Off to the managed login; it comes back to `/` with a code. */
export async function signInWithCognito(sign: CognitoSignIn): Promise<void> {
  const verifier = randomText(48);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const state = randomText(24);
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, path: location.pathname }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: sign.client_id,
    redirect_uri: redirectUri(),
    scope: sign.scopes.join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`${sign.domain}/oauth2/authorize?${query}`);
}

/**
 * Back from the managed login: the code for tokens. The code and state leave
 * the address bar before anything else happens. False when this load is not
 * a return from sign-in.
 */
export async function completeSignIn(sign: CognitoSignIn): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as {
    state: string;
    verifier: string;
    path: string;
  } | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', pending?.path && pending.path !== '/' ? pending.path : '/api-keys');
  if (params.has('error')) {
    throw new Error(`Sign-in did not complete: ${params.get('error_description') ?? params.get('error')}.`);
  }
  if (!pending || pending.state !== params.get('state')) {
    throw new Error('This sign-in answer was not asked for by this tab, so it was ignored. Sign in again.');
  }
  await tokens(sign, {
    grant_type: 'authorization_code',
    code: params.get('code') ?? '',
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  });
  sessionStorage.setItem(SIGNED_IN, '1');
  return true;
}

/** A reload after a Cognito sign-in: go through the managed login again (silent while its session lasts). */
export function shouldSignInSilently(): boolean {
  return sessionStorage.getItem(SIGNED_IN) === '1';
}

/** A new ID token from the refresh token, with no redirect: what was typed stays. */
export async function refreshSession(): Promise<boolean> {
  const sign = config.sign_in;
  if (sign?.kind !== 'cognito' || !refreshToken) return false;
  try {
    await tokens(sign, { grant_type: 'refresh_token', refresh_token: refreshToken });
    return true;
  } catch {
    return false;
  }
}

async function tokens(sign: CognitoSignIn, grant: Record<string, string>): Promise<void> {
  const response = await fetch(`${sign.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: sign.client_id, ...grant }),
    cache: 'no-store',
  });
  const body = await response.json().catch(() => null);
  if (!response.ok || typeof body?.id_token !== 'string') {
    throw new Error(`Sign-in could not be completed (${body?.error ?? response.status}). Sign in again.`);
  }
  const claims = readClaims(body.id_token);
  const role = claims[sign.role_claim];
  if (role !== 'platform_owner' && role !== 'platform_admin' && role !== 'developer') {
    throw new Error('Your account has no role that may use the console. Ask a platform owner to give you one.');
  }
  refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : refreshToken;
  publish({
    token: body.id_token,
    user: String(claims.email ?? claims['cognito:username'] ?? claims.sub ?? 'signed in'),
    tenant: String(claims[sign.tenant_claim] ?? ''),
    role,
    expired: false,
  });
}

/** The ID token's claims, for display only: the API verifies the token itself. */
function readClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/** Ends the session here, and at the managed login too. */
export function signOut(): void {
  publish(null);
  refreshToken = null;
  sessionStorage.removeItem(SIGNED_IN);
  sessionStorage.removeItem(LOCAL_SESSION);
  const sign = config.sign_in;
  if (sign?.kind === 'cognito') {
    const query = new URLSearchParams({ client_id: sign.client_id, logout_uri: redirectUri() });
    location.assign(`${sign.domain}/logout?${query}`);
  }
}

/** The API answered 401: the token has ended. What the page holds stays. */
export function expire(): void {
  sessionStorage.removeItem(LOCAL_SESSION);
  if (current && !current.expired) publish({ ...current, expired: true });
}

/** Owners and admins manage the catalog (applications and Arx). */
export function managesCatalog(role: Role): boolean {
  return role === 'platform_owner' || role === 'platform_admin';
}
