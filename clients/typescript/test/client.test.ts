// The client and both middlewares against the real dev server that
// tests/clients.sh started: verdicts, problem codes, retries on 503 only,
// the opt-in cache and its TTL, the lifecycle, and no key in an error or in
// what the client prints as. The README's examples run as they are.

import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { ApiError, ApiUnavailable, Client, KeyReplayed, VerdictCache } from '@api-keys-manager/client';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run \`bash tests/clients.sh\`, which starts a dev server and sets it`);
  return value;
}
const API = env('API_URL');

async function call(role: 'OWNER' | 'ADMIN' | 'DEVELOPER', method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: { authorization: `Bearer ${env(`${role}_TOKEN`)}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? null : response.json();
}
const serviceKey = async (role = 'verifier') =>
  (await call('OWNER', 'POST', '/v1/service-keys', { name: `typescript ${role}`, role })).secret as string;
async function accessKey(fields: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const created = await call('DEVELOPER', 'POST', '/v1/api-keys', { application_id: env('APP_ID'), arx_id: env('ARX_ID'), ...fields });
  return { id: created.api_key.id, key: created.access_key };
}

test('a verifier service key verifies keys', async () => {
  const { key } = await accessKey({ name: 'typescript verify' });
  const client = new Client(API, { serviceKey: await serviceKey() });
  const verdict = await client.verify(key);
  assert.equal(verdict.code, 'VALID');
  assert.ok(verdict.valid && verdict.application_id === env('APP_ID'));
  assert.equal((await client.verify('akm_garbage')).code, 'MALFORMED');
});

test('refusals carry the problem code, and no key is in an error or a print', async () => {
  const { key } = await accessKey({ name: 'typescript refused' });
  // Its last two characters changed (to ones they are not), so its checksum fails.
  const good = await serviceKey();
  const bad = `${good.slice(0, -2)}${good.endsWith('zz') ? 'yy' : 'zz'}`;
  const client = new Client(API, { serviceKey: bad });
  const refused = await client.verify(key).catch((error: unknown) => error);
  assert.ok(refused instanceof ApiError);
  assert.equal(refused.status, 401);
  assert.equal(refused.code, 'unauthenticated');
  const forbidden = await new Client(API, { serviceKey: await serviceKey('developer') }).verify(key).catch((e: unknown) => e);
  assert.ok(forbidden instanceof ApiError && forbidden.code === 'forbidden');
  for (const shown of [String(refused), inspect(refused), inspect(client), JSON.stringify(client), String(client)]) {
    assert.ok(!shown.includes(bad.split('_')[2]!), shown);
    assert.ok(!shown.includes(key.split('_')[2]!), shown);
  }
});

test('a 503 is retried as Retry-After says, a 4xx never', async () => {
  const { key } = await accessKey({ name: 'typescript retried' });
  const faults = (failures: number) => {
    let seen = 0;
    const inject: typeof fetch = async (input, init) => {
      seen++;
      if (seen <= failures) return new Response(JSON.stringify({ code: 'busy', detail: 'busy' }), { status: 503, headers: { 'retry-after': '0' } });
      return fetch(input, init);
    };
    return { inject, seen: () => seen };
  };
  const twice = faults(2);
  assert.equal((await new Client(API, { serviceKey: await serviceKey(), fetch: twice.inject }).verify(key)).code, 'VALID');
  assert.equal(twice.seen(), 3);
  const always = faults(9);
  const busy = await new Client(API, { serviceKey: await serviceKey(), retries: 1, fetch: always.inject }).verify(key).catch((e: unknown) => e);
  assert.ok(busy instanceof ApiError && busy.status === 503 && busy.code === 'busy');
  assert.equal(always.seen(), 2);
  const once = faults(0);
  await new Client(API, { serviceKey: 'akmsk_not_a_key', retries: 3, fetch: once.inject }).verify(key).catch(() => null);
  assert.equal(once.seen(), 1);
});

test('the cache reuses a verdict for its TTL, and never a limited key\'s', async () => {
  assert.throws(() => new VerdictCache(31), RangeError);
  const { id, key } = await accessKey({ name: 'typescript cached' });
  const client = new Client(API, { serviceKey: await serviceKey(), cacheSeconds: 1.5 });
  assert.equal((await client.verify(key)).code, 'VALID');
  const cachedAt = Date.now();
  await call('DEVELOPER', 'DELETE', `/v1/api-keys/${id}`, { confirm: id });
  assert.equal((await client.verify(key)).code, 'VALID', 'within the TTL: the documented trade-off');
  assert.ok(Date.now() - cachedAt < 1500, 'the delete outlasted the TTL');
  await new Promise((resolve) => setTimeout(resolve, 1600));
  assert.equal((await client.verify(key)).code, 'DELETED');
  const limited = await accessKey({ name: 'typescript limited', limits: { credits: { remaining: 2 } } });
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await client.verify(limited.key)).code);
  assert.deepEqual(codes, ['VALID', 'VALID', 'USAGE_EXCEEDED']);
});

test('a permission query is answered, and cached per query', async () => {
  const { key } = await accessKey({
    name: 'typescript permissions',
    permissions: ['documents.read'],
    external_id: 'acme-ts',
    meta: { plan: 'pro' },
  });
  const client = new Client(API, { serviceKey: await serviceKey(), cacheSeconds: 10 });
  const valid = await client.verify(key, { permissions: 'documents.read OR admin' });
  assert.equal(valid.code, 'VALID');
  assert.ok(valid.valid);
  assert.deepEqual(valid.permissions, ['documents.read']);
  assert.equal(valid.external_id, 'acme-ts');
  assert.deepEqual(valid.meta, { plan: 'pro' });
  for (let i = 0; i < 2; i++) {
    const refused = await client.verify(key, { permissions: 'documents.write' });
    assert.equal(refused.code, 'INSUFFICIENT_PERMISSIONS');
  }
  assert.equal((await client.verify(key)).code, 'VALID');
  const bad = await client.verify(key, { permissions: 'documents.read AND' }).catch((error: unknown) => error);
  assert.ok(bad instanceof ApiError && bad.status === 400 && bad.field === 'permissions', String(bad));
});

test('the key lifecycle, with developer and admin service keys', async () => {
  const developer = new Client(API, { serviceKey: await serviceKey('developer') });
  const admin = new Client(API, { serviceKey: await serviceKey('platform_admin') });
  const created = await developer.createKey({ application_id: env('APP_ID'), arx_id: env('ARX_ID'), name: 'made by a machine' });
  const id = created.api_key.id;
  assert.match(created.access_key, /^akm_/);
  assert.match((await developer.getKey(id)).created_by, /^service-key:svckey--/);
  assert.ok((await developer.listKeys({ limit: 100 })).items.some((item) => item.id === id));
  assert.equal((await admin.disableKey(id)).status, 'disabled');
  assert.equal((await admin.enableKey(id)).status, 'active');
  const rotated = await developer.rotateKey(id, 0);
  assert.equal(rotated.api_key.rotated_from, id);
  await developer.deleteKey(rotated.api_key.id);
  assert.equal((await developer.getKey(rotated.api_key.id)).status, 'deleted');
});

test('the Express example lets in good keys only', async () => {
  process.env.SERVICE_KEY = await serviceKey();
  const { app } = await import('../examples/express-service.js');
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/documents`;
  try {
    const { id, key } = await accessKey({ name: 'typescript express' });
    const limited = await accessKey({ name: 'typescript express limited', limits: { credits: { remaining: 1 } } });
    assert.equal((await fetch(url)).status, 401);
    const good = await fetch(url, { headers: { 'x-api-key': key } });
    assert.equal(good.status, 200);
    assert.deepEqual(await good.json(), { application: env('APP_ID') });
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    assert.equal((await fetch(url, { headers: { 'x-api-key': 'akm_not_a_key' } })).status, 401);
    assert.equal((await fetch(url, { headers: { 'x-api-key': limited.key } })).status, 200);
    assert.equal((await fetch(url, { headers: { 'x-api-key': limited.key } })).status, 429);
    await call('ADMIN', 'POST', `/v1/api-keys/${id}/disable`);
    const refused = await fetch(url, { headers: { 'x-api-key': key } });
    assert.equal(refused.status, 403);
    assert.ok(!(await refused.text()).includes(key));
    // /reports needs `reports.read`: a good key without it is 403, saying why.
    const reports = url.replace('/documents', '/reports');
    const plain = await accessKey({ name: 'typescript express plain' });
    const lacking = await fetch(reports, { headers: { 'x-api-key': plain.key } });
    assert.equal(lacking.status, 403);
    assert.equal((await lacking.json()).code, 'INSUFFICIENT_PERMISSIONS');
    const reader = await accessKey({ name: 'typescript express reader', permissions: ['reports.read'], external_id: 'acme-ts' });
    const read = await fetch(reports, { headers: { 'x-api-key': reader.key } });
    assert.equal(read.status, 200);
    assert.deepEqual(await read.json(), { owner: 'acme-ts', permissions: ['reports.read'] });
  } finally {
    server.close();
  }
});

