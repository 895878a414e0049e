// Hono middleware: a request goes on only with a good key (`x-api-key` or
// `Authorization: Bearer`), its verdict in `c.get('verdict')`; otherwise it is
// answered 401, 403 or 429 (with `Retry-After`) here. Hono is the caller's:
// only its types are used.

import type { MiddlewareHandler } from 'hono';
import { presentedKey, refusedWith, retryAfter, type Client, type Verdict, type VerifyOptions } from './index.js';

export function requireKey(client: Client, options: VerifyOptions = {}): MiddlewareHandler<{ Variables: { verdict: Verdict } }> {
  return async (c, next) => {
    const key = presentedKey((name) => c.req.header(name));
    if (!key) {
      c.header('www-authenticate', 'Bearer');
      return c.json({ error: 'an API key is required (x-api-key or Authorization: Bearer)' }, 401);
    }
    const verdict = await client.verify(key, options);
    if (!verdict.valid) {
      const status = refusedWith(verdict);
      const wait = status === 429 ? retryAfter(verdict) : undefined;
      if (wait) c.header('retry-after', wait);
      return c.json({ error: `the API key was refused: ${verdict.code}`, code: verdict.code }, status);
    }
    c.set('verdict', verdict);
    await next();
  };
}
