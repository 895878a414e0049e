// One API key's page: everything about it (status, what it is for, when it
// was made, expires and was last used, its limits and what is left of them,
// the keys it replaced or was replaced by, what it may do and who owns it,
// what it did (its usage), its history) and what can be done to it.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ok, type ApiKey, type ApiProblem, type CreatedApiKey, type Identity } from '../api/client';
import type { components } from '../api/schema';
import { AccessDialog, AllowlistText, MetaRows, PermissionList } from '../components/access-fields';
import { AccessKeyScreen } from '../components/access-key-screen';
import { CopyButton } from '../components/copy-button';
import { actionsFor, KeyActionDialog, type KeyAction } from '../components/key-actions';
import { KeyUsageSection } from '../components/key-usage';
import { BalanceNow } from '../components/limits-dialog';
import { Notice } from '../components/page';
import { asProblem, ErrorSummary } from '../components/problems';
import { flash, takeFlash } from '../flash';
import { formatLimits, formatTime, relativeTime, authorName } from '../format';
import { navigate, onLinkClick } from '../router';
import { managesCatalog, type Session } from '../session';
import { StatusBadges } from './api-keys';
import { ACTION_NAMES, actorName } from './audit';

type AuditEvent = components['schemas']['AuditEvent'];

const BUTTONS: Record<KeyAction, string> = {
  rotate: 'Rotate',
  limits: 'Limits',
  disable: 'Disable',
  enable: 'Enable',
  delete: 'Delete',
};

