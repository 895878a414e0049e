// A stand-in for Cognito's managed login, for the console's sign-in tests:
// the OAuth 2.0 endpoints the console calls (/oauth2/authorize,
// /oauth2/token, /logout) and the JWKS the API verifies with. It checks what
// Cognito checks: the client id, the registered redirect and logout URIs,
// response_type=code, an S256 PKCE challenge, and at the token endpoint that
// SHA-256(code_verifier) matches, each code used once. Its ID tokens are
// RS256-signed by a key made at start. A "login page" (a form per role) sets
// a session cookie, so a second authorize with the cookie returns at once, as
// the managed login does while its session lasts.
//
// node tests/fake-cognito.mjs PORT CLIENT_ID REDIRECT_URI

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';

const [port, clientId, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'fake-cognito-1', alg: 'RS256', use: 'sig' };
const codes = new Map();
const refreshTokens = new Map();
const ROLES = ['platform_owner', 'platform_admin', 'developer', 'verifier'];

const b64url = (buffer) => Buffer.from(buffer).toString('base64url');

function idToken(role) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' }));
  const payload = b64url(
    JSON.stringify({
      iss: issuer,
      aud: clientId,
      sub: `user-${role}`,
      email: `${role.replace('_', '.')}@example.com`,
      token_use: 'id',
      auth_time: now,
      iat: now,
      nbf: now,
      exp: now + 3600,
      'custom:tenant_id': 'demo',
      'custom:role': role,
    }),
  );
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), privateKey);
  return `${header}.${payload}.${b64url(signature)}`;
}

function send(response, status, body, headers = {}) {
  response.writeHead(status, { 'cache-control': 'no-store', ...headers });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function refuse(response, error, description) {
  send(response, 400, { error, error_description: description }, { 'content-type': 'application/json', ...cors });
}

// The browser calls the token endpoint from the console's origin.
let cors = {};

createServer((request, response) => {
  const url = new URL(request.url, issuer);
  const cookie = /(?:^|; )session=([a-z_]+)/.exec(request.headers.cookie ?? '')?.[1];
  cors = { 'access-control-allow-origin': new URL(redirectUri).origin, 'access-control-allow-headers': 'content-type' };

  if (url.pathname === '/.well-known/jwks.json') {
    return send(response, 200, { keys: [jwk] }, { 'content-type': 'application/json' });
  }
  if (url.pathname === '/oauth2/authorize') {
    const q = url.searchParams;
    if (q.get('client_id') !== clientId) return refuse(response, 'invalid_client', 'unknown client');
    if (q.get('redirect_uri') !== redirectUri) return refuse(response, 'redirect_mismatch', 'redirect_uri not registered');
    if (q.get('response_type') !== 'code') return refuse(response, 'unsupported_response_type', 'code only');
    if (q.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '')) {
      return refuse(response, 'invalid_request', 'an S256 code_challenge is required');
    }
    if (!q.get('scope')?.split(' ').includes('openid')) return refuse(response, 'invalid_scope', 'openid is required');
    if (!cookie) {
      // The managed login page: one button per user.
      const forms = ROLES.map(
        (role) =>
          `<form method="get" action="/test/login"><input type="hidden" name="role" value="${role}">` +
          `<input type="hidden" name="then" value="${encodeURIComponent(url.search)}">` +
          `<button>Log in as ${role}</button></form>`,
      ).join('');
      return send(response, 200, `<!doctype html><title>Fake managed login</title><h1>Fake managed login</h1>${forms}`, {
        'content-type': 'text/html',
      });
    }
    const code = b64url(randomBytes(24));
    codes.set(code, { challenge: q.get('code_challenge'), redirectUri: q.get('redirect_uri'), role: cookie });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    if (q.has('state')) back.searchParams.set('state', q.get('state'));
    return send(response, 302, '', { location: back.href });
  }
  if (url.pathname === '/test/login') {
    const role = url.searchParams.get('role');
    const then = decodeURIComponent(url.searchParams.get('then') ?? '');
    return send(response, 302, '', {
      location: `/oauth2/authorize${then}`,
      'set-cookie': `session=${role}; Path=/; HttpOnly; SameSite=Lax`,
    });
  }
  if (url.pathname === '/oauth2/token') {
    if (request.method === 'OPTIONS') return send(response, 204, '', { ...cors, 'access-control-allow-methods': 'POST' });
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const form = new URLSearchParams(body);
      if (form.get('client_id') !== clientId) return refuse(response, 'invalid_client', 'unknown client');
      let role;
      if (form.get('grant_type') === 'authorization_code') {
        const issued = codes.get(form.get('code'));
        codes.delete(form.get('code'));
        if (!issued) return refuse(response, 'invalid_grant', 'unknown or used code');
        if (form.get('redirect_uri') !== issued.redirectUri) return refuse(response, 'invalid_grant', 'redirect_uri differs');
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== issued.challenge) {
          return refuse(response, 'invalid_grant', 'code_verifier does not match the challenge');
        }
        role = issued.role;
      } else if (form.get('grant_type') === 'refresh_token') {
        role = refreshTokens.get(form.get('refresh_token'));
        if (!role) return refuse(response, 'invalid_grant', 'unknown refresh token');
      } else {
        return refuse(response, 'unsupported_grant_type', 'code or refresh_token');
      }
      const refresh = b64url(randomBytes(32));
      refreshTokens.set(refresh, role);
      return send(
        response,
        200,
        { id_token: idToken(role), access_token: b64url(randomBytes(32)), refresh_token: refresh, token_type: 'Bearer', expires_in: 3600 },
        { 'content-type': 'application/json', ...cors },
      );
    });
    return;
  }
  if (url.pathname === '/logout') {
    if (url.searchParams.get('client_id') !== clientId) return refuse(response, 'invalid_client', 'unknown client');
    if (url.searchParams.get('logout_uri') !== redirectUri) return refuse(response, 'invalid_request', 'logout_uri not registered');
    return send(response, 302, '', { location: redirectUri, 'set-cookie': 'session=; Path=/; Max-Age=0' });
  }
  if (url.pathname === '/health') return send(response, 200, 'ok');
  send(response, 404, 'not found');
}).listen(Number(port), '127.0.0.1');
