// The API key dashboard: the tenant's counts as the headline, then its keys
// newest first, filtered and paged by the API's cursor, one compact row each
// (name and id, what it is for, status, last use, one actions menu); a key's
// page has the rest. Deleted keys are left out unless asked for.

import { useEffect, useState } from 'preact/hooks';
import {
  api,
  everyApplication,
  everyArx,
  ok,
  type ApiKey,
  type ApiKeyStatus,
  type ApiProblem,
  type Application,
  type Arx,
  type Counts,
  type CreatedApiKey,
} from '../api/client';
import { AccessKeyScreen } from '../components/access-key-screen';
import { CopyButton } from '../components/copy-button';
import { KeyActionDialog, menuItems, type KeyAction } from '../components/key-actions';
import { ActionsMenu } from '../components/menu';
import { Notice, PageHead } from '../components/page';
import { Pager, useCursorPages } from '../components/pager';
import { asProblem, ErrorSummary } from '../components/problems';
import { takeFlash } from '../flash';
import { capitalise, formatCount, formatTime, relativeTime, shortId } from '../format';
import { onLinkClick } from '../router';
import { clearCreateDraft } from './create-key';
import { managesCatalog, type Session } from '../session';

const PAGE_SIZE = 25;

/** The status filter: one status, every status but deleted (the default), or all. */
type StatusChoice = ApiKeyStatus | 'current' | 'all';
const STATUS_CHOICES: [StatusChoice, string][] = [
  ['current', 'Any but deleted'],
  ['active', 'Active'],
  ['disabled', 'Disabled'],
  ['expired', 'Expired'],
  ['deleted', 'Deleted'],
  ['all', 'Any, deleted too'],
];

interface Filters {
  application_id?: string;
  arx_id?: string;
  status: StatusChoice;
  name?: string;
  /** One owner's keys (`external_id`, exact). */
  external_id?: string;
  /** By creation: newest first (the API's default) or oldest first. */
  order?: 'oldest';
}

interface Page {
  items: ApiKey[];
  counts: Counts;
  next_cursor: string | null;
}

