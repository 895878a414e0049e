// The audit log (owners and admins): who did what to which object, when,
// newest first; narrowed by one of action, object or actor, as the API allows.

import { useEffect, useState } from 'preact/hooks';
import { api, ok, type ApiProblem } from '../api/client';
import type { components } from '../api/schema';
import { Pager, useCursorPages } from '../components/pager';
import { PageHead } from '../components/page';
import { asProblem, ErrorSummary, FieldError, isAbout } from '../components/problems';
import { formatTime } from '../format';

type AuditEvent = components['schemas']['AuditEvent'];
type AuditAction = components['schemas']['AuditAction'];
type Filter = { kind: 'none' } | { kind: 'action'; value: AuditAction } | { kind: 'object_id' | 'actor'; value: string };

/** Every action, in words; a `Record`, so an action the API adds is a type error here until named. */
export const ACTION_NAMES: Record<AuditAction, string> = {
  api_key_created: 'API key created',
  api_key_rotated: 'API key rotated',
  api_key_disabled: 'API key disabled',
  api_key_enabled: 'API key enabled',
  api_key_deleted: 'API key deleted',
  api_key_limits_changed: 'API key limits changed',
  api_key_leaked: 'API key leaked: disabled',
  api_key_expired: 'API key expired',
  api_key_purged: 'API key purged',
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
};
const ACTIONS = Object.keys(ACTION_NAMES) as AuditAction[];

export function AuditLog() {
  const [filter, setFilter] = useState<Filter>({ kind: 'none' });
  const [draft, setDraft] = useState<{ kind: 'object_id' | 'actor'; value: string }>({ kind: 'object_id', value: '' });
  const pages = useCursorPages();
  const [page, setPage] = useState<{ items: AuditEvent[]; next_cursor: string | null } | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const cursor = pages.cursor;

  useEffect(() => {
    let current = true;
    const query = {
      limit: 25,
      cursor,
      ...(filter.kind === 'action' ? { action: filter.value } : {}),
      ...(filter.kind === 'object_id' ? { object_id: filter.value } : {}),
      ...(filter.kind === 'actor' ? { actor: filter.value } : {}),
    };
    ok(api.GET('/v1/audit-events', { params: { query } })).then(
      (next) => {
        if (!current) return;
        setPage({ items: next.items ?? [], next_cursor: next.next_cursor ?? null });
        setProblem(null);
      },
      (error) => current && setProblem(asProblem(error)),
    );
    return () => {
      current = false;
    };
  }, [filter, cursor]);

  function narrow(next: Filter) {
    setFilter(next);
    pages.reset();
  }

  return (
    <section aria-labelledby="audit-title">
      <PageHead id="audit-title" title="Audit log" />
      <ErrorSummary problem={problem} fields={{ object_id: 'audit-search', actor: 'audit-search' }} />
      <form
        class="filters"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          narrow(draft.value.trim() ? { kind: draft.kind, value: draft.value.trim() } : { kind: 'none' });
        }}
      >
        <label>
          Action
          <select
            value={filter.kind === 'action' ? filter.value : ''}
            onChange={(event) => {
              const value = event.currentTarget.value as AuditAction | '';
              narrow(value ? { kind: 'action', value } : { kind: 'none' });
            }}
          >
            <option value="">Any action</option>
            {ACTIONS.map((action) => (
              <option key={action} value={action}>
                {ACTION_NAMES[action]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search by
          <select value={draft.kind} onChange={(event) => setDraft({ ...draft, kind: event.currentTarget.value as 'object_id' | 'actor' })}>
            <option value="object_id">Object id</option>
            <option value="actor">Who (user or service-key:id)</option>
          </select>
        </label>
        <div>
          <label for="audit-search">{draft.kind === 'object_id' ? 'Object id' : 'User id'}</label>
          <FieldError problem={problem} field={draft.kind} id="audit-search-error" />
          <input
            id="audit-search"
            class="mono"
            value={draft.value}
            aria-invalid={isAbout(problem, draft.kind)}
            onInput={(event) => setDraft({ ...draft, value: event.currentTarget.value })}
          />
        </div>
        <div class="buttons filter-buttons">
          <button type="submit" class="secondary">
            Search
          </button>
        </div>
      </form>
      <p class="hint">One filter at a time: choosing an action clears a search, and a search clears the action.</p>
      {page && page.items.length === 0 && <p class="empty">No events match.</p>}
      {page && page.items.length > 0 && (
        <div class="table-wrap">
          <table>
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
                  <td>{formatTime(event.at)}</td>
                  <td>
                    {ACTION_NAMES[event.action]}
                    {event.detail && (
                      <>
                        <br />
                        <span class="muted detail">{event.detail}</span>
                      </>
                    )}
                  </td>
                  <td>
                    <code>{event.object_id}</code>
                  </td>
                  <td>
                    {event.actor.kind === 'system'
                      ? `system: ${event.actor.id}`
                      : event.actor.kind === 'service_key'
                        ? `service key ${event.actor.id.replace('service-key:', '')}`
                        : event.actor.id}
                    {event.actor.role && <span class="muted"> · {event.actor.role.replace('_', ' ')}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager label="Pages of events" pages={pages} nextCursor={page?.next_cursor} />
    </section>
  );
}
