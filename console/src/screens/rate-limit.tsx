// One rate limit's page: its limit, its overrides (an identifier or a
// pattern with its own limit), what it let through and limited per hour or
// day, and who it limited most today. Owners and admins set and remove
// overrides; everyone who reads keys reads it.

import { useEffect, useState } from 'preact/hooks';
import {
  api,
  ok,
  type ApiProblem,
  type NamespaceUsage,
  type RateLimitNamespace,
  type RateLimitOverrides,
} from '../api/client';
import { Dialog, SubmitOrCancel } from '../components/dialog';
import { KeyUsageSection } from '../components/key-usage';
import { Notice } from '../components/page';
import { asProblem, ErrorSummary, FieldError, isAbout, localProblem } from '../components/problems';
import { formatCount, formatTime } from '../format';
import { onLinkClick } from '../router';
import { managesCatalog, type Session } from '../session';
import { formatLimit, LimitFields, parseLimit, windowParts } from './rate-limits';

type Override = RateLimitOverrides['items'][number];

export function RateLimitPage({ id, session }: { id: string; session: Session }) {
  const manages = managesCatalog(session.role);
  const [namespace, setNamespace] = useState<RateLimitNamespace | null>(null);
  const [overrides, setOverrides] = useState<Override[] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Override | 'new' | null>(null);
  const [removing, setRemoving] = useState<Override | null>(null);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let current = true;
    const path = { params: { path: { id } } };
    Promise.all([
      ok(api.GET('/v1/ratelimit-namespaces/{id}', path)),
      ok(api.GET('/v1/ratelimit-namespaces/{id}/overrides', path)),
    ]).then(
      ([read, listed]) => current && (setNamespace(read), setOverrides(listed.items), setProblem(null)),
      (error) => current && setProblem(asProblem(error)),
    );
    return () => {
      current = false;
    };
  }, [id, reloads]);

  const back = (
    <a class="back" href="/rate-limits" onClick={onLinkClick}>
      ← All rate limits
    </a>
  );
  if (!namespace) {
    return (
      <section aria-labelledby="rate-limit-title">
        {back}
        <h1 id="rate-limit-title">Rate limit</h1>
        <ErrorSummary problem={problem} />
        {!problem && <p class="muted">Loading…</p>}
      </section>
    );
  }
  const changed = (message: string) => {
    setNotice(message);
    setReloads((n) => n + 1);
  };
  return (
    <section aria-labelledby="rate-limit-title">
      {back}
      <h1 id="rate-limit-title">{namespace.name}</h1>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      <dl class="summary details" aria-label="This rate limit">
        <div>
          <dt>Limit</dt>
          <dd>{formatLimit(namespace.limit, namespace.duration)} per identifier</dd>
        </div>
        <div>
          <dt>If the API is out of reach</dt>
          <dd>{namespace.fail_open ? 'Clients let requests through' : 'Clients refuse requests'}</dd>
        </div>
        <div>
          <dt>Changed</dt>
          <dd>{formatTime(namespace.updated_at)}</dd>
        </div>
      </dl>

      <section aria-labelledby="overrides-title">
        <div class="section-head">
          <h2 id="overrides-title">Overrides</h2>
          {manages && (
            <button type="button" class="secondary" onClick={() => setEditing('new')}>
              Add an override
            </button>
          )}
        </div>
        <p class="hint">
          An identifier, or a pattern where <code>*</code> stands for anything (<code>*@example.com</code>), with a limit of its
          own. An exact identifier comes first, then the longest pattern that fits.
        </p>
        {overrides && overrides.length === 0 && <p class="empty">No overrides: every identifier gets the limit above.</p>}
        {overrides && overrides.length > 0 && (
          <div class="table-wrap">
            <table class="stacked">
              <caption class="visually-hidden">Overrides, by identifier</caption>
              <thead>
                <tr>
                  <th scope="col">Identifier or pattern</th>
                  <th scope="col">Limit</th>
                  <th scope="col">Set</th>
                  {manages && (
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {overrides.map((each) => (
                  <tr key={each.identifier}>
                    <td>
                      <code class="identifier">{each.identifier}</code>
                    </td>
                    <td data-label="Limit">{formatLimit(each.limit, each.duration)}</td>
                    <td data-label="Set">{formatTime(each.updated_at)}</td>
                    {manages && (
                      <td class="actions">
                        <div class="buttons">
                          <button type="button" class="secondary small" onClick={() => setEditing(each)} aria-label={`Change the override for ${each.identifier}`}>
                            Change
                          </button>
                          <button type="button" class="danger small" onClick={() => setRemoving(each)} aria-label={`Remove the override for ${each.identifier}`}>
                            Remove
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
      </section>

      <KeyUsageSection
        of={{ namespace: namespace.id }}
        reloads={reloads}
        more={(usage) => 'top_limited' in usage && <LimitedMost usage={usage} />}
      />

      {editing && (
        <OverrideDialog
          namespace={namespace}
          current={editing === 'new' ? undefined : editing}
          onClose={() => setEditing(null)}
          onSaved={(identifier) => {
            setEditing(null);
            changed(`The override for ${identifier} was saved.`);
          }}
        />
      )}
      {removing && (
        <RemoveOverride
          namespace={namespace}
          current={removing}
          onClose={() => setRemoving(null)}
          onRemoved={() => {
            setRemoving(null);
            changed(`The override for ${removing.identifier} was removed.`);
          }}
        />
      )}
    </section>
  );
}

function OverrideDialog({
  namespace,
  current,
  onSaved,
  onClose,
}: {
  namespace: RateLimitNamespace;
  current?: Override;
  onSaved: (identifier: string) => void;
  onClose: () => void;
}) {
  const start = windowParts(current?.duration ?? namespace.duration);
  const [identifier, setIdentifier] = useState(current?.identifier ?? '');
  const [limit, setLimit] = useState(String(current?.limit ?? namespace.limit));
  const [amount, setAmount] = useState(start.amount);
  const [unit, setUnit] = useState(start.unit);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const text = identifier.trim();
    if (!text || [...text].length > 256 || /\p{Cc}/u.test(text)) {
      return setProblem(localProblem('identifier', 'The identifier must be 1 to 256 characters, on one line.'));
    }
    const parsed = parseLimit(limit, amount, unit);
    if ('problem' in parsed) return setProblem(parsed.problem);
    setBusy(true);
    setProblem(null);
    try {
      await ok(
        api.PUT('/v1/ratelimit-namespaces/{id}/overrides', {
          params: { path: { id: namespace.id } },
          body: { identifier: text, ...parsed },
        }),
      );
      onSaved(text);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  const identifierBad = isAbout(problem, 'identifier');
  return (
    <Dialog title={current ? `Change the override for ${current.identifier}` : 'Add an override'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ identifier: 'override-identifier', limit: 'override-limit', duration: 'override-window' }} />
        {!current && (
          <div class="field">
            <label for="override-identifier">Identifier or pattern</label>
            <p class="hint" id="override-identifier-hint">
              As your services send it (an address, an e-mail, a user id); <code>*</code> stands for anything.
            </p>
            <FieldError problem={problem} field="identifier" id="override-identifier-error" />
            <input
              id="override-identifier"
              maxLength={256}
              spellcheck={false}
              autocomplete="off"
              value={identifier}
              aria-invalid={identifierBad}
              aria-describedby={['override-identifier-hint', identifierBad && 'override-identifier-error'].filter(Boolean).join(' ')}
              onInput={(event) => setIdentifier(event.currentTarget.value)}
            />
          </div>
        )}
        <LimitFields
          prefix="override"
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
        <p class="hint">Services use it within a few seconds; a new limit counts afresh.</p>
        <SubmitOrCancel action={current ? 'Save' : 'Add override'} busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

function RemoveOverride({
  namespace,
  current,
  onRemoved,
  onClose,
}: {
  namespace: RateLimitNamespace;
  current: Override;
  onRemoved: () => void;
  onClose: () => void;
}) {
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  async function remove(event: Event) {
    event.preventDefault();
    setBusy(true);
    try {
      await ok(
        api.DELETE('/v1/ratelimit-namespaces/{id}/overrides', {
          params: { path: { id: namespace.id } },
          body: { identifier: current.identifier },
        }),
      );
      onRemoved();
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }
  return (
    <Dialog title="Remove this override?" onClose={onClose}>
      <form onSubmit={remove}>
        <ErrorSummary problem={problem} />
        <p>
          <code class="identifier">{current.identifier}</code> gets the limit of {namespace.name} again (
          {formatLimit(namespace.limit, namespace.duration)}), or of a pattern that fits it.
        </p>
        <SubmitOrCancel action="Remove override" busy={busy} onCancel={onClose} danger />
      </form>
    </Dialog>
  );
}

/** Who the rate limit limited most today, from its usage. */
function LimitedMost({ usage }: { usage: NamespaceUsage }) {
  return (
    <>
      <h3>Limited most today</h3>
      {usage.top_limited.length === 0 ? (
        <p class="muted">No identifier was limited today.</p>
      ) : (
        <ol class="top-limited" aria-label="Limited most today">
          {usage.top_limited.map((each) => (
            <li key={each.identifier}>
              <code class="identifier">{each.identifier}</code>: {formatCount(each.limited)}{' '}
              {each.limited === 1 ? 'time' : 'times'}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
