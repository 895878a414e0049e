// Rate limits: the organisation's namespaces of limits for anything its
// services count (sign-in attempts per address, messages per phone number),
// each with the limit an identifier gets. Everyone who reads keys sees them;
// owners and admins make, change and delete them. One opens on its own page
// (its overrides and what it let through and limited).

import { useState } from 'preact/hooks';
import { api, everyNamespace, ok, type ApiProblem, type RateLimitNamespace } from '../api/client';
import { useCatalogList } from '../components/catalog-list';
import { ConfirmByTyping } from '../components/confirm-by-typing';
import { Dialog, SubmitOrCancel } from '../components/dialog';
import { Notice, PageHead } from '../components/page';
import { asProblem, ErrorSummary, FieldError, isAbout, localProblem } from '../components/problems';
import { formatCount, formatTime } from '../format';
import { onLinkClick } from '../router';
import { managesCatalog, type Session } from '../session';

const NAMESPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** The units a window is given in, and their seconds (a window is at most a day). */
export const UNITS: [string, number][] = [
  ['seconds', 1],
  ['minutes', 60],
  ['hours', 3600],
  ['days', 86_400],
];

/** "5 per minute", "100 per 10 seconds". */
export function formatLimit(limit: number, duration: number): string {
  const per = (() => {
    for (const [unit, seconds] of [...UNITS].reverse()) {
      if (duration % seconds !== 0) continue;
      const n = duration / seconds;
      const singular = unit.slice(0, -1);
      return n === 1 ? singular : `${formatCount(n)} ${unit}`;
    }
    return `${formatCount(duration)} seconds`;
  })();
  return `${formatCount(limit)} per ${per}`;
}

/** A window as a number and a unit, the largest unit that divides it. */
export function windowParts(duration: number): { amount: string; unit: string } {
  const [unit, seconds] = [...UNITS].reverse().find(([, seconds]) => duration % seconds === 0) ?? UNITS[0]!;
  return { amount: String(duration / seconds), unit };
}

/** The limit and its window from what was typed, or the problem with them. */
export function parseLimit(
  limit: string,
  amount: string,
  unit: string,
): { limit: number; duration: number } | { problem: ApiProblem } {
  const requests = Number(limit.trim());
  if (!/^\d+$/.test(limit.trim()) || requests < 1 || requests > 1_000_000) {
    return { problem: localProblem('limit', 'The limit must be a whole number from 1 to 1,000,000.') };
  }
  const seconds = UNITS.find(([name]) => name === unit)?.[1] ?? 1;
  const duration = Number(amount.trim()) * seconds;
  if (!/^\d+$/.test(amount.trim()) || duration < 1 || duration > 86_400) {
    return { problem: localProblem('duration', 'The window must be a whole number of seconds, minutes or hours, from 1 second to 1 day.') };
  }
  return { limit: requests, duration };
}

