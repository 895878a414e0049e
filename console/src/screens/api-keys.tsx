// The API key dashboard: the tenant's counts as the headline, then its keys
// newest first, filtered and paged by the API's cursor. Deleting asks for the
// key's exact id; the list and the counts update at once.

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
import { Dialog, SubmitOrCancel } from '../components/dialog';
import { AccessKeyScreen } from '../components/access-key-screen';
import { ConfirmByTyping } from '../components/confirm-by-typing';
import { LimitsDialog } from '../components/limits-dialog';
import { CopyButton } from '../components/copy-button';
import { Pager, useCursorPages } from '../components/pager';
import { Notice, PageHead } from '../components/page';
import { asProblem, ErrorSummary } from '../components/problems';
import { capitalise, formatLimits, formatTime } from '../format';
import { onLinkClick } from '../router';
import { managesCatalog, type Session } from '../session';

const STATUSES: ApiKeyStatus[] = ['active', 'disabled', 'expired', 'deleted'];
const PAGE_SIZE = 25;

interface Filters {
  application_id?: string;
  arx_id?: string;
  status?: ApiKeyStatus;
}

interface Page {
  items: ApiKey[];
  counts: Counts;
  next_cursor: string | null;
}

export function ApiKeys({ session }: { session: Session }) {
  // Suspending and resuming keys is for owners and admins, as is the catalog.
  const suspends = managesCatalog(session.role);
  const [filters, setFilters] = useState<Filters>({});
  const pages = useCursorPages();
  const [page, setPage] = useState<Page | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [catalog, setCatalog] = useState<{ applications: Application[]; arx: Arx[] }>({ applications: [], arx: [] });
  const [deleting, setDeleting] = useState<ApiKey | null>(null);
  const [rotating, setRotating] = useState<ApiKey | null>(null);
  const [limiting, setLimiting] = useState<ApiKey | null>(null);
  const [rotated, setRotated] = useState<CreatedApiKey | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const cursor = pages.cursor;

  useEffect(() => {
    Promise.all([everyApplication(), everyArx()]).then(
      ([applications, arx]) => setCatalog({ applications, arx }),
      (error) => setProblem(asProblem(error)),
    );
  }, []);

  useEffect(() => {
    let current = true;
    ok(api.GET('/v1/api-keys', { params: { query: { ...filters, limit: PAGE_SIZE, cursor } } })).then(
      (next) => {
        if (!current) return;
        setPage({ items: next.items, counts: next.counts, next_cursor: next.next_cursor ?? null });
        setProblem(null);
      },
      (error) => current && setProblem(asProblem(error)),
    );
    return () => {
      current = false;
    };
  }, [filters, cursor, reloads]);

  function filter(change: Filters) {
    setFilters({ ...filters, ...change });
    pages.reset();
  }

  async function suspend(key: ApiKey, action: 'disable' | 'enable') {
    try {
      const path = action === 'disable' ? '/v1/api-keys/{id}/disable' : '/v1/api-keys/{id}/enable';
      await ok(api.POST(path, { params: { path: { id: key.id } } }));
      setNotice(
        action === 'disable'
          ? `Key ${key.id} was disabled. Services using it are refused until it is enabled.`
          : `Key ${key.id} was enabled. It works again.`,
      );
      setReloads((n) => n + 1);
    } catch (error) {
      setProblem(asProblem(error));
    }
  }

  async function remove(key: ApiKey, typed: string) {
    await ok(api.DELETE('/v1/api-keys/{id}', { params: { path: { id: key.id } }, body: { confirm: typed } }));
    setDeleting(null);
    setNotice(`Key ${key.id} was deleted. It stops working at once.`);
    setReloads((n) => n + 1);
  }

  if (rotated) {
    return (
      <AccessKeyScreen
        created={rotated}
        onDone={() => {
          setRotated(null);
          setNotice(`Key ${rotated.api_key.rotated_from} was rotated. Its replacement is ${rotated.api_key.id}.`);
          setReloads((n) => n + 1);
        }}
      />
    );
  }

  return (
    <section aria-labelledby="keys-title">
      <PageHead id="keys-title" title="API keys">
        <a class="button" href="/api-keys/new" onClick={onLinkClick}>
          Create API key
        </a>
      </PageHead>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      <CountsHeadline counts={page?.counts} />

      <form class="filters" onSubmit={(event) => event.preventDefault()} aria-label="Filter keys">
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
          <select
            value={filters.status ?? ''}
            onChange={(event) => filter({ status: (event.currentTarget.value || undefined) as ApiKeyStatus | undefined })}
          >
            <option value="">Any status</option>
            {STATUSES.map((status) => (
              <option key={status} value={status}>
                {capitalise(status)}
              </option>
            ))}
          </select>
        </label>
      </form>

      {page && page.items.length === 0 && (
        <p class="empty">
          {Object.values(filters).some(Boolean) ? 'No key matches these filters.' : 'No API keys yet. Create the first one.'}
        </p>
      )}
      {page && page.items.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">API keys, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Key id</th>
                <th scope="col">Name</th>
                <th scope="col">Application</th>
                <th scope="col">Arx</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Limits</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((key) => (
                <tr key={key.id}>
                  <td class="key-id">
                    <code>{key.id}</code>
                    <CopyButton text={key.id} label={`Copy key id ${key.id}`} class="on-hover" />
                  </td>
                  <td>{key.name}</td>
                  <td>{key.application_name}</td>
                  <td>
                    {key.arx_name} <span class="muted">({key.arx_purpose})</span>
                  </td>
                  <td>
                    <span class={`status status-${key.status}`}>{capitalise(key.status)}</span>
                    {key.status === 'disabled' && key.disabled_reason === 'leaked' && (
                      <>
                        <br />
                        <span class="status status-leaked">Leaked: found in public code</span>
                      </>
                    )}
                    {key.rotated_to && key.status === 'active' && (
                      <>
                        <br />
                        <span class="muted">replaced; works until {formatTime(key.expires_at)}</span>
                      </>
                    )}
                  </td>
                  <td>
                    {formatTime(key.created_at)}
                    <br />
                    <span class="muted">by {key.created_by}</span>
                  </td>
                  <td>
                    {formatTime(key.expires_at)}
                    {key.expires_soon && !key.rotated_to && (
                      <>
                        <br />
                        <span class="status status-expiring">Expires soon</span>
                      </>
                    )}
                  </td>
                  <td>{formatTime(key.last_used_at)}</td>
                  <td>
                    {key.limits ? (
                      <button
                        type="button"
                        class="link"
                        onClick={() => setLimiting(key)}
                        aria-label={`Limits of key ${key.id}: ${formatLimits(key.limits)}`}
                      >
                        {formatLimits(key.limits)}
                      </button>
                    ) : (
                      <span class="muted">None</span>
                    )}
                  </td>
                  <td class="actions">
                    {(key.status === 'active' || key.status === 'disabled') && !key.rotated_to && (
                      <button type="button" class="secondary small" onClick={() => setRotating(key)} aria-label={`Rotate key ${key.id}`}>
                        Rotate
                      </button>
                    )}
                    {suspends && (key.status === 'active' || key.status === 'disabled') && (
                      <button type="button" class="secondary small" onClick={() => setLimiting(key)} aria-label={`Set limits of key ${key.id}`}>
                        Limits
                      </button>
                    )}
                    {suspends && key.status === 'active' && (
                      <button type="button" class="secondary small" onClick={() => suspend(key, 'disable')} aria-label={`Disable key ${key.id}`}>
                        Disable
                      </button>
                    )}
                    {suspends && key.status === 'disabled' && (
                      <button type="button" class="secondary small" onClick={() => suspend(key, 'enable')} aria-label={`Enable key ${key.id}`}>
                        Enable
                      </button>
                    )}
                    {key.status !== 'deleted' && (
                      <button type="button" class="danger small" onClick={() => setDeleting(key)} aria-label={`Delete key ${key.id}`}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager label="Pages of keys" pages={pages} nextCursor={page?.next_cursor} />

      {rotating && (
        <RotateDialog
          apiKey={rotating}
          onRotated={(created) => {
            setRotating(null);
            setRotated(created);
          }}
          onClose={() => setRotating(null)}
        />
      )}
      {limiting && (
        <LimitsDialog
          apiKey={limiting}
          editable={suspends && (limiting.status === 'active' || limiting.status === 'disabled')}
          onSaved={(key) => {
            setLimiting(null);
            setNotice(`The limits of key ${key.id} are now: ${formatLimits(key.limits)}. Its counters start afresh.`);
            setReloads((n) => n + 1);
          }}
          onClose={() => setLimiting(null)}
        />
      )}
      {deleting && (
        <ConfirmByTyping
          title="Delete this API key?"
          what="the key's id"
          expected={deleting.id}
          action="Delete key"
          onDone={(typed) => remove(deleting, typed)}
          onClose={() => setDeleting(null)}
        >
          <p>
            <strong>{deleting.name}</strong> for {deleting.application_name} in {deleting.arx_name}. Services using it are
            refused at once. This cannot be undone.
          </p>
        </ConfirmByTyping>
      )}
    </section>
  );
}

const GRACE_CHOICES: [number, string][] = [
  [3600, 'One hour'],
  [86_400, 'One day'],
  [604_800, 'Seven days'],
  [0, 'None: the old key stops at once'],
];

/** Rotation: how long the old key keeps working beside its replacement. */
function RotateDialog({
  apiKey,
  onRotated,
  onClose,
}: {
  apiKey: ApiKey;
  onRotated: (created: CreatedApiKey) => void;
  onClose: () => void;
}) {
  const [grace, setGrace] = useState(86_400);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const created = await ok(
        api.POST('/v1/api-keys/{id}/rotate', { params: { path: { id: apiKey.id } }, body: { grace_seconds: grace } }),
      );
      onRotated(created);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Rotate this API key?" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ grace_seconds: 'grace-86400' }} />
        <p>
          A new key for <strong>{apiKey.name}</strong> ({apiKey.application_name} in {apiKey.arx_name}), shown once. The
          old key keeps working for the overlap you choose, so services can switch without an outage.
        </p>
        <fieldset class="field">
          <legend>How long may the old key keep working?</legend>
          {GRACE_CHOICES.map(([seconds, label]) => (
            <label class="inline" key={seconds}>
              <input type="radio" name="grace" id={`grace-${seconds}`} checked={grace === seconds} onChange={() => setGrace(seconds)} />
              {label}
            </label>
          ))}
        </fieldset>
        <SubmitOrCancel action="Rotate key" busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
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
