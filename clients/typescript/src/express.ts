// Express middleware: a request goes on only with a good key (`x-api-key` or
// `Authorization: Bearer`), its verdict in `res.locals.verdict`; otherwise it
// is answered 401, 403 or 429 (with `Retry-After`) here. Structural types
// only: Express is the caller's, not a dependency of this package.

import { presentedKey, refusedWith, retryAfter, type Client, type Verdict, type VerifyOptions } from './index.js';

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
}
interface Response {
  locals: Record<string, unknown>;
  status(code: number): Response;
  set(name: string, value: string): Response;
  json(body: unknown): unknown;
}

export function requireKey(client: Client, options: VerifyOptions = {}) {
  return (request: Request, response: Response, next: (error?: unknown) => void): void => {
    const key = presentedKey((name) => request.get(name));
    if (!key) {
      response.status(401).set('www-authenticate', 'Bearer').json({ error: 'an API key is required (x-api-key or Authorization: Bearer)' });
      return;
    }
    client.verify(key, options).then((verdict) => {
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
    }, next);
  };
}
