// The audit log (owners and admins): who did what to which object, when,
// newest first; narrowed by any of action, object and who, and a date range;
// each object named beside its id, with a link to where it is shown.

import { useEffect, useState } from 'preact/hooks';
import { api, everyApplication, everyArx, everyServiceKey, ok, type ApiProblem } from '../api/client';
import type { components } from '../api/schema';
import { Pager, useCursorPages } from '../components/pager';
import { PageHead } from '../components/page';
import { asProblem, ErrorSummary, FieldError, isAbout } from '../components/problems';
import { authorName, formatTime } from '../format';
import { onLinkClick } from '../router';

type AuditEvent = components['schemas']['AuditEvent'];
type AuditAction = components['schemas']['AuditAction'];
interface Filters {
  action?: AuditAction;
  object_id?: string;
  actor?: string;
  /** Days, `2026-12-01`. */
  from?: string;
  to?: string;
}

/** Every action, in words; a `Record`, so an action the API adds is a type error here until named. */
export const ACTION_NAMES: Record<AuditAction, string> = {
  api_key_created: 'API key created',
  api_key_rotated: 'API key rotated',
  api_key_disabled: 'API key disabled',
  api_key_enabled: 'API key enabled',
  api_key_deleted: 'API key deleted',
  api_key_limits_changed: 'API key limits changed',
  api_key_updated: 'API key permissions, owner or meta changed',
  api_key_leaked: 'API key leaked: disabled',
  api_key_expired: 'API key expired',
  api_key_purged: 'API key purged',
  api_key_imported: 'API key imported',
  api_key_rehashed: 'Imported API key moved to our own hash',
  application_created: 'Application created',
  application_updated: 'Application updated',
  application_archived: 'Application archived',
  arx_created: 'Arx created',
  arx_updated: 'Arx updated',
  arx_disabled: 'Arx disabled',
  arx_enabled: 'Arx enabled',
  arx_deleted: 'Arx deleted',
  service_key_created: 'Service key created',
  service_key_revoked: 'Service key revoked',
  service_key_leaked: 'Service key leaked: revoked',
  identity_created: 'Customer recorded',
  identity_updated: 'Customer changed',
  identity_deleted: 'Customer deleted',
  role_created: 'Key role created',
  role_updated: 'Key role permissions changed',
  role_deleted: 'Key role deleted',
  rate_limit_namespace_created: 'Rate limit created',
  rate_limit_namespace_updated: 'Rate limit changed',
  rate_limit_namespace_deleted: 'Rate limit deleted',
  rate_limit_override_set: 'Rate limit override set',
  rate_limit_override_removed: 'Rate limit override removed',
};
const ACTIONS = Object.keys(ACTION_NAMES) as AuditAction[];

