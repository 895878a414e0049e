// Hono middleware: a request goes on only with a good key (`x-api-key` or
// `Authorization: Bearer`), its verdict in `c.get('verdict')`; otherwise it is
// answered 401, 403 or 429 (with `Retry-After`) here, or 503 with
// `Retry-After: 5` when the key manager cannot be asked. Hono is the
// caller's: only its types are used.

import type { Context, MiddlewareHandler } from 'hono';
import {
  clientAddress,
  presentedKey,
  rateLimitHeaders,
  refusedWith,
  retryAfter,
  type Client,
  type LimitOptions,
  type RateLimitAnswer,
  type Verdict,
  type VerifyOptions,
} from './index.js';

/** Where the end user's address comes from, for keys with an allowlist. */
export interface AddressOptions {
  /**
   * The connection's address, as your runtime's adapter reports it (on
   * Node: `(c) => getConnInfo(c).remote.address` from
   * `@hono/node-server/conninfo`). Without it no address is sent, and keys
   * with an allowlist are refused.
   */
  peer?: (c: Context) => string | undefined;
  /** Proxies you run in front, each appending to X-Forwarded-For (0: the header is never read). */
  trustedProxies?: number;
}

/** What a protected route answers when the key manager cannot be asked. */
export const UNAVAILABLE_RETRY_AFTER = '5';

export function requireKey(
  client: Client,
  options: VerifyOptions = {},
  addresses: AddressOptions = {},
): MiddlewareHandler<{ Variables: { verdict: Verdict } }> {
  return async (c, next) => {
    const key = presentedKey((name) => c.req.header(name));
    if (!key) {
      c.header('www-authenticate', 'Bearer');
      return c.json({ error: 'an API key is required (x-api-key or Authorization: Bearer)' }, 401);
    }
    let verdict: Verdict;
    try {
      const ip = options.ip ?? clientAddress(addresses.peer?.(c), c.req.header('x-forwarded-for'), addresses.trustedProxies);
      verdict = await client.verify(key, { ...options, ip });
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

/** How `rateLimit` limits a route. */
export interface RateLimitOptions extends LimitOptions {
  /** The namespace to check in (made with `POST /v1/ratelimit-namespaces`). */
  namespace: string;
  /**
   * What to limit by, from the request: the client's address
   * (`(c) => clientAddress(getConnInfo(c).remote.address, c.req.header('x-forwarded-for'), proxies)`),
   * a header, the verdict's identity (`c.get('verdict')` after `requireKey`).
   * `undefined` lets the request through unchecked.
   */
  identify: (c: Context) => string | undefined;
  /** When the API cannot be asked and the namespace's rule is not known yet: let the request through. */
  failOpen?: boolean;
}

/**
 * Limits a route: a request goes on when its identifier is within its limit
 * (with the draft's `RateLimit-Policy` and `RateLimit` headers), and is
 * answered 429 with `Retry-After` otherwise; when the API cannot be asked,
 * the namespace's rule (or `failOpen`) decides, closed being 503.
 */
export function rateLimit(client: Client, options: RateLimitOptions): MiddlewareHandler {
  const { namespace, identify, failOpen, ...ask } = options;
  return async (c, next) => {
    const identifier = identify(c);
    if (identifier === undefined) return next();
    let answer: RateLimitAnswer;
    try {
      answer = await client.limit(namespace, identifier, ask);
    } catch {
      if (client.failsOpen(namespace, failOpen ?? false)) return next();
      c.header('retry-after', UNAVAILABLE_RETRY_AFTER);
      return c.json({ error: 'the request could not be checked now; try again' }, 503);
    }
    for (const [name, value] of Object.entries(rateLimitHeaders(namespace, answer))) c.header(name, value);
    if (!answer.success) return c.json({ error: 'too many requests; try again later', code: 'RATE_LIMITED' }, 429);
    await next();
  };
}