export function ApiKeys({ session }: { session: Session }) {
  const manages = managesCatalog(session.role);
  const [filters, setFilters] = useState<Filters>({ status: 'current' });
  const [search, setSearch] = useState('');
  const [ownerSearch, setOwnerSearch] = useState('');
  // On a phone the filters sit behind one button, so the keys come first.
  const [filtersOpen, setFiltersOpen] = useState(false);
  const pages = useCursorPages();
  const [page, setPage] = useState<Page | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [catalog, setCatalog] = useState<{ applications: Application[]; arx: Arx[] }>({ applications: [], arx: [] });
  const [acting, setActing] = useState<{ action: KeyAction; key: ApiKey } | null>(null);
  const [rotated, setRotated] = useState<CreatedApiKey | null>(null);
  const [flashed] = useState(takeFlash);
  const [notice, setNotice] = useState<string | null>(flashed?.notice ?? null);
  const [highlight, setHighlight] = useState<string | undefined>(flashed?.highlight);
  const [reloads, setReloads] = useState(0);
  // Verifies per key today (UTC), from the tenant's day: one read for the page.
  const [today, setToday] = useState<{ counts: Record<string, number>; truncated: boolean } | null>(null);
  const cursor = pages.cursor;

  useEffect(() => {
    Promise.all([everyApplication(), everyArx()]).then(
      ([applications, arx]) => setCatalog({ applications, arx }),
      (error) => setProblem(asProblem(error)),
    );
  }, []);

  useEffect(() => {
    let current = true;
    const { status, ...rest } = filters;
    const query = {
      ...rest,
      ...(status === 'current' ? { include_deleted: 'false' as const } : status === 'all' ? {} : { status }),
      limit: PAGE_SIZE,
      cursor,
    };
    ok(api.GET('/v1/api-keys', { params: { query } })).then(
      (next) => {
        if (!current) return;
        setPage({ items: next.items, counts: next.counts, next_cursor: next.next_cursor ?? null });
        setProblem(null);
      },
      (error) => current && setProblem(asProblem(error)),
    );
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    const from = midnight.toISOString().replace(/\.\d+Z$/, 'Z');
    ok(api.GET('/v1/usage', { params: { query: { group_by: 'key', limit: 1000, from } } })).then(
      (usage) => {
        if (!current || typeof usage === 'string') return;
        setToday({ counts: Object.fromEntries(usage.groups.map((group) => [group.id, group.total])), truncated: usage.truncated });
      },
      // The list stands without it: the column then says nothing.
      () => current && setToday(null),
    );
    return () => {
      current = false;
    };
  }, [filters, cursor, reloads]);

  function filter(change: Partial<Filters>) {
    setFilters({ ...filters, ...change });
    pages.reset();
  }

  function changed(message: string, id?: string) {
    setActing(null);
    setNotice(message);
    setHighlight(id);
    setReloads((n) => n + 1);
  }

  if (rotated) {
    return (
      <AccessKeyScreen
        created={rotated}
        onDone={() => {
          setRotated(null);
          changed(`${rotated.api_key.name} was rotated: its replacement is ${rotated.api_key.id}.`, rotated.api_key.id);
        }}
      />
    );
  }

  const filtered = Object.entries(filters).some(([name, value]) =>
    name === 'status' ? value !== 'current' : name !== 'order' && !!value,
  );
  return (
    <section aria-labelledby="keys-title">
      <PageHead id="keys-title" title="API keys">
        <a
          class="button"
          href="/api-keys/new"
          onClick={(event) => {
            // A new key starts from the first question.
            clearCreateDraft();
            onLinkClick(event);
          }}
        >
          Create API key
        </a>
        {manages && (
          <a class="button secondary" href="/api-keys/import" onClick={onLinkClick}>
            Import keys
          </a>
        )}
      </PageHead>
      <Notice text={notice} />
      <ErrorSummary problem={problem} fields={{ name: 'key-search', external_id: 'owner-search' }} />
      <CountsHeadline counts={page?.counts} />

      <button
        type="button"
        class="secondary small filters-toggle"
        aria-expanded={filtersOpen}
        aria-controls="key-filters"
        onClick={() => setFiltersOpen(!filtersOpen)}
      >
        {filtered ? 'Filters (some on)' : 'Filters'}
      </button>
      <form
        id="key-filters"
        class={filtersOpen ? 'filters open' : 'filters'}
        aria-label="Filter keys"
        onSubmit={(event) => {
          event.preventDefault();
          filter({ name: search.trim() || undefined, external_id: ownerSearch.trim() || undefined });
        }}
      >
        <label>
          Application
          <select
            value={filters.application_id ?? ''}
            onChange={(event) => filter({ application_id: event.currentTarget.value || undefined })}
          >
            <option value="">All applications</option>
            {catalog.applications.map((application) => (
              <option key={application.id} value={application.id}>
                {application.name}
                {application.status === 'archived' ? ' (archived)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Arx
          <select value={filters.arx_id ?? ''} onChange={(event) => filter({ arx_id: event.currentTarget.value || undefined })}>
            <option value="">All Arx</option>
            {catalog.arx.map((arx) => (
              <option key={arx.id} value={arx.id}>
                {arx.name}
                {arx.status !== 'active' ? ` (${arx.status})` : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={filters.status} onChange={(event) => filter({ status: event.currentTarget.value as StatusChoice })}>
            {STATUS_CHOICES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order
          <select
            value={filters.order ?? 'newest'}
            onChange={(event) => filter({ order: event.currentTarget.value === 'oldest' ? 'oldest' : undefined })}
          >
            <option value="newest">Newest first</option>
            <option value="oldest">Oldest first</option>
          </select>
        </label>
        <div class="search">
          <label for="key-search">Name contains</label>
          <input id="key-search" type="search" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
        </div>
        <div class="search">
          <label for="owner-search">Owner</label>
          <div class="search-row">
            <input
              id="owner-search"
              type="search"
              spellcheck={false}
              value={ownerSearch}
              onInput={(event) => setOwnerSearch(event.currentTarget.value)}
            />
            <button type="submit" class="secondary">
              Search
            </button>
          </div>
        </div>
      </form>

      {page && page.items.length === 0 && (
        <div class="empty-state">
          {filtered ? (
            <p>No key matches these filters. Change or clear them to see more.</p>
          ) : (
            <>
              <p>
                <strong>No API keys yet.</strong> A key lets one application call one Arx: create it here, give it to
                the application's service, and have your API check it at each request.
              </p>
              <a
                class="button"
                href="/api-keys/new"
                onClick={(event) => {
                  clearCreateDraft();
                  onLinkClick(event);
                }}
              >
                Create the first API key
              </a>
            </>
          )}
        </div>
      )}
      {page && page.items.length > 0 && (
        <table class="keys">
          <caption class="visually-hidden">API keys, {filters.order === 'oldest' ? 'oldest' : 'newest'} first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">For</th>
              <th scope="col">Status</th>
              <th scope="col">Last used</th>
              <th scope="col" title="Verifies since midnight UTC">
                Today
              </th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((key) => (
              <tr key={key.id} class={key.id === highlight ? 'highlight' : undefined}>
                <td data-label="Name">
                  <a href={`/api-keys/${key.id}`} onClick={onLinkClick} class="key-name">
                    {key.name}
                  </a>
                  <span class="key-id">
                    <code title={key.id}>
                      <span aria-hidden="true">{shortId(key.id)}</span>
                      <span class="visually-hidden">{key.id}</span>
                    </code>
                    <CopyButton text={key.id} label={`Copy key id ${key.id}`} />
                  </span>
                </td>
                <td data-label="For">
                  {key.application_name} · {key.arx_name}
                  {key.external_id && <span class="owner">Owner {key.external_id}</span>}
                </td>
                <td data-label="Status">
                  <StatusBadges apiKey={key} />
                </td>
                <td data-label="Last used">
                  <span title={key.last_used_at ? formatTime(key.last_used_at) : undefined}>
                    {key.last_used_at ? relativeTime(key.last_used_at) : 'Never'}
                  </span>
                </td>
                <td data-label="Today" class="number">
                  {today === null ? '—' : today.counts[key.id] !== undefined ? formatCount(today.counts[key.id]!) : today.truncated ? '—' : '0'}
                </td>
                <td class="actions">
                  <ActionsMenu
                    label={`Actions for ${key.name} (${key.id})`}
                    items={menuItems(key, manages, (action) => setActing({ action, key }))}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && (pages.hasPrevious || page.next_cursor) && (
        <Pager label="Pages of keys" pages={pages} nextCursor={page.next_cursor} />
      )}

      {acting && (
        <KeyActionDialog
          action={acting.action}
          apiKey={acting.key}
          manages={manages}
          onClose={() => setActing(null)}
          onChanged={(message) => changed(message, acting.key.id)}
          onDeleted={(message) => changed(message)}
          onRotated={(created) => {
            setActing(null);
            setRotated(created);
          }}
        />
      )}
    </section>
  );
}

/** A key's status, and what qualifies it (leaked, replaced, expiring). */
export function StatusBadges({ apiKey }: { apiKey: ApiKey }) {
  return (
    <span class="badges">
      <span class={`status status-${apiKey.status}`}>{capitalise(apiKey.status)}</span>
      {apiKey.status === 'disabled' && apiKey.disabled_reason === 'leaked' && (
        <span class="status status-leaked">Leaked</span>
      )}
      {apiKey.rotated_to && apiKey.status === 'active' && (
        <span class="status status-expiring" title={`Works until ${formatTime(apiKey.expires_at)}`}>
          Replaced
        </span>
      )}
      {apiKey.expires_soon && !apiKey.rotated_to && <span class="status status-expiring">Expires soon</span>}
    </span>
  );
}

function CountsHeadline({ counts }: { counts: Counts | undefined }) {
  const shown: [string, number | undefined][] = [
    ['Total', counts?.total],
    ['Active', counts?.active],
    ['Disabled', counts?.disabled],
    ['Expired', counts?.expired],
    ['Deleted', counts?.deleted],
  ];
  return (
    <dl class="counts" aria-label="Key counts">
      {shown.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value ?? '…'}</dd>
        </div>
      ))}
    </dl>
  );
}
