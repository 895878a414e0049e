// The client: `POST /v1/verify` and the key lifecycle on `fetch`, with the
// API's types generated from docs/openapi.yaml. Every call sends the service
// key as a bearer credential, times out (5 s by default) and is retried on
// 503 only (the server did nothing: busy), waiting what `Retry-After` says or
// a growing backoff; never on a 4xx, and never after a timeout (a limited
// key's verify may have been charged). A refusal throws `ApiError` with the
// problem's `code`; an API that cannot be asked throws `ApiUnavailable`. No
// key, the service key or a presented one, is ever in an error, a log line or
// what the client prints as.

import type { components } from './schema.js';

type Schemas = components['schemas'];
export type Verdict = Schemas['Verdict'];
export type ApiKey = Schemas['ApiKey'];
export type CreatedApiKey = Schemas['CreatedApiKey'];
export type NewApiKey = Schemas['NewApiKey'];
export type Problem = Schemas['Problem'];
export type RateLimitAnswer = Schemas['RateLimitAnswer'];

/** The longest a verdict may be reused in process (seconds). */
export const MAX_CACHE_SECONDS = 30;

/** The API refused a call: its status and problem `code` (the server's words never repeat a key). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly field: string | undefined;
  constructor(status: number, code: string, detail: string, field?: string) {
    super(`${status} ${code}: ${detail}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.field = field;
  }
}

/**
 * A create or rotation sent again under its `Idempotency-Key` (yours, or
 * one the client made and a retry resent): the key exists since the first
 * request, whose answer held its secret. This answer never does: rotate the
 * key (`apiKey.id`) for a secret if the first answer was lost.
 */
export class KeyReplayed extends ApiError {
  readonly apiKey: ApiKey;
  constructor(apiKey: ApiKey) {
    super(200, 'replayed', 'this key was made by an earlier request under the same Idempotency-Key; its secret is not shown again: rotate the key for a new one');
    this.name = 'KeyReplayed';
    this.apiKey = apiKey;
  }
}

/**
 * The API could not be asked: not reached, timed out, or it answered
 * something that is not its own (an empty body, JSON `null`). It carries no
 * header, body or key: only what kind of failure it was (`status` 0 when
 * nothing was answered).
 */
export class ApiUnavailable extends ApiError {
  constructor(detail: string, status = 0) {
    super(status, 'unavailable', detail);
    this.name = 'ApiUnavailable';
  }
}

/**
 * The service key without the whitespace around it (a key read from a file
 * ends with a newline), or a TypeError that does not repeat it: anything else
 * in it would put it in `fetch`'s own error about the header.
 */
function checkedServiceKey(serviceKey: unknown): string {
  if (typeof serviceKey !== 'string' || !serviceKey.trim()) throw new TypeError('a service key is required');
  const key = serviceKey.trim();
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new TypeError(
      'the service key holds a space, a control or a non-ASCII character inside it: it is not a service key (it is not repeated here)',
    );
  }
  return key;
}

/** Whether an answer of the verify route is a verdict: anything else is not read. */
function isVerdict(body: unknown): body is Verdict {
  if (typeof body !== 'object' || body === null) return false;
  const { valid, code } = body as { valid?: unknown; code?: unknown };
  return typeof valid === 'boolean' && typeof code === 'string';
}

export interface ClientOptions {
  /** The service key (`akmsk_…`), of the verifier role to verify. */
  serviceKey: string;
  /** Per attempt; 5000 by default. */
  timeoutMs?: number;
  /** Tries after a 503; 2 by default. */
  retries?: number;
  /** Reuse verdicts in process for this long (0 < s ≤ 30); off by default. See `VerdictCache`. */
  cacheSeconds?: number;
  /** Another fetch (a proxy's, a test's fault injector). */
  fetch?: typeof fetch;
}

/**
 * Verdicts reused for a TTL of at most 30 s, keyed by an HMAC-SHA-256 of the
 * presented key under a random key of this process: it never holds a key.
 * The trade-off: a key revoked on the server is still let in here until its
 * verdict's TTL ends; never past the key's own `expires_at`. A limited key's
 * verdicts (they carry `remaining`) are never kept, since each verify must be charged, nor are `RATE_LIMITED` and
 * `USAGE_EXCEEDED`, which change on their own.
 */
export class VerdictCache {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { until: number; verdict: Verdict }>();
  readonly #capacity: number;
  #hmacKey: Promise<CryptoKey> | undefined;