test('the Hono example lets in good keys only', async () => {
  process.env.SERVICE_KEY = await serviceKey();
  const { app } = await import('../examples/hono-service.js');
  const { id, key } = await accessKey({ name: 'typescript hono' });
  assert.equal((await app.request('/documents')).status, 401);
  const good = await app.request('/documents', { headers: { 'x-api-key': key } });
  assert.equal(good.status, 200);
  assert.deepEqual(await good.json(), { application: env('APP_ID') });
  await call('ADMIN', 'POST', `/v1/api-keys/${id}/disable`);
  assert.equal((await app.request('/documents', { headers: { authorization: `Bearer ${key}` } })).status, 403);
});

test('a service key read from a file works, and a broken one is never repeated', async () => {
  const { key } = await accessKey({ name: 'typescript service key file' });
  const secret = await serviceKey();
  assert.equal((await new Client(API, { serviceKey: `${secret}\n` }).verify(key)).code, 'VALID');
  for (const broken of [`${secret.slice(0, 20)}\n${secret.slice(20)}`, `${secret}\u0000`, `${secret.slice(0, 20)} ${secret.slice(20)}`, `é${secret}`]) {
    const refused = (() => {
      try {
        new Client(API, { serviceKey: broken });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    assert.ok(refused instanceof TypeError, String(refused));
    assert.ok(!String(refused).includes(secret.slice(20, 40)) && !inspect(refused).includes(secret.slice(20, 40)));
  }
  assert.throws(() => new Client(API, { serviceKey: ' \n' }), TypeError);
});

test('an answer that is not a verdict, or no answer, is ApiUnavailable', async () => {
  const { key } = await accessKey({ name: 'typescript odd answers' });
  const secret = await serviceKey();
  for (const [status, body] of [[204, null], [200, 'null'], [200, '[]'], [200, '{"valid": "yes", "code": "VALID"}'], [200, '<html>']] as const) {
    const odd: typeof fetch = async () => new Response(body, { status, headers: { 'content-type': 'application/json' } });
    const error = await new Client(API, { serviceKey: secret, fetch: odd }).verify(key).catch((e: unknown) => e);
    assert.ok(error instanceof ApiUnavailable && error.code === 'unavailable', `${status} ${body}: ${String(error)}`);
  }
  const down = await new Client('http://127.0.0.1:9', { serviceKey: secret, timeoutMs: 2000 }).verify(key).catch((e: unknown) => e);
  assert.ok(down instanceof ApiUnavailable && down.status === 0, String(down));
  assert.ok(!String(down).includes(secret.split('_')[2]!) && !inspect(down).includes(secret.split('_')[2]!));
});

test('a key manager that cannot be asked is 503 with Retry-After, in Express and Hono alike', async () => {
  const { key } = await accessKey({ name: 'typescript down' });
  const secret = await serviceKey();
  const { requireKey: expressRequireKey } = await import('@api-keys-manager/client/express');
  const { requireKey: honoRequireKey } = await import('@api-keys-manager/client/hono');
  const { default: express } = await import('express');
  const { Hono } = await import('hono');
  const empty: typeof fetch = async () => new Response(null, { status: 204 });
  const nullBody: typeof fetch = async () => new Response('null', { status: 200, headers: { 'content-type': 'application/json' } });
  const clients = [
    new Client('http://127.0.0.1:9', { serviceKey: secret, timeoutMs: 2000 }),
    new Client(API, { serviceKey: secret, fetch: empty }),
    new Client(API, { serviceKey: secret, fetch: nullBody }),
  ];
  for (const client of clients) {
    const app = express();
    app.get('/documents', expressRequireKey(client), (_request, response) => {
      response.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/documents`;
      const answer = await fetch(url, { headers: { 'x-api-key': key } });
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '5');
      assert.ok(!(await answer.text()).includes(key));
    } finally {
      server.close();
    }
    const hono = new Hono();
    hono.get('/documents', honoRequireKey(client), (c) => c.json({ ok: true }));
    const answer = await hono.request('/documents', { headers: { 'x-api-key': key } });
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get('retry-after'), '5');
  }
});

test('a cached verdict never outlives the key\'s own expiry', async () => {
  const soon = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const { key } = await accessKey({ name: 'typescript expiring', expires_at: soon });
  const client = new Client(API, { serviceKey: await serviceKey(), cacheSeconds: 30 });
  assert.equal((await client.verify(key)).code, 'VALID');
  await new Promise((resolve) => setTimeout(resolve, Date.parse(soon) - Date.now() + 500));
  assert.equal((await client.verify(key)).code, 'EXPIRED', 'the cache kept a verdict past the key\'s expiry');
});

test('a verdict names the identity and roles, and named rate limits are charged at their cost', async () => {
  const owner = `ts-identity-${process.pid}`;
  const role = `ts-reader-${process.pid}`;
  await call('OWNER', 'POST', '/v1/roles', { name: role, permissions: ['documents.read'] });
  const identity = await call('OWNER', 'POST', '/v1/identities', {
    external_id: owner,
    meta: { tier: 'gold' },
    limits: { rate_limits: [{ name: 'tokens', requests: 100, per_seconds: 3600 }] },
  });
  const { key } = await accessKey({ name: 'typescript identity', external_id: owner, roles: [role] });
  const client = new Client(API, { serviceKey: await serviceKey(), cacheSeconds: 10 });
  const valid = await client.verify(key, { permissions: 'documents.read', rateLimits: [{ name: 'tokens', cost: 60 }] });
  assert.ok(valid.valid);
  assert.deepEqual(valid.roles, [role]);
  assert.equal(valid.identity?.id, identity.id);
  assert.deepEqual(valid.identity?.meta, { tier: 'gold' });
  assert.deepEqual(valid.limits?.map((l) => [l.name, l.remaining]), [['tokens', 40]]);
  // Named rate limits are a charge: never answered from the cache.
  const refused = await client.verify(key, { rateLimits: [{ name: 'tokens', cost: 41 }] });
  assert.equal(refused.code, 'RATE_LIMITED');
  assert.ok(!refused.valid && refused.code === 'RATE_LIMITED');
  assert.equal(refused.limited_by?.owner, 'identity');
  assert.equal(refused.limited_by?.remaining, 40);
});

test('a check names the address a key\'s allowlist judges, cached per address', async () => {
  const { key } = await accessKey({ name: 'typescript allowlist', allowlist: { entries: ['203.0.113.0/24'] } });
  const client = new Client(API, { serviceKey: await serviceKey(), cacheSeconds: 10 });
  for (let i = 0; i < 2; i++) {
    assert.equal((await client.verify(key, { ip: '203.0.113.7' })).code, 'VALID');
    assert.equal((await client.verify(key, { ip: '192.0.2.1' })).code, 'ADDRESS_NOT_ALLOWED');
  }
  assert.equal((await client.verify(key)).code, 'ADDRESS_NOT_ALLOWED');
});

test('the Express middleware passes the client\'s address as Express judges it: a forged X-Forwarded-For never gets in', async () => {
  process.env.SERVICE_KEY = await serviceKey();
  const { app } = await import('../examples/express-service.js');
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/documents`;
  try {
    const outside = await accessKey({ name: 'typescript express allowlist', allowlist: { entries: ['203.0.113.0/24'] } });
    const loopback = await accessKey({ name: 'typescript express loopback', allowlist: { entries: ['127.0.0.0/8', '::1/128'] } });
    const forged = { 'x-forwarded-for': '203.0.113.7' };
    // No proxy trusted (Express's default): the connection's address decides.
    const refused = await fetch(url, { headers: { 'x-api-key': outside.key, ...forged } });
    assert.equal(refused.status, 403);
    assert.equal((await refused.json()).code, 'ADDRESS_NOT_ALLOWED');
    assert.equal((await fetch(url, { headers: { 'x-api-key': loopback.key, ...forged } })).status, 200);
    // One proxy trusted (this test's connection): its X-Forwarded-For is the client.
    app.set('trust proxy', 1);
    assert.equal((await fetch(url, { headers: { 'x-api-key': outside.key, ...forged } })).status, 200);
    assert.equal((await fetch(url, { headers: { 'x-api-key': loopback.key, ...forged } })).status, 403);
  } finally {
    app.set('trust proxy', false);
    server.close();
  }
});

test('the Hono middleware sends the peer address, and trusts only the proxies it is told', async () => {
  const { Hono } = await import('hono');
  const { requireKey } = await import('@api-keys-manager/client/hono');
  const client = new Client(API, { serviceKey: await serviceKey() });
  const outside = await accessKey({ name: 'typescript hono allowlist', allowlist: { entries: ['203.0.113.0/24'] } });
  const loopback = await accessKey({ name: 'typescript hono loopback', allowlist: { entries: ['127.0.0.0/8'] } });
  for (const trustedProxies of [0, 1]) {
    // The peer as a Node adapter reports a local connection.
    const app = new Hono().get('/documents', requireKey(client, {}, { peer: () => '127.0.0.1', trustedProxies }), (c) => c.text('ok'));
    const status = async (key: string) =>
      (await app.request('/documents', { headers: { 'x-api-key': key, 'x-forwarded-for': '203.0.113.7' } })).status;
    if (trustedProxies === 0) {
      assert.equal(await status(outside.key), 403, 'a forged header is not read');
      assert.equal(await status(loopback.key), 200);
    } else {
      assert.equal(await status(outside.key), 200, "the trusted proxy's entry decides");
      assert.equal(await status(loopback.key), 403);
    }
  }
});

/** A namespace of `limit` per `duration` seconds, made by an admin, of its own for this run: its name. */
async function namespace(prefix: string, limit: number, duration = 60, failOpen = false): Promise<string> {
  const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  await call('ADMIN', 'POST', '/v1/ratelimit-namespaces', { name, limit, duration, fail_open: failOpen });
  return name;
}

test('limit() counts exactly, all or nothing with limitMany, and the identifier is never in an error', async () => {
  const exports = await namespace('ts-exports', 3);
  const client = new Client(API, { serviceKey: await serviceKey() });
  const who = 'someone.ts@example.org';
  const answers = await Promise.all(Array.from({ length: 10 }, () => client.limit(exports, who)));
  assert.equal(answers.filter((answer) => answer.success).length, 3);
  const refused = answers.find((answer) => !answer.success)!;
  assert.equal(refused.limit, 3);
  assert.equal(refused.duration, 60);
  assert.ok(refused.reset_after >= 1 && refused.reset_after <= 60);
  const peek = await client.limit(exports, 'another', { cost: 0 });
  assert.equal(peek.remaining, 3);
  const many = await client.limitMany([
    { namespace: exports, identifier: 'another' },
    { namespace: exports, identifier: who },
  ]);
  assert.equal(many.success, false);
  assert.equal(many.results[0]!.remaining, 3, 'nothing counted for the first when the second refused');
  const unknown = await client.limit('ts-nowhere', who).catch((error: unknown) => error);
  assert.ok(unknown instanceof ApiError && unknown.status === 422 && unknown.field === 'namespace');
  const tooLong = await client.limit(exports, who.repeat(20)).catch((error: unknown) => error);
  assert.ok(tooLong instanceof ApiError && tooLong.field === 'identifier');
  for (const shown of [String(unknown), inspect(unknown), String(tooLong), inspect(tooLong)]) {
    assert.ok(!shown.includes(who), shown);
  }
});

test('the sign-in example limits attempts per address, with Retry-After and the RateLimit headers', async () => {
  // The example's own namespace: made once per server (a rerun finds it).
  const made = await fetch(`${API}/v1/ratelimit-namespaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env('ADMIN_TOKEN')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'sign-in', limit: 5, duration: 60 }),
  });
  assert.ok(made.status === 201 || made.status === 409, `${made.status}`);
  // Addresses of this run's own (a rerun within the minute counts afresh).
  const [one, two] = [1, 2].map(() => `198.51.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`);
  process.env.SERVICE_KEY = await serviceKey();
  const { app } = await import('../examples/express-sign-in.js');
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sign-in`;
  const attempt = (from: string, password = 'wrong') =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from },
      body: new URLSearchParams({ user: 'demo', password }),
    });
  try {
    for (let i = 0; i < 5; i++) {
      const answer = await attempt(one!);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('ratelimit-policy'), '"sign-in";q=5;w=60');
      assert.match(answer.headers.get('ratelimit') ?? '', new RegExp(`^"sign-in";r=${4 - i};t=\\d+$`));
    }
    const blocked = await attempt(one!, 'correct horse');
    assert.equal(blocked.status, 429, 'even the right password waits');
    const wait = Number(blocked.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
    assert.match(blocked.headers.get('ratelimit') ?? '', /^"sign-in";r=0;t=\d+$/);
    // Another address has its own count.
    assert.equal((await attempt(two!, 'correct horse')).status, 200);
  } finally {
    server.close();
  }
});

test('a rate-limited route fails closed, or open when the namespace says so, when the API cannot be reached', async () => {
  const { Hono } = await import('hono');
  const { rateLimit } = await import('@api-keys-manager/client/hono');
  const open = await namespace('ts-open', 100, 60, true);
  const key = await serviceKey();
  const gone = 'http://127.0.0.1:9'; // nothing listens on the discard port
  const route = (client: Client, name: string) => {
    const app = new Hono();
    app.get('/x', rateLimit(client, { namespace: name, identify: (c) => c.req.header('x-user') }), (c) => c.text('ok'));
    return app;
  };
  const unreachable = new Client(gone, { serviceKey: key, retries: 0, timeoutMs: 1000 });
  const closed = await route(unreachable, open).request('/x', { headers: { 'x-user': 'u1' } });
  assert.equal(closed.status, 503, 'its rule is not known yet: closed');
  // A client that has had an answer for the namespace knows its rule.
  let reachable = true;
  const flaky = new Client(API, {
    serviceKey: key,
    retries: 0,
    fetch: (input, init) => (reachable ? fetch(input, init) : Promise.reject(new TypeError('fetch failed'))),
  });
  const app = route(flaky, open);
  const first = await app.request('/x', { headers: { 'x-user': 'u1' } });
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('ratelimit-policy'), `"${open}";q=100;w=60`);
  reachable = false;
  assert.equal((await app.request('/x', { headers: { 'x-user': 'u1' } })).status, 200, 'the namespace fails open');
  assert.equal((await app.request('/x')).status, 200, 'no identifier: not checked');
});

test('creates and rotations carry an Idempotency-Key: a repeat makes no second key and never shows a secret again', async () => {
  const developer = new Client(API, { serviceKey: await serviceKey('developer') });
  const idempotencyKey = crypto.randomUUID();
  const body = { application_id: env('APP_ID'), arx_id: env('ARX_ID'), name: `typescript retried ${idempotencyKey}` };
  const created = await developer.createKey(body, { idempotencyKey });
  assert.match(created.access_key, /^akm_/);
  const again = await developer.createKey(body, { idempotencyKey }).catch((error: unknown) => error);
  assert.ok(again instanceof KeyReplayed, String(again));
  assert.equal(again.apiKey.id, created.api_key.id);
  assert.ok(!inspect(again).includes(created.access_key.split('_')[2]!));
  const reused = await developer.createKey({ ...body, name: 'another' }, { idempotencyKey }).catch((error: unknown) => error);
  assert.ok(reused instanceof ApiError && reused.status === 422 && reused.code === 'idempotency_key_reused');
  // Without a key of yours, each call is its own request.
  const [one, two] = [await developer.createKey(body), await developer.createKey(body)];
  assert.notEqual(one.api_key.id, two.api_key.id);
  const rotated = await developer.rotateKey(one.api_key.id, 0, { idempotencyKey: `${idempotencyKey}-rotate` });
  const rotatedAgain = await developer.rotateKey(one.api_key.id, 0, { idempotencyKey: `${idempotencyKey}-rotate` }).catch((e: unknown) => e);
  assert.ok(rotatedAgain instanceof KeyReplayed && rotatedAgain.apiKey.id === rotated.api_key.id);
});
