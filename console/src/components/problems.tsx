// Problems in words, the GOV.UK way: a summary at the top of the form that
// links to each field at fault, and the message again beside the field. The
// API's `code` and `field` say what went wrong; this file says it in the
// words of the form, never in the server's (no type names, no field paths).

import { ApiProblem } from '../api/client';

/** A thrown value as a problem to show (anything else is a bug, said plainly). */
export function asProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  return new ApiProblem({
    type: 'about:blank',
    title: 'Something went wrong',
    status: 0,
    code: 'console_error',
    detail: 'The console could not do that. Reload the page and try again.',
  });
}

/** A problem the console found itself, before sending (a number out of range, say). */
export function localProblem(field: string, detail: string): ApiProblem {
  return new ApiProblem({ type: 'about:blank', title: 'Check this answer', status: 400, code: 'local', detail, field });
}

/** What each field is called on screen, by the API's name for it. */
const FIELD_NAMES: Record<string, string> = {
  name: 'The name',
  application_id: 'The application',
  arx_id: 'The Arx',
  expires_at: 'The expiry date',
  limits: 'The limits',
  'limits.rate': 'The rate',
  'limits.rate.requests': 'Requests',
  'limits.rate.per_seconds': 'Per seconds',
  'limits.credits': 'The credits',
  'limits.credits.remaining': 'Credits to start with',
  'limits.credits.refill': 'The refill',
  'limits.credits.refill.amount': 'Refill to',
  'limits.credits.refill.every': 'How often it refills',
  grace_seconds: 'The overlap',
  permissions: 'The permissions',
  roles: 'The roles',
  allowlist: 'The addresses',
  'allowlist.entries': 'An address or range',
  ip: 'The address',
  'limits.rate_limits': 'The rate limits',
  external_id: 'The owner',
  meta: 'The meta',
  confirm: 'The confirmation',
  role: 'The role',
  message: 'The message',
  rating: 'The rating',
  page: 'The page',
  technology: 'The technology',
  cors_origins: 'The allowed origins',
  purpose: 'The purpose',
  provider: 'The cloud provider',
  region: 'The region',
  encryption_method: 'The encryption method',
  rotation_cycle: 'The rotation cycle',
  plan: 'The plan',
  object_id: 'The object id',
  actor: 'Who',
  action: 'The action',
  cursor: 'The page',
  limit: 'The limit',
  duration: 'The window',
  identifier: 'The identifier or pattern',
  fail_open: 'What clients do when the API is out of reach',
  namespace: 'The namespace',
  hash: 'The hash',
  key: 'The key',
  prefix: 'The prefix',
  scheme: 'How the keys were stored',
  status: 'The status',
  file: 'The file',
  keys: 'The file',
};

/** What a code means for whoever is looking at the page. */
const CODE_MESSAGES: Record<string, string> = {
  unauthenticated: 'Your session has ended. Sign in again to go on.',
  forbidden: 'Your role may not do this. Ask a platform owner or admin.',
  service_key_forbidden: 'Service keys are managed by people only: sign in as a platform owner or admin.',
  not_found: 'This no longer exists, or it belongs to another organisation.',
  no_route: 'The console asked for something the API does not have. Reload the page.',
  changed: 'Someone changed this while you were working on it. Reload the page and try again.',
  busy: 'The server is busy. Wait a moment and try again.',
  internal: 'The server could not do this. Try again in a moment; if it goes on, tell whoever runs it.',
  body_too_large: 'That is too much text to send at once.',
  confirmation_mismatch: 'The confirmation must be exactly the id shown, with nothing before or after it.',
  application_not_active: 'This application is archived: it gets no new keys. Choose another.',
  arx_not_active: 'This Arx is not active: it gets no new keys. Choose another.',
  already_exists: 'Something with this id already exists. Try again.',
  identity_exists: 'There already is a customer with this owner id: open it from the list.',
  identity_has_keys: 'Keys still belong to this customer. Delete them or change their owner first, so none loses the limits it shares.',
  role_exists: 'There already is a role with this name: change that one, or choose another name.',
  namespace_exists: 'There already is a rate limit with this name: change that one, or choose another name.',
  too_many_overrides: 'A rate limit holds at most 500 overrides: remove one first, or use a pattern with * for many.',
  unknown_reference: 'That choice no longer exists. Reload the page and choose again.',
  // What the console itself sent wrong: the server's detail names parser
  // internals, which are no use to a person.
  malformed_body: 'The console sent something the API could not read. Reload the page and try again.',
  invalid_field: 'The console sent something the API could not read. Reload the page and try again.',
  unsupported_media_type: 'The console sent something the API could not read. Reload the page and try again.',
  method_not_allowed: 'The console asked for something the API does not have. Reload the page.',
  body_timeout: 'The request took too long to arrive. Try again.',
  already_imported: 'This key is already imported (or another key has the same prefix).',
  duplicate_in_batch: 'The same key (or prefix) is on an earlier row of this file.',
};

