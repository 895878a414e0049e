// One identity's page: its owner id and meta, its limits and what is left of
// them now, the keys that belong to it, and what they all did (its usage).
// Owners and admins change its meta and limits, and delete it once no key
// belongs to it.

import { useEffect, useState } from 'preact/hooks';
import { api, ok, type ApiKey, type ApiProblem, type Identity } from '../api/client';
import { MetaRows } from '../components/access-fields';
import { ConfirmByTyping } from '../components/confirm-by-typing';
import { formatIdentityLimits } from '../components/identity-fields';
import { KeyUsageSection } from '../components/key-usage';
import { Notice } from '../components/page';
import { asProblem, ErrorSummary } from '../components/problems';
import { flash, takeFlash } from '../flash';
import { formatCount, formatTime } from '../format';
import { navigate, onLinkClick } from '../router';
import { managesCatalog, type Session } from '../session';
import { IdentityDialog } from './identities';

export function IdentityPage({ id, session }: { id: string; session: Session }) {
  const manages = managesCatalog(session.role);
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [notice, setNotice] = useState<string | null>(() => takeFlash()?.notice ?? null);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let current = true;
    ok(api.GET('/v1/identities/{id}', { params: { path: { id } } })).then(
      (read) => {
        if (!current) return;
        setIdentity(read);
        setProblem(null);
        ok(api.GET('/v1/api-keys', { params: { query: { external_id: read.external_id, include_deleted: 'false', limit: 100 } } })).then(
          (page) => current && setKeys(page.items ?? []),
          () => current && setKeys(null),
        );
      },
      (error) => current && setProblem(asProblem(error)),
    );
    return () => {
      current = false;
    };
  }, [id, reloads]);

  const back = (
    <a class="back" href="/identities" onClick={onLinkClick}>
      ← All identities
    </a>
  );
  if (!identity) {
    return (
      <section aria-labelledby="identity-title">
        {back}
        <h1 id="identity-title">Identity</h1>
        <ErrorSummary problem={problem} />
        {!problem && <p class="muted">Loading…</p>}
      </section>
    );
  }

  return (
    <section aria-labelledby="identity-title">
      {back}
      <div class="page-head">
        <div>
          <h1 id="identity-title">{identity.external_id}</h1>
          <p class="key-id">
            <code>{identity.id}</code>
          </p>
        </div>
      </div>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      {manages && (
        <div class="buttons key-actions" role="group" aria-label="What to do with this identity">
          <button type="button" class="secondary" onClick={() => setEditing(true)}>
            Change limits or meta
          </button>
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            Delete
          </button>
        </div>
      )}

      <h2>Limits its keys share</h2>
      <p>{formatIdentityLimits(identity.limits)}</p>
      {(identity.limits_left ?? []).length > 0 && (
        <dl class="summary details" aria-label="What is left now">
          {(identity.limits_left ?? []).map((left) => (
            <div key={`${left.kind}-${left.name ?? ''}`}>
              <dt>{left.kind === 'credits' ? 'Credits left' : `Left of ${left.name ?? 'the rate'}`}</dt>
              <dd>
                {formatCount(left.remaining)}{' '}
                <span class="muted">
                  {left.reset_at
                    ? `(${left.kind === 'credits' ? 'refilled' : 'the window starts again'} ${formatTime(left.reset_at)})`
                    : '(no refill)'}
                </span>
              </dd>
            </div>
          ))}
        </dl>
      )}

      <h2>Details</h2>
      <dl class="summary details">
        <div>
          <dt>Recorded</dt>
          <dd>{formatTime(identity.created_at)}</dd>
        </div>
        <div>
          <dt>Changed</dt>
          <dd>{formatTime(identity.updated_at)}</dd>
        </div>
        <div>
          <dt>Meta</dt>
          <dd>
            <MetaRows meta={identity.meta ?? undefined} />
          </dd>
        </div>
      </dl>

      <h2>Its keys</h2>
      {keys === null && <p class="muted">The keys could not be read.</p>}
      {keys?.length === 0 && <p class="muted">No key carries this owner id yet.</p>}
      {keys && keys.length > 0 && (
        <ul class="identity-keys">
          {keys.map((key) => (
            <li key={key.id}>
              <a href={`/api-keys/${key.id}`} onClick={onLinkClick}>
                {key.name}
              </a>{' '}
              <span class="muted">
                ({key.status}, {key.application_name} in {key.arx_name})
              </span>
            </li>
          ))}
        </ul>
      )}

      <KeyUsageSection of={{ identity: identity.id }} />

      {editing && (
        <IdentityDialog
          identity={identity}
          onClose={() => setEditing(false)}
          onSaved={(saved) => {
            setEditing(false);
            setIdentity(saved);
            setNotice(`The identity ${saved.external_id} was saved.`);
            setReloads((n) => n + 1);
          }}
        />
      )}
      {deleting && (
        <ConfirmByTyping
          title="Delete this identity?"
          what="its owner id"
          expected={identity.external_id}
          action="Delete identity"
          onDone={async () => {
            await ok(api.DELETE('/v1/identities/{id}', { params: { path: { id: identity.id } } }));
            flash({ notice: `The identity ${identity.external_id} was deleted.` });
            navigate('/identities');
          }}
          onClose={() => setDeleting(false)}
        >
          <p>
            Its record and its shared limits go. It can be deleted only once no key carries its owner id: delete those
            keys or change their owner first.
          </p>
        </ConfirmByTyping>
      )}
    </section>
  );
}