export function KeyPage({ id, session }: { id: string; session: Session }) {
  const manages = managesCatalog(session.role);
  const [key, setKey] = useState<ApiKey | null>(null);
  const [history, setHistory] = useState<AuditEvent[] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [notice, setNotice] = useState<string | null>(() => takeFlash()?.notice ?? null);
  const [acting, setActing] = useState<KeyAction | null>(null);
  const [rotated, setRotated] = useState<CreatedApiKey | null>(null);
  const [editingAccess, setEditingAccess] = useState(false);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let current = true;
    ok(api.GET('/v1/api-keys/{id}', { params: { path: { id } } })).then(
      (read) => current && (setKey(read), setProblem(null)),
      (error) => current && setProblem(asProblem(error)),
    );
    if (manages) {
      ok(api.GET('/v1/audit-events', { params: { query: { object_id: id, limit: 25 } } })).then(
        (page) => current && setHistory(page.items ?? []),
        () => current && setHistory(null),
      );
    }
    return () => {
      current = false;
    };
  }, [id, reloads]);

  if (rotated) {
    return (
      <AccessKeyScreen
        created={rotated}
        onDone={() => {
          flash({ notice: `${rotated.api_key.name} was rotated. This is its replacement.` });
          navigate(`/api-keys/${rotated.api_key.id}`);
        }}
      />
    );
  }

  if (!key) {
    return (
      <section aria-labelledby="key-title">
        <a class="back" href="/api-keys" onClick={onLinkClick}>
          ← All API keys
        </a>
        <h1 id="key-title">API key</h1>
        <ErrorSummary problem={problem} />
        {!problem && <p class="muted">Loading…</p>}
      </section>
    );
  }

  const actions = actionsFor(key, manages);
  // An ended key keeps what it had; a working one's access changes (owners and admins).
  const accessEditable = manages && (key.status === 'active' || key.status === 'disabled');
  return (
    <section aria-labelledby="key-title" class="key-page">
      <a class="back" href="/api-keys" onClick={onLinkClick}>
        ← All API keys
      </a>
      <div class="page-head">
        <div>
          <h1 id="key-title">{key.name}</h1>
          <p class="key-id">
            <code>{key.id}</code> <CopyButton text={key.id} label="Copy the key id" />
          </p>
        </div>
        <StatusBadges apiKey={key} />
      </div>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      {actions.length > 0 && (
        <div class="buttons key-actions" role="group" aria-label="What to do with this key">
          {actions.map((action) => (
            <button
              key={action}
              type="button"
              class={action === 'delete' || action === 'disable' ? 'danger' : 'secondary'}
              onClick={() => setActing(action)}
            >
              {action === 'limits' && !manages ? 'See limits' : BUTTONS[action]}
            </button>
          ))}
        </div>
      )}

      <h2>Details</h2>
      <dl class="summary details">
        <Row term="For">
          {key.application_name} in {key.arx_name} <span class="muted">({key.arx_purpose})</span>
        </Row>
        <Row term="Created">
          <When at={key.created_at} /> <span class="muted">by {authorName(key.created_by)}</span>
        </Row>
        <Row term="Expires">{key.expires_at ? <When at={key.expires_at} /> : 'Never'}</Row>
        <Row term="Last used">{key.last_used_at ? <When at={key.last_used_at} /> : 'Never'}</Row>
        {key.deleted_at && (
          <Row term="Deleted">
            <When at={key.deleted_at} /> {key.deleted_by && <span class="muted">by {key.deleted_by}</span>}
          </Row>
        )}
        {key.disabled_reason === 'leaked' && (
          <Row term="Why disabled">Found in public code by GitHub secret scanning. Its history says where.</Row>
        )}
        <Row term="Limits">
          {formatLimits(key.limits)}
          {key.limits && <BalanceNow balance={key.usage ?? null} />}
        </Row>
        {key.rotated_from && (
          <Row term="Replaces">
            <a href={`/api-keys/${key.rotated_from}`} onClick={onLinkClick}>
              <code>{key.rotated_from}</code>
            </a>
          </Row>
        )}
        {key.rotated_to && (
          <Row term="Replaced by">
            <a href={`/api-keys/${key.rotated_to}`} onClick={onLinkClick}>
              <code>{key.rotated_to}</code>
            </a>{' '}
            <span class="muted">(this key works until {formatTime(key.expires_at)})</span>
          </Row>
        )}
      </dl>

      <div class="section-head">
        <h2 id="access-title">Permissions, roles, addresses and owner</h2>
        {accessEditable && (
          <button type="button" class="secondary" onClick={() => setEditingAccess(true)}>
            Edit<span class="visually-hidden"> permissions, roles, addresses, owner and meta</span>
          </button>
        )}
      </div>
      <dl class="summary facts" aria-labelledby="access-title">
        <Row term="Permissions">
          <PermissionList names={key.permissions} />
        </Row>
        <Row term="Roles">
          <PermissionList names={key.roles ?? []} label="Roles" />
        </Row>
        <Row term="Addresses">
          <AllowlistText allowlist={key.allowlist} />
        </Row>
        <Row term="Owner">{key.external_id ? <OwnerLink owner={key.external_id} /> : <span class="muted">None</span>}</Row>
        {key.meta && (
          <Row term="Meta">
            <MetaRows meta={key.meta} />
          </Row>
        )}
      </dl>
      {!manages && (
        <p class="hint">Platform owners and admins change what a key may do and who owns it.</p>
      )}

      <KeyUsageSection of={{ key: key.id }} />

      {manages && (
        <>
          <h2>History</h2>
          {history === null && <p class="muted">The history could not be read.</p>}
          {history && history.length === 0 && <p class="muted">Nothing recorded yet.</p>}
          {history && history.length > 0 && (
            <ol class="history">
              {history.map((event) => (
                <li key={event.id}>
                  <span class="when" title={formatTime(event.at)}>
                    {relativeTime(event.at)}
                  </span>{' '}
                  <strong>{ACTION_NAMES[event.action]}</strong>{' '}
                  <span class="muted">
                    by {actorName(event.actor)}
                  </span>
                  {event.detail && <span class="detail"> · {event.detail}</span>}
                </li>
              ))}
            </ol>
          )}
          <p>
            <a href="/audit" onClick={onLinkClick}>
              The whole audit log
            </a>
          </p>
        </>
      )}

      {editingAccess && (
        <AccessDialog
          apiKey={key}
          onClose={() => setEditingAccess(false)}
          onSaved={(saved) => {
            setEditingAccess(false);
            setKey(saved);
            setNotice(`The permissions, roles, addresses, owner and meta of ${saved.name} were saved.`);
            setReloads((n) => n + 1);
          }}
        />
      )}
      {acting && (
        <KeyActionDialog
          action={acting}
          apiKey={key}
          manages={manages}
          onClose={() => setActing(null)}
          onChanged={(message) => {
            setActing(null);
            setNotice(message);
            setReloads((n) => n + 1);
          }}
          onDeleted={(message) => {
            flash({ notice: message });
            navigate('/api-keys');
          }}
          onRotated={(created) => {
            setActing(null);
            setRotated(created);
          }}
        />
      )}
    </section>
  );
}

/** The owner, and a link to its identity when the organisation recorded one (its keys share its limits). */
function OwnerLink({ owner }: { owner: string }) {
  const [identity, setIdentity] = useState<Identity | null>(null);
  useEffect(() => {
    let current = true;
    ok(api.GET('/v1/identities', { params: { query: { external_id: owner } } })).then(
      (page) => current && setIdentity(page.items?.[0] ?? null),
      () => current && setIdentity(null),
    );
    return () => {
      current = false;
    };
  }, [owner]);
  return (
    <>
      {owner}
      {identity && (
        <>
          {' '}
          <a href={`/identities/${identity.id}`} onClick={onLinkClick}>
            Its identity<span class="visually-hidden"> ({owner})</span>
          </a>{' '}
          <span class="muted">(limits its keys share)</span>
        </>
      )}
    </>
  );
}

function Row({ term, children }: { term: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** A time as a date and how long ago (or ahead) it is. */
function When({ at }: { at: string }) {
  return (
    <>
      {formatTime(at)} <span class="muted">({relativeTime(at)})</span>
    </>
  );
}