  constructor(ttlSeconds: number, capacity = 10_000) {
    if (!(ttlSeconds > 0 && ttlSeconds <= MAX_CACHE_SECONDS)) {
      throw new RangeError(`a verdict cache's TTL must be above 0 and at most ${MAX_CACHE_SECONDS} seconds`);
    }
    this.#ttlMs = ttlSeconds * 1000;
    this.#capacity = capacity;
  }

  async #fingerprint(key: string): Promise<string> {
    this.#hmacKey ??= crypto.subtle.importKey(
      'raw',
      crypto.getRandomValues(new Uint8Array(32)),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const mac = await crypto.subtle.sign('HMAC', await this.#hmacKey, new TextEncoder().encode(key));
    // Hex by hand: Buffer is Node's, and Hono also runs where there is none.
    return Array.from(new Uint8Array(mac), (byte) => byte.toString(16).padStart(2, '0')).join('');
  }

  /** A separator neither a key nor a query holds, then the query: one query's verdict never answers another. */
  static #entry(key: string, permissions: string | undefined): string {
    return permissions === undefined ? key : `${key}\u0000${permissions}`;
  }

  async get(key: string, permissions?: string): Promise<Verdict | undefined> {
    const fingerprint = await this.#fingerprint(VerdictCache.#entry(key, permissions));
    const entry = this.#entries.get(fingerprint);
    if (!entry) return undefined;
    if (Date.now() >= entry.until) {
      this.#entries.delete(fingerprint);
      return undefined;
    }
    return entry.verdict;
  }

  async put(key: string, verdict: Verdict, permissions?: string): Promise<void> {
    if ('remaining' in verdict && verdict.remaining !== undefined && verdict.remaining !== null) return;
    if (verdict.code === 'RATE_LIMITED' || verdict.code === 'USAGE_EXCEEDED') return;
    // Never past the key's own expiry: kept until then at most.
    let until = Date.now() + this.#ttlMs;
    const expiresAt = 'expires_at' in verdict ? verdict.expires_at : undefined;
    if (expiresAt) {
      const expiry = Date.parse(expiresAt);
      if (!(expiry > Date.now())) return;
      until = Math.min(until, expiry);
    }
    if (this.#entries.size >= this.#capacity) this.#entries.clear();
    this.#entries.set(await this.#fingerprint(VerdictCache.#entry(key, permissions)), { until, verdict });
  }

  toString(): string {
    return `VerdictCache(${this.#entries.size} entries)`;
  }
}

/** What a verify asks besides the key. */
export interface VerifyOptions {
  /** What the request spends of a limited key and its identity (1 by default; never cached). */
  cost?: number;
  /** A permission query the key must satisfy. */
  permissions?: string;
  /**
   * Which of the key's identity's named rate limits to charge, each at its
   * own cost (absent: every one, at `cost`; never cached).
   */
  rateLimits?: { name: string; cost?: number }[];
  /**
   * The end user's address, as your server saw the connection (or as a
   * proxy you run reports it): what a key with an allowlist is judged by.
   * Never a header the client could write.
   */
  ip?: string;
}

/** What a rate-limit check asks besides the namespace and identifier. */
export interface LimitOptions {
  /** What the request counts for (1 by default; 0 counts nothing and peeks). */
  cost?: number;
  /** This check's own limit instead of the namespace's (requests per `duration` seconds). */
  limit?: number;
  duration?: number;
}

export class Client {
  readonly #baseUrl: string;
  /** Each namespace's `fail_open`, as its last answer said. */
  readonly #failsOpen = new Map<string, boolean>();
  readonly #serviceKey: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #fetch: typeof fetch;
  readonly #cache: VerdictCache | undefined;

  constructor(baseUrl: string, options: ClientOptions) {
    this.#serviceKey = checkedServiceKey(options.serviceKey);
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#retries = Math.max(0, options.retries ?? 2);
    this.#fetch = options.fetch ?? fetch;
    this.#cache = options.cacheSeconds ? new VerdictCache(options.cacheSeconds) : undefined;
  }

