// Express middleware: a request goes on only with a good key (`x-api-key` or
// `Authorization: Bearer`), its verdict in `res.locals.verdict`; otherwise it
// is answered 401, 403 or 429 (with `Retry-After`) here, or 503 with
// `Retry-After: 5` when the key manager cannot be asked. Structural types
// only: Express is the caller's, not a dependency of this package.

import {
  presentedKey,
  rateLimitHeaders,
  refusedWith,
  retryAfter,
  type Client,
  type LimitOptions,
  type Verdict,
  type VerifyOptions,
} from './index.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /** What `requireKey` leaves for the route: `res.locals.verdict`. */
    interface Locals {
      verdict: Verdict & { valid: true };
    }
  }
}

interface Request {
  get(name: string): string | undefined;
  /**
   * The client's address as Express judges it: the connection's, unless the
   * app's `trust proxy` setting says which proxies' X-Forwarded-For to believe.
   */
  ip?: string;
}
interface Response {
  locals: Record<string, unknown>;
  status(code: number): Response;
  set(name: string, value: string): Response;
  json(body: unknown): unknown;
}

/** What a protected route answers when the key manager cannot be asked. */
export const UNAVAILABLE_RETRY_AFTER = '5';

export function requireKey(client: Client, options: VerifyOptions = {}) {
  return (request: Request, response: Response, next: (error?: unknown) => void): void => {
    const key = presentedKey((name) => request.get(name));
    if (!key) {
      response.status(401).set('www-authenticate', 'Bearer').json({ error: 'an API key is required (x-api-key or Authorization: Bearer)' });
      return;
    }
    const answer = (verdict: Verdict): void => {
      if (verdict.valid) {
        response.locals.verdict = verdict;
        next();
        return;
      }
      const status = refusedWith(verdict);
      const wait = status === 429 ? retryAfter(verdict) : undefined;
      if (wait) response.set('retry-after', wait);
      // The verdict's code only: never the key.
      response.status(status).json({ error: `the API key was refused: ${verdict.code}`, code: verdict.code });
    };
    // The key was not checked: not let in, and told to come back (503), never
    // a rejection left for Node to end the process on.
    const unavailable = (): void => {
      response.set('retry-after', UNAVAILABLE_RETRY_AFTER).status(503).json({ error: 'the key could not be checked now; try again' });
    };
    // The end user's address for a key's allowlist: Express's own judgement
    // (`app.set('trust proxy', n)` for n proxies you run), never a header as sent.
    client
      .verify(key, { ...options, ip: options.ip ?? request.ip })
      .then(answer, unavailable)
      .catch((error: unknown) => next(error));
  };
}

/** How `rateLimit` limits a route. */
export interface RateLimitOptions<R> extends LimitOptions {
  /** The namespace to check in (made with `POST /v1/ratelimit-namespaces`). */
  namespace: string;
  /**
   * What to limit by, from the request: `(request) => request.ip` (Express's
   * judgement of the client's address), a header, the verdict's identity
   * (`response.locals.verdict.identity?.external_id` after `requireKey`).
   * `undefined` lets the request through unchecked.
   */
  identify: (request: R, response: Response) => string | undefined;
  /** When the API cannot be asked and the namespace's rule is not known yet: let the request through. */
  failOpen?: boolean;
}

/**
 * Limits a route: a request goes on when its identifier is within its limit
 * (with the draft's `RateLimit-Policy` and `RateLimit` headers), and is
 * answered 429 with `Retry-After` otherwise. When the API cannot be asked, the
 * namespace's own rule decides (`fail_open`, as its last answer said), else
 * `failOpen`; closed is 503 with `Retry-After: 5`.
 */
export function rateLimit<R extends Request>(client: Client, options: RateLimitOptions<R>) {
  const { namespace, identify, failOpen, ...ask } = options;
  return (request: R, response: Response, next: (error?: unknown) => void): void => {
    const identifier = identify(request, response);
    if (identifier === undefined) {
      next();
      return;
    }
    const answer = (limited: Awaited<ReturnType<Client['limit']>>): void => {
      for (const [name, value] of Object.entries(rateLimitHeaders(namespace, limited))) response.set(name, value);
      if (limited.success) {
        next();
        return;
      }
      response.status(429).json({ error: 'too many requests; try again later', code: 'RATE_LIMITED' });
    };
    const unavailable = (): void => {
      if (client.failsOpen(namespace, failOpen ?? false)) {
        next();
        return;
      }
      response.set('retry-after', UNAVAILABLE_RETRY_AFTER).status(503).json({ error: 'the request could not be checked now; try again' });
    };
    client
      .limit(namespace, identifier, ask)
      .then(answer, unavailable)
      .catch((error: unknown) => next(error));
  };
}