export function AuditLog() {
  const [filters, setFilters] = useState<Filters>({});
  const [draft, setDraft] = useState<Filters>({});
  const pages = useCursorPages();
  const [page, setPage] = useState<{ items: AuditEvent[]; next_cursor: string | null } | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const names = useObjectNames(page?.items ?? []);
  const cursor = pages.cursor;

  useEffect(() => {
    let current = true;
    const query = {
      limit: 25,
      cursor,
      ...(filters.action ? { action: filters.action } : {}),
      ...(filters.object_id ? { object_id: filters.object_id } : {}),
      ...(filters.actor ? { actor: filters.actor } : {}),
      ...(filters.from ? { from: `${filters.from}T00:00:00Z` } : {}),
      ...(filters.to ? { to: `${filters.to}T23:59:59Z` } : {}),
    };
    ok(api.GET('/v1/audit-events', { params: { query } })).then(
      (next) => {
        if (!current) return;
        setPage({ items: next.items ?? [], next_cursor: next.next_cursor ?? null });
        setProblem(null);
      },
      (error) => {
        if (!current) return;
        // Old results under a new error would read as this search's.
        setPage(null);
        setProblem(asProblem(error));
      },
    );
    return () => {
      current = false;
    };
  }, [filters, cursor]);

  function narrow(next: Filters) {
    setFilters(next);
    pages.reset();
  }

  const text = (name: 'object_id' | 'actor', label: string, hint: string) => (
    <div>
      <label for={`audit-${name}`}>{label}</label>
      <FieldError problem={problem} field={name} id={`audit-${name}-error`} />
      <input
        id={`audit-${name}`}
        class="mono"
        value={draft[name] ?? ''}
        placeholder={hint}
        aria-invalid={isAbout(problem, name)}
        onInput={(event) => setDraft({ ...draft, [name]: event.currentTarget.value.trim() || undefined })}
      />
    </div>
  );
  const day = (name: 'from' | 'to', label: string) => (
    <div>
      <label for={`audit-${name}`}>{label}</label>
      <FieldError problem={problem} field={name} id={`audit-${name}-error`} />
      <input
        id={`audit-${name}`}
        type="date"
        value={draft[name] ?? ''}
        aria-invalid={isAbout(problem, name)}
        onInput={(event) => setDraft({ ...draft, [name]: event.currentTarget.value || undefined })}
      />
    </div>
  );

  return (
    <section aria-labelledby="audit-title">
      <PageHead id="audit-title" title="Audit log" />
      <ErrorSummary
        problem={problem}
        fields={{ object_id: 'audit-object_id', actor: 'audit-actor', action: 'audit-action', from: 'audit-from', to: 'audit-to' }}
      />
      <form
        class="filters"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          narrow(draft);
        }}
      >
        <div>
          <label for="audit-action">Action</label>
          <select
            id="audit-action"
            value={draft.action ?? ''}
            onChange={(event) => {
              const next = { ...draft, action: (event.currentTarget.value || undefined) as AuditAction | undefined };
              setDraft(next);
              narrow(next);
            }}
          >
            <option value="">Any action</option>
            {ACTIONS.map((action) => (
              <option key={action} value={action}>
                {ACTION_NAMES[action]}
              </option>
            ))}
          </select>
        </div>
        {text('object_id', 'Object id', 'apikey--…, app--…, arx--…')}
        {text('actor', 'Who', 'a user id, service-key:…')}
        {day('from', 'From (UTC)')}
        {day('to', 'To (UTC)')}
        <div class="buttons filter-buttons">
          <button type="submit" class="secondary">
            Search
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft({});
              narrow({});
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <p class="hint">Every filter given applies at once; the dates include the whole day (UTC).</p>
      {page && page.items.length === 0 && (
        <p class="empty">
          {Object.values(filters).some(Boolean)
            ? 'No events match these filters. Widen the dates or clear a filter.'
            : 'Nothing has happened yet. Changes to keys, applications and Arx appear here.'}
        </p>
      )}
      {page && page.items.length > 0 && (
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Object</th>
                <th scope="col">Who</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((event) => (
                <tr key={event.id}>
                  <td data-label="When">{formatTime(event.at)}</td>
                  <td data-label="What">
                    {ACTION_NAMES[event.action]}
                    {event.detail && (
                      <>
                        <br />
                        <span class="muted detail">{event.detail}</span>
                      </>
                    )}
                  </td>
                  <td data-label="Object">
                    <ObjectLink id={event.object_id} name={names.get(event.object_id)} />
                  </td>
                  <td data-label="Who">
                    {actorName(event.actor)}
                    {event.actor.role && <span class="muted"> · {event.actor.role.replace('_', ' ')}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && (pages.hasPrevious || page.next_cursor) && (
        <Pager label="Pages of events" pages={pages} nextCursor={page.next_cursor} />
      )}
    </section>
  );
}

/** Who did it, in words: a person's id, a service key, or one of our jobs. */
export function actorName(actor: AuditEvent['actor']): string {
  if (actor.kind === 'system') return authorName(`system:${actor.id}`);
  return authorName(actor.id);
}

/** An object's name and a link to where it is shown, beside its id. */
function ObjectLink({ id, name }: { id: string; name: string | undefined }) {
  const href = id.startsWith('apikey--')
    ? `/api-keys/${id}`
    : id.startsWith('app--')
      ? '/applications'
      : id.startsWith('arx--')
        ? '/arx'
        : id.startsWith('svckey--')
          ? '/service-keys'
          : id.startsWith('identity--')
            ? `/identities/${id}`
            : id.startsWith('role--')
              ? '/roles'
              : null;
  const label = (
    <>
      {name && <span class="object-name">{name}</span>} <code>{id}</code>
    </>
  );
  return href ? (
    <a href={href} onClick={onLinkClick} class="object-link">
      {label}
    </a>
  ) : (
    label
  );
}

/**
 * The names of the objects on this page of events: applications, Arx and
 * service keys from their lists, API keys one by one (a purged key has no
 * name left, and shows its id alone).
 */
function useObjectNames(events: AuditEvent[]): Map<string, string> {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const ids = [...new Set(events.map((event) => event.object_id))];
  const wanted = ids.filter((id) => !names.has(id)).join(',');
  useEffect(() => {
    if (!wanted) return;
    let current = true;
    const missing = wanted.split(',');
    const keys = missing.filter((id) => id.startsWith('apikey--'));
    const others = missing.some((id) => !id.startsWith('apikey--'));
    Promise.all([
      others ? Promise.all([everyApplication(), everyArx(), everyServiceKey()]).catch(() => [[], [], []] as const) : [[], [], []],
      Promise.all(
        keys.map((id) =>
          ok(api.GET('/v1/api-keys/{id}', { params: { path: { id } } })).then(
            (key) => [id, key.name] as const,
            () => null,
          ),
        ),
      ),
    ]).then(([[applications, arx, serviceKeys], found]) => {
      if (!current) return;
      const next = new Map(names);
      for (const item of [...applications, ...arx, ...serviceKeys]) next.set(item.id, item.name);
      for (const pair of found) if (pair) next.set(pair[0], pair[1]);
      setNames(next);
    });
    return () => {
      current = false;
    };
  }, [wanted]);
  return names;
}