  /** What it prints as: never the service key. */
  toString(): string {
    return `Client(${this.#baseUrl}, service key redacted)`;
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  async #call<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(`${this.#baseUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.#serviceKey}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...extra,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (error) {
        // The kind of failure only: fetch's own message may quote a header.
        const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
        throw new ApiUnavailable(
          timedOut ? 'the API did not answer in time' : `the API could not be reached (${error instanceof Error ? error.name : 'unknown'})`,
        );
      }
      if (response.status === 503 && attempt < this.#retries) {
        await response.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, waitBeforeRetry(response, attempt)));
        continue;
      }
      if (!response.ok) throw await problemOf(response);
      if (response.status === 204) return undefined as T;
      try {
        return (await response.json()) as T;
      } catch {
        throw new ApiUnavailable('the API answered something that is not JSON', response.status);
      }
    }
  }

  /**
   * The verdict on `key`: charging a limited key `cost` (1 by default; a
   * number alone is the cost), for a request that needs what `permissions`
   * asks (`documents.read AND (billing.write OR admin)`): a good key that
   * lacks it is `INSUFFICIENT_PERMISSIONS`, and is not charged.
   */
  async verify(key: string, options: number | VerifyOptions = {}): Promise<Verdict> {
    const { cost, permissions, rateLimits, ip } =
      typeof options === 'number' ? { cost: options, permissions: undefined, rateLimits: undefined, ip: undefined } : options;
    // A verdict answers only the same question: the query, and the address.
    const scope = ip === undefined ? permissions : `${permissions ?? ''}\u0000${ip}`;
    const cacheable = this.#cache && cost === undefined && rateLimits === undefined;
    if (cacheable) {
      const cached = await this.#cache!.get(key, scope);
      if (cached) return cached;
    }
    const body = {
      key,
      ...(cost === undefined ? {} : { cost }),
      ...(permissions === undefined ? {} : { permissions }),
      ...(rateLimits === undefined ? {} : { rate_limits: rateLimits }),
      ...(ip === undefined ? {} : { ip }),
    };
    const verdict = await this.#call<unknown>('POST', '/v1/verify', body);
    if (!isVerdict(verdict)) throw new ApiUnavailable('the API answered something that is not a verdict', 200);
    if (cacheable) await this.#cache!.put(key, verdict, scope);
    return verdict;
  }

  /**
   * Is `identifier` (an address, an e-mail, a user id) within its limit in
   * `namespace`? Counted when `success`. The identifier is sent once and
   * never kept, logged or put in an error. Throws `ApiUnavailable` when the
   * API cannot be asked: see `failsOpen` for what the namespace asks then.
   */
  async limit(namespace: string, identifier: string, options: LimitOptions = {}): Promise<RateLimitAnswer> {
    const answer = await this.#call<RateLimitAnswer>('POST', '/v1/ratelimit', { namespace, identifier, ...options });
    this.#remember(namespace, answer);
    return answer;
  }

  /** Several checks at once, all or nothing: each counted, or none. */
  async limitMany(
    checks: ({ namespace: string; identifier: string } & LimitOptions)[],
  ): Promise<{ success: boolean; results: RateLimitAnswer[] }> {
    const answer = await this.#call<{ success: boolean; results: RateLimitAnswer[] }>('POST', '/v1/ratelimit/many', { checks });
    checks.forEach((check, index) => this.#remember(check.namespace, answer.results[index]));
    return answer;
  }

  #remember(namespace: string, answer: RateLimitAnswer | undefined): void {
    if (typeof answer?.fail_open !== 'boolean') return;
    if (this.#failsOpen.size >= 1000 && !this.#failsOpen.has(namespace)) this.#failsOpen.clear();
    this.#failsOpen.set(namespace, answer.fail_open);
  }

  /**
   * Whether a request may go on when `namespace` cannot be checked: the
   * namespace's own rule as its last answer in this process said, else
   * `fallback` (closed: refuse, unless you say otherwise).
   */
  failsOpen(namespace: string, fallback = false): boolean {
    return this.#failsOpen.get(namespace) ?? fallback;
  }

  /**
   * A create or rotation, sent with an `Idempotency-Key` (a new one unless
   * given; the same on each retry after a 503), so a repeat makes no second
   * key. A repeat's answer holds no secret: `KeyReplayed`.
   */
  async #mint(path: string, body: unknown, idempotencyKey?: string): Promise<CreatedApiKey> {
    const key = idempotencyKey ?? crypto.randomUUID();
    const answer = await this.#call<CreatedApiKey | (Schemas['ReplayedApiKey'])>('POST', path, body, { 'idempotency-key': key });
    if ('replayed' in answer && answer.replayed) throw new KeyReplayed(answer.api_key);
    return answer as CreatedApiKey;
  }

  // The key lifecycle, with a service key of the developer or admin role.
  createKey(key: NewApiKey, options: { idempotencyKey?: string } = {}): Promise<CreatedApiKey> {
    return this.#mint('/v1/api-keys', key, options.idempotencyKey);
  }
  listKeys(query: Record<string, string | number> = {}): Promise<{ items: ApiKey[]; next_cursor: string | null }> {
    const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    return this.#call('GET', `/v1/api-keys${search.size ? `?${search}` : ''}`);
  }
  getKey(id: string): Promise<ApiKey> {
    return this.#call('GET', `/v1/api-keys/${encodeURIComponent(id)}`);
  }
  rotateKey(id: string, graceSeconds?: number, options: { idempotencyKey?: string } = {}): Promise<CreatedApiKey> {
    const body = graceSeconds === undefined ? {} : { grace_seconds: graceSeconds };
    return this.#mint(`/v1/api-keys/${encodeURIComponent(id)}/rotate`, body, options.idempotencyKey);
  }
  disableKey(id: string): Promise<ApiKey> {
    return this.#call('POST', `/v1/api-keys/${encodeURIComponent(id)}/disable`);
  }
  enableKey(id: string): Promise<ApiKey> {
    return this.#call('POST', `/v1/api-keys/${encodeURIComponent(id)}/enable`);
  }
  async deleteKey(id: string): Promise<void> {
    await this.#call('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`, { confirm: id });
  }
}

