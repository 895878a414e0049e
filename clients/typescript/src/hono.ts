// Hono middleware: a request goes on only with a good key (`x-api-key` or
// `Authorization: Bearer`), its verdict in `c.get('verdict')`; otherwise it is
// answered 401, 403 or 429 (with `Retry-After`) here, or 503 with
// `Retry-After: 5` when the key manager cannot be asked. Hono is the
// caller's: only its types are used.

import type { MiddlewareHandler } from 'hono';
import { presentedKey, refusedWith, retryAfter, type Client, type Verdict, type VerifyOptions } from './index.js';

/** What a protected route answers when the key manager cannot be asked. */
export const UNAVAILABLE_RETRY_AFTER = '5';

export function requireKey(client: Client, options: VerifyOptions = {}): MiddlewareHandler<{ Variables: { verdict: Verdict } }> {
  return async (c, next) => {
    const key = presentedKey((name) => c.req.header(name));
    if (!key) {
      c.header('www-authenticate', 'Bearer');
      return c.json({ error: 'an API key is required (x-api-key or Authorization: Bearer)' }, 401);
    }
    let verdict: Verdict;
    try {
      verdict = await client.verify(key, options);
    } catch {
      // The key was not checked: not let in, and told to come back.
      c.header('retry-after', UNAVAILABLE_RETRY_AFTER);
      return c.json({ error: 'the key could not be checked now; try again' }, 503);
    }
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