/**
 * The problem in the page's words. A field's refusal reads "<what it is
 * called> <why>", from our own reasons ("must be at most 100 characters");
 * a reason that is the parser's (a type mismatch) becomes a plain sentence.
 */
export function plainMessage(problem: ApiProblem): string {
  const { code, field, detail } = problem.problem;
  if (code === 'local' || code === 'missing' || code === 'unreachable' || code === 'console_error') return detail;
  if (field && (code === 'invalid_field' || code === 'malformed_body')) {
    const name = fieldName(field);
    const reason = detail.startsWith(`${field}: `) ? detail.slice(field.length + 2) : detail;
    if (/expected (u|i)(8|16|32|64)|invalid type: (string|floating point|boolean|null)|expected an integer|invalid value: integer|invalid value: floating/.test(reason)) {
      return `${name} must be a whole number.`;
    }
    if (/expected a string|invalid type: integer|expected a borrowed string/.test(reason)) return `${name} must be text.`;
    if (/unknown variant|expected one of/.test(reason)) return `${name} is not one of the choices.`;
    if (/missing field/.test(reason)) return `${name} is missing.`;
    if (/^(must|may|is)\b/.test(reason)) return `${name} ${reason.replace(/\.$/, '')}.`;
    return `${name} is not accepted: check it and try again.`;
  }
  return CODE_MESSAGES[code] ?? (/^[A-Z]/.test(detail) ? detail : `${detail.charAt(0).toUpperCase()}${detail.slice(1)}.`);
}

function fieldName(field: string): string {
  for (let path = field; path; path = path.replace(/(\.[^.]*|\[\d+\])$/, '')) {
    const name = FIELD_NAMES[path];
    if (name) return name;
    if (!/[.[]/.test(path)) break;
  }
  return 'This answer';
}

/** `fields` maps the API's field names (whole paths, or their first part) to the ids of the inputs that hold them. */
export function ErrorSummary({ problem, fields = {} }: { problem: ApiProblem | null; fields?: Record<string, string> }) {
  if (!problem) return null;
  const target = problem.field ? (fields[problem.field] ?? fields[fieldRoot(problem.field)]) : undefined;
  const message = plainMessage(problem);
  return (
    <div class="error-summary" role="alert" tabIndex={-1}>
      <h2>There is a problem</h2>
      <p>
        {target ? (
          <a href={`#${target}`} onClick={(event) => focusField(event, target)}>
            {message}
          </a>
        ) : (
          message
        )}
      </p>
    </div>
  );
}

/** The message beside the field it names, if it names this one (`field` may be a whole path). */
export function FieldError({ problem, field, id }: { problem: ApiProblem | null; field: string; id: string }) {
  if (!isAbout(problem, field)) return null;
  return (
    <p class="field-error" id={id}>
      <span class="visually-hidden">Error: </span>
      {plainMessage(problem!)}
    </p>
  );
}

/** Whether the problem is about this field (for `aria-invalid`): the field itself, or a part of it. */
export function isAbout(problem: ApiProblem | null, field: string): boolean {
  const at = problem?.field;
  if (!at) return false;
  return field.includes('.') ? at === field || at.startsWith(`${field}.`) : fieldRoot(at) === field;
}

/** `cors_origins[2]` is about the `cors_origins` input. */
function fieldRoot(field: string): string {
  return field.replace(/\[.*$/, '').replace(/\..*$/, '');
}

function focusField(event: MouseEvent, id: string) {
  event.preventDefault();
  document.getElementById(id)?.focus();
}