/** `Retry-After` (seconds) when given, else 200 ms doubling; at most 5 s. */
function waitBeforeRetry(response: Response, attempt: number): number {
  const header = response.headers.get('retry-after');
  const seconds = header && /^\d+$/.test(header) ? Number(header) : 0.2 * 2 ** attempt;
  return Math.min(seconds, 5) * 1000;
}

async function problemOf(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => null)) as Partial<Problem> | null;
  return new ApiError(
    response.status,
    typeof body?.code === 'string' ? body.code : 'unexpected',
    typeof body?.detail === 'string' ? body.detail : `the API answered ${response.status}`,
    typeof body?.field === 'string' ? body.field : undefined,
  );
}

/** The key a request carries: `x-api-key`, else an `Authorization: Bearer` credential. */
export function presentedKey(header: (name: string) => string | null | undefined): string | undefined {
  const key = header('x-api-key')?.trim();
  if (key) return key;
  const [scheme, credential] = (header('authorization') ?? '').trim().split(/\s+/, 2);
  return scheme?.toLowerCase() === 'bearer' && credential ? credential : undefined;
}

/** The status a protected route answers a refused verdict with. */
export function refusedWith(verdict: Verdict): 401 | 403 | 429 {
  switch (verdict.code) {
    case 'EXPIRED':
    case 'DELETED':
    case 'DISABLED':
    case 'INSUFFICIENT_PERMISSIONS':
    case 'ADDRESS_NOT_ALLOWED':
      return 403;
    case 'RATE_LIMITED':
    case 'USAGE_EXCEEDED':
      return 429;
    default:
      return 401;
  }
}

/** Seconds to come back after a 429, from the verdict's `reset_at`. */
export function retryAfter(verdict: Verdict): string | undefined {
  const reset = 'reset_at' in verdict ? verdict.reset_at : undefined;
  if (!reset) return undefined;
  return String(Math.max(1, Math.ceil((Date.parse(reset) - Date.now()) / 1000)));
}

/**
 * The end user's address for a key's allowlist: the connection's (`peer`)
 * with no proxy trusted; else the `X-Forwarded-For` entry the nearest of the
 * `trustedProxies` proxies you run appended (the entries before it are
 * whatever the client wrote, never read). Fewer entries than proxies: none.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trustedProxies = 0): string | undefined {
  if (peer === undefined || trustedProxies === 0) return peer;
  const entries = (forwardedFor ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  return entries.length >= trustedProxies ? entries[entries.length - trustedProxies] : undefined;
}

/**
 * The IETF draft's `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers)
 * for an answer, named by the namespace (`"login";q=100;w=60` and `"login";r=42;t=17`), and
 * `Retry-After` when it refused.
 */
export function rateLimitHeaders(namespace: string, answer: RateLimitAnswer): Record<string, string> {
  // A namespace name holds no quote or backslash: it is a valid sf-string as it is.
  const headers: Record<string, string> = {
    'ratelimit-policy': `"${namespace}";q=${answer.limit};w=${answer.duration}`,
    ratelimit: `"${namespace}";r=${answer.remaining};t=${answer.reset_after}`,
  };
  if (!answer.success) headers['retry-after'] = String(answer.reset_after);
  return headers;
}
