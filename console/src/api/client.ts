// The one typed client for the /v1 API. Request and response types come from
// docs/openapi.yaml (`npm run types`), so the console cannot drift from it.

import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { expire, session } from '../session';

type Schemas = components['schemas'];
export type ApiKey = Schemas['ApiKey'];
export type ApiKeyStatus = Schemas['ApiKeyStatus'];
export type Application = Schemas['Application'];
export type Arx = Schemas['Arx'];
export type Counts = Schemas['Counts'];
export type Limits = Schemas['Limits'];
// A key's balance: what its limits leave. The API's field and schema say `usage`.
export type Balance = Schemas['Usage'];
export type CreatedApiKey = Schemas['CreatedApiKey'];
export type NewApiKey = Schemas['NewApiKey'];
export type NewApplication = Schemas['NewApplication'];
export type NewArx = Schemas['NewArx'];
export type Problem = Schemas['Problem'];
export type Purpose = Schemas['Purpose'];
export type Summary = Schemas['Summary'];
export type Technology = Schemas['Technology'];
export type ServiceKey = Schemas['ServiceKey'];
export type ServiceKeyRole = Schemas['ServiceKeyRole'];
export type CreatedServiceKey = Schemas['CreatedServiceKey'];
export type Identity = Schemas['Identity'];
export type IdentityLimits = Schemas['IdentityLimits'];
export type KeyRole = Schemas['KeyRole'];
export type RateLimitNamespace = Schemas['RateLimitNamespace'];
export type RateLimitOverrides = Schemas['RateLimitOverrides'];
export type NamespaceUsage = Schemas['NamespaceUsage'];
export type ImportAnswer = Schemas['ImportAnswer'];
export type ImportScheme = Schemas['ImportScheme'];

/** An API answer that was not a success, in the API's own words. */
export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
  get field(): string | undefined {
    return this.problem.field;
  }
}

const withToken: Middleware = {
  onRequest({ request }) {
    const token = session()?.token;
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) expire();
    return response;
  },
};

export let api = createClient<paths>({ baseUrl: '' });
api.use(withToken);

/** Where the API is: the console's own origin (''), or the one /config.json names. */
export function configureApi(baseUrl: string): void {
  api = createClient<paths>({ baseUrl });
  api.use(withToken);
}

/** The problem for an answer that is not one (a proxy's HTML page, say). */
function unexpected(status: number): Problem {
  return {
    type: 'about:blank',
    title: 'Unexpected answer',
    status,
    code: 'unexpected',
    detail: `The API answered ${status} without saying why. Try again in a moment.`,
  };
}

/** The data of a success, or an `ApiProblem` for anything else. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiProblem({
      type: 'about:blank',
      title: 'No answer',
      status: 0,
      code: 'unreachable',
      detail: 'The API could not be reached. Check that it is running, then try again.',
    });
  }
  const { data, error, response } = result;
  if (response.ok) return data as T;
  const problem = error as Partial<Problem> | undefined;
  throw new ApiProblem(
    problem && typeof problem.detail === 'string'
      ? { ...unexpected(response.status), ...problem }
      : unexpected(response.status),
  );
}

type Page<T> = { items?: T[]; next_cursor?: string | null };

/** Every page of a list (the catalog is small: pickers and filters need all of it). */
async function allPages<T>(page: (cursor?: string) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    all.push(...(next.items ?? []));
    cursor = next.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

export const everyApplication = () =>
  allPages((cursor) => ok(api.GET('/v1/applications', { params: { query: { limit: 100, cursor } } })));

export const everyArx = () =>
  allPages((cursor) => ok(api.GET('/v1/arx', { params: { query: { limit: 100, cursor } } })));

export const everyServiceKey = () =>
  allPages((cursor) => ok(api.GET('/v1/service-keys', { params: { query: { limit: 100, cursor } } })));

export const everyRole = () =>
  allPages((cursor) => ok(api.GET('/v1/roles', { params: { query: { limit: 100, cursor } } })));

export const everyNamespace = () =>
  allPages((cursor) => ok(api.GET('/v1/ratelimit-namespaces', { params: { query: { limit: 100, cursor } } })));