export function RateLimits({ session }: { session: Session }) {
  const manages = managesCatalog(session.role);
  const { items: namespaces, problem, notice, changed } = useCatalogList(everyNamespace);
  const [editing, setEditing] = useState<RateLimitNamespace | 'new' | null>(null);
  const [deleting, setDeleting] = useState<RateLimitNamespace | null>(null);

  return (
    <section aria-labelledby="rate-limits-title">
      <PageHead id="rate-limits-title" title="Rate limits">
        {manages && (
          <button type="button" onClick={() => setEditing('new')}>
            Create rate limit
          </button>
        )}
      </PageHead>
      <p class="hint">
        A rate limit counts anything your services name: sign-in attempts per address, messages per phone number, exports
        per user. Each identifier gets the limit below, unless an override gives it its own.
      </p>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      {namespaces && namespaces.length === 0 && <p class="empty">No rate limits yet.</p>}
      {namespaces && namespaces.length > 0 && (
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Rate limits, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Limit</th>
                <th scope="col">If the API is out of reach</th>
                <th scope="col">Overrides</th>
                <th scope="col">Changed</th>
                {manages && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {namespaces.map((namespace) => (
                <tr key={namespace.id}>
                  <td>
                    <a href={`/rate-limits/${namespace.id}`} onClick={onLinkClick}>
                      <strong>{namespace.name}</strong>
                    </a>
                  </td>
                  <td data-label="Limit">{formatLimit(namespace.limit, namespace.duration)}</td>
                  <td data-label="If the API is out of reach">{namespace.fail_open ? 'Let requests through' : 'Refuse requests'}</td>
                  <td data-label="Overrides">{formatCount(namespace.override_count)}</td>
                  <td data-label="Changed">{formatTime(namespace.updated_at)}</td>
                  {manages && (
                    <td class="actions">
                      <div class="buttons">
                        <button type="button" class="secondary small" onClick={() => setEditing(namespace)} aria-label={`Change ${namespace.name}`}>
                          Change
                        </button>
                        <button type="button" class="danger small" onClick={() => setDeleting(namespace)} aria-label={`Delete ${namespace.name}`}>
                          Delete
                        </button>
                      </div>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <NamespaceDialog
          namespace={editing === 'new' ? undefined : editing}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null);
            changed(`The rate limit ${saved.name} was saved.`);
          }}
        />
      )}
      {deleting && (
        <ConfirmByTyping
          title="Delete this rate limit?"
          what="the rate limit's name"
          expected={deleting.name}
          action="Delete rate limit"
          onDone={async () => {
            await ok(api.DELETE('/v1/ratelimit-namespaces/{id}', { params: { path: { id: deleting.id } } }));
            setDeleting(null);
            changed(`The rate limit ${deleting.name} was deleted.`);
          }}
          onClose={() => setDeleting(null)}
        >
          <p>
            Checks in <strong>{deleting.name}</strong> are refused from then on, so the services that use it fail. One made
            later with the same name starts counting afresh.
          </p>
        </ConfirmByTyping>
      )}
    </section>
  );
}

/** The limit and its window, as two fields and a unit; `prefix` keeps the ids apart. */
export function LimitFields({
  prefix,
  limit,
  amount,
  unit,
  problem,
  onChange,
}: {
  prefix: string;
  limit: string;
  amount: string;
  unit: string;
  problem: ApiProblem | null;
  onChange: (change: { limit?: string; amount?: string; unit?: string }) => void;
}) {
  const limitBad = isAbout(problem, 'limit');
  const windowBad = isAbout(problem, 'duration');
  return (
    <>
      <div class="field">
        <label for={`${prefix}-limit`}>Requests allowed</label>
        <FieldError problem={problem} field="limit" id={`${prefix}-limit-error`} />
        <input
          id={`${prefix}-limit`}
          inputMode="numeric"
          autocomplete="off"
          value={limit}
          aria-invalid={limitBad}
          aria-describedby={limitBad ? `${prefix}-limit-error` : undefined}
          onInput={(event) => onChange({ limit: event.currentTarget.value })}
        />
      </div>
      <fieldset class="field">
        <legend>In each window of</legend>
        <p class="hint" id={`${prefix}-window-hint`}>
          Windows start on the clock (a minute's window at each whole minute), from 1 second to 1 day.
        </p>
        <FieldError problem={problem} field="duration" id={`${prefix}-window-error`} />
        <div class="inline-fields">
          <div>
            <label class="visually-hidden" for={`${prefix}-window`}>
              Window length
            </label>
            <input
              id={`${prefix}-window`}
              inputMode="numeric"
              autocomplete="off"
              value={amount}
              aria-invalid={windowBad}
              aria-describedby={[`${prefix}-window-hint`, windowBad && `${prefix}-window-error`].filter(Boolean).join(' ')}
              onInput={(event) => onChange({ amount: event.currentTarget.value })}
            />
          </div>
          <div>
            <label class="visually-hidden" for={`${prefix}-unit`}>
              Window unit
            </label>
            <select id={`${prefix}-unit`} value={unit} onChange={(event) => onChange({ unit: event.currentTarget.value })}>
              {UNITS.map(([name]) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        </div>
      </fieldset>
    </>
  );
}

function NamespaceDialog({
  namespace,
  onSaved,
  onClose,
}: {
  namespace?: RateLimitNamespace;
  onSaved: (namespace: RateLimitNamespace) => void;
  onClose: () => void;
}) {
  const start = namespace ? windowParts(namespace.duration) : { amount: '1', unit: 'minutes' };
  const [name, setName] = useState(namespace?.name ?? '');
  const [limit, setLimit] = useState(namespace ? String(namespace.limit) : '');
  const [amount, setAmount] = useState(start.amount);
  const [unit, setUnit] = useState(start.unit);
  const [failOpen, setFailOpen] = useState(namespace?.fail_open ?? false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (!namespace && !NAMESPACE_NAME.test(name.trim())) {
      return setProblem(localProblem('name', 'The name must be up to 64 letters, digits and . _ : -, starting with a letter or digit.'));
    }
    const parsed = parseLimit(limit, amount, unit);
    if ('problem' in parsed) return setProblem(parsed.problem);
    setBusy(true);
    setProblem(null);
    try {
      const body = { ...parsed, fail_open: failOpen };
      const saved = namespace
        ? await ok(api.PATCH('/v1/ratelimit-namespaces/{id}', { params: { path: { id: namespace.id } }, body }))
        : await ok(api.POST('/v1/ratelimit-namespaces', { body: { name: name.trim(), ...body } }));
      onSaved(saved);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  const nameBad = isAbout(problem, 'name');
  return (
    <Dialog title={namespace ? `Change the rate limit ${namespace.name}` : 'Create a rate limit'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ name: 'namespace-name', limit: 'namespace-limit', duration: 'namespace-window' }} />
        {!namespace && (
          <div class="field">
            <label for="namespace-name">Name</label>
            <p class="hint" id="namespace-name-hint">
              How your services name it when they check, such as <code>sign-in</code>. It cannot change later.
            </p>
            <FieldError problem={problem} field="name" id="namespace-name-error" />
            <input
              id="namespace-name"
              maxLength={64}
              spellcheck={false}
              autocomplete="off"
              value={name}
              aria-invalid={nameBad}
              aria-describedby={['namespace-name-hint', nameBad && 'namespace-name-error'].filter(Boolean).join(' ')}
              onInput={(event) => setName(event.currentTarget.value)}
            />
          </div>
        )}
        <LimitFields
          prefix="namespace"
          limit={limit}
          amount={amount}
          unit={unit}
          problem={problem}
          onChange={(change) => {
            if (change.limit !== undefined) setLimit(change.limit);
            if (change.amount !== undefined) setAmount(change.amount);
            if (change.unit !== undefined) setUnit(change.unit);
          }}
        />
        <div class="field">
          <div class="checkbox">
            <input
              id="namespace-fail-open"
              type="checkbox"
              checked={failOpen}
              aria-describedby="namespace-fail-open-hint"
              onChange={(event) => setFailOpen(event.currentTarget.checked)}
            />
            <label for="namespace-fail-open">Let requests through when the API cannot be reached</label>
          </div>
          <p class="hint" id="namespace-fail-open-hint">
            Leave this off for limits that protect you, such as sign-in attempts: an attacker could otherwise wait for an outage.
          </p>
        </div>
        {namespace && <p class="hint">A new limit counts afresh from the next check.</p>}
        <SubmitOrCancel action={namespace ? 'Save' : 'Create rate limit'} busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
