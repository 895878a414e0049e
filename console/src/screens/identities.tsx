// Identities: the organisation's customers, each the owner id its keys carry,
// with limits all its keys share. Everyone who reads keys reads them; owners
// and admins record them. Found by owner id; one opens on its own page.

import { useEffect, useState } from 'preact/hooks';
import { api, ok, type ApiProblem, type Identity } from '../api/client';
import { metaText, parseMeta, parseOwner } from '../components/access-fields';
import { Dialog, SubmitOrCancel } from '../components/dialog';
import {
  formatIdentityLimits,
  LimitsFields,
  limitsText,
  NO_LIMITS_TEXT,
  parseLimits,
  type LimitsText,
} from '../components/identity-fields';
import { Notice, PageHead } from '../components/page';
import { Pager, useCursorPages } from '../components/pager';
import { asProblem, ErrorSummary, FieldError, isAbout, localProblem } from '../components/problems';
import { flash, takeFlash } from '../flash';
import { formatTime } from '../format';
import { navigate, onLinkClick } from '../router';
import { managesCatalog, type Session } from '../session';

type Page = { items?: Identity[]; next_cursor?: string | null };

export function Identities({ session }: { session: Session }) {
  const manages = managesCatalog(session.role);
  const pages = useCursorPages();
  const [search, setSearch] = useState('');
  const [searched, setSearched] = useState<string | null>(null);
  const [page, setPage] = useState<Page | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [notice] = useState<string | null>(() => takeFlash()?.notice ?? null);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    let current = true;
    const query = searched ? { external_id: searched } : { limit: 25, cursor: pages.cursor };
    ok(api.GET('/v1/identities', { params: { query } })).then(
      (read) => current && (setPage(read), setProblem(null)),
      (error) => current && setProblem(asProblem(error)),
    );
    return () => {
      current = false;
    };
  }, [searched, pages.cursor]);

  const items = page?.items ?? [];
  return (
    <section aria-labelledby="identities-title">
      <PageHead id="identities-title" title="Identities">
        {manages && (
          <button type="button" onClick={() => setCreating(true)}>
            Record an identity
          </button>
        )}
      </PageHead>
      <p class="hint">
        An identity is one of your customers: the owner id its keys carry. Its limits are shared by all its keys, on top
        of each key's own, and its usage adds up what they all did.
      </p>
      <Notice text={notice} />
      <form
        class="search"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          pages.reset();
          setSearched(search.trim() || null);
        }}
      >
        <label for="identity-search">Find by owner id</label>
        <input id="identity-search" value={search} spellcheck={false} onInput={(event) => setSearch(event.currentTarget.value)} />
        <button type="submit" class="secondary">
          Find
        </button>
        {searched && (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setSearch('');
              setSearched(null);
            }}
          >
            Show all
          </button>
        )}
      </form>
      <ErrorSummary problem={problem} />
      {page && items.length === 0 && (
        <p class="empty">
          {searched ? `No identity has the owner id “${searched}”.` : 'No identities yet. Record a customer whose keys should share limits.'}
        </p>
      )}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Identities, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Owner id</th>
                <th scope="col">Limits its keys share</th>
                <th scope="col">Recorded</th>
              </tr>
            </thead>
            <tbody>
              {items.map((identity) => (
                <tr key={identity.id}>
                  <td>
                    <a href={`/identities/${identity.id}`} onClick={onLinkClick}>
                      {identity.external_id}
                    </a>
                  </td>
                  <td data-label="Limits">{formatIdentityLimits(identity.limits)}</td>
                  <td data-label="Recorded">{formatTime(identity.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!searched && (page?.next_cursor || pages.hasPrevious) && (
        <Pager label="Pages of identities" pages={pages} nextCursor={page?.next_cursor} />
      )}
      {creating && (
        <IdentityDialog
          onClose={() => setCreating(false)}
          onSaved={(saved) => {
            flash({ notice: `The identity ${saved.external_id} was recorded.` });
            navigate(`/identities/${saved.id}`);
          }}
        />
      )}
    </section>
  );
}

/** Records an identity, or (given one) changes its meta and limits. */
export function IdentityDialog({
  identity,
  onSaved,
  onClose,
}: {
  identity?: Identity;
  onSaved: (saved: Identity) => void;
  onClose: () => void;
}) {
  const [owner, setOwner] = useState(identity?.external_id ?? '');
  const [meta, setMeta] = useState(metaText(identity?.meta));
  const [limits, setLimits] = useState<LimitsText>(identity ? limitsText(identity.limits) : NO_LIMITS_TEXT);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const holder = parseOwner(owner);
    if ('problem' in holder) return setProblem(holder.problem);
    if (!holder.owner) return setProblem(localProblem('external_id', 'Give the owner id its keys carry.'));
    const data = parseMeta(meta);
    if ('problem' in data) return setProblem(data.problem);
    const parsed = parseLimits(limits);
    if ('problem' in parsed) return setProblem(parsed.problem);
    setBusy(true);
    setProblem(null);
    try {
      const saved = identity
        ? await ok(
            api.PATCH('/v1/identities/{id}', {
              params: { path: { id: identity.id } },
              body: { meta: data.meta, limits: parsed.limits },
            }),
          )
        : await ok(api.POST('/v1/identities', { body: { external_id: holder.owner, meta: data.meta, limits: parsed.limits } }));
      onSaved(saved);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  const ownerBad = isAbout(problem, 'external_id');
  return (
    <Dialog title={identity ? 'Change this identity' : 'Record an identity'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary
          problem={problem}
          fields={{ external_id: 'identity-owner', meta: 'identity-meta', limits: 'identity-credits' }}
        />
        {identity ? (
          <p>
            <strong>{identity.external_id}</strong>: new limits start its counters afresh. Its keys see the change at
            once here, and on every server within its cache time.
          </p>
        ) : (
          <div class="field">
            <label for="identity-owner">Owner id</label>
            <p class="hint" id="identity-owner-hint">
              The owner id its keys carry (or will): every key with this owner belongs to it, those made before too.
            </p>
            <FieldError problem={problem} field="external_id" id="identity-owner-error" />
            <input
              id="identity-owner"
              maxLength={255}
              spellcheck={false}
              autocomplete="off"
              value={owner}
              aria-invalid={ownerBad}
              aria-describedby={['identity-owner-hint', ownerBad && 'identity-owner-error'].filter(Boolean).join(' ')}
              onInput={(event) => setOwner(event.currentTarget.value)}
            />
          </div>
        )}
        <LimitsFields text={limits} problem={problem} onChange={setLimits} />
        <div class="field">
          <label for="identity-meta">Meta (optional)</label>
          <p class="hint" id="identity-meta-hint">
            Your own data about the customer, as a JSON object such as <code>{'{"plan": "pro"}'}</code>: a check of any of
            its keys returns it. Not a secret.
          </p>
          <FieldError problem={problem} field="meta" id="identity-meta-error" />
          <textarea
            id="identity-meta"
            rows={3}
            spellcheck={false}
            autocomplete="off"
            value={meta}
            aria-invalid={isAbout(problem, 'meta')}
            aria-describedby={['identity-meta-hint', isAbout(problem, 'meta') && 'identity-meta-error'].filter(Boolean).join(' ')}
            onInput={(event) => setMeta(event.currentTarget.value)}
          />
        </div>
        <SubmitOrCancel action={identity ? 'Save' : 'Record identity'} busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
