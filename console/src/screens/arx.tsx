// The Arx dashboard. Everyone browses it; owners and admins create, change,
// disable, enable and delete Arx. Disabling and deleting ask for the exact
// name: a disabled Arx gets no new keys, and deleting one deletes its keys.

import { useState } from 'preact/hooks';
import { api, everyArx, ok, type ApiProblem, type Arx, type NewArx, type Purpose } from '../api/client';
import { ConfirmByTyping } from '../components/confirm-by-typing';
import { Dialog, SubmitOrCancel } from '../components/dialog';
import { Notice, PageHead } from '../components/page';
import { useCatalogList } from '../components/catalog-list';
import { asProblem, ErrorSummary, FieldError } from '../components/problems';
import { TextField } from '../components/text-field';
import { capitalise, formatTime, authorName } from '../format';
import { managesCatalog, type Session } from '../session';

const PURPOSES: Purpose[] = ['development', 'testing', 'staging', 'production'];

type Confirming = { arx: Arx; action: 'disable' | 'delete' };

export function ArxDashboard({ session }: { session: Session }) {
  const { items: arxList, problem, setProblem, notice, changed: listChanged } = useCatalogList(everyArx);
  const [editing, setEditing] = useState<Arx | 'new' | null>(null);
  const [confirming, setConfirming] = useState<Confirming | null>(null);
  const manages = managesCatalog(session.role);

  function changed(message: string) {
    setEditing(null);
    setConfirming(null);
    listChanged(message);
  }

  async function enable(arx: Arx) {
    try {
      await ok(api.POST('/v1/arx/{id}/enable', { params: { path: { id: arx.id } } }));
      changed(`${arx.name} was enabled.`);
    } catch (error) {
      setProblem(asProblem(error));
    }
  }

  return (
    <section aria-labelledby="arx-title">
      <PageHead id="arx-title" title="Arx">
        {manages && (
          <button type="button" onClick={() => setEditing('new')}>
            Create Arx
          </button>
        )}
      </PageHead>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      {arxList && arxList.length === 0 && (
        <p class="empty-state">
          <strong>No Arx yet.</strong> An Arx is an environment applications call (development, testing, staging or
          production), in one region with one encryption method.{' '}
          {manages ? 'Create the first one with the button above.' : 'Ask a platform owner or admin to create one.'}
        </p>
      )}
      {arxList && arxList.length > 0 && (
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Arx, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Purpose</th>
                <th scope="col">Where</th>
                <th scope="col">Encryption</th>
                <th scope="col">Rotation</th>
                <th scope="col">Plan</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                {manages && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {arxList.map((arx) => (
                <tr key={arx.id}>
                  <td>
                    {arx.name}
                    <br />
                    <code class="muted">{arx.id}</code>
                  </td>
                  <td data-label="Purpose">{capitalise(arx.purpose)}</td>
                  <td data-label="Where">
                    {arx.provider} {arx.region}
                  </td>
                  <td data-label="Encryption">{arx.encryption_method}</td>
                  <td data-label="Rotation">{arx.rotation_cycle}</td>
                  <td data-label="Plan">{arx.plan}</td>
                  <td data-label="Status">
                    <span class={`status status-${arx.status}`}>{capitalise(arx.status)}</span>
                  </td>
                  <td data-label="Created">
                    {formatTime(arx.created_at)}
                    <br />
                    <span class="muted">by {authorName(arx.created_by)}</span>
                  </td>
                  {manages && (
                    <td class="actions">
                      {arx.status !== 'deleted' && (
                        <button type="button" class="secondary small" onClick={() => setEditing(arx)} aria-label={`Edit ${arx.name}`}>
                          Edit
                        </button>
                      )}
                      {arx.status === 'active' && (
                        <button
                          type="button"
                          class="secondary small"
                          onClick={() => setConfirming({ arx, action: 'disable' })}
                          aria-label={`Disable ${arx.name}`}
                        >
                          Disable
                        </button>
                      )}
                      {arx.status === 'disabled' && (
                        <button type="button" class="secondary small" onClick={() => enable(arx)} aria-label={`Enable ${arx.name}`}>
                          Enable
                        </button>
                      )}
                      {arx.status !== 'deleted' && (
                        <button
                          type="button"
                          class="danger small"
                          onClick={() => setConfirming({ arx, action: 'delete' })}
                          aria-label={`Delete ${arx.name}`}
                        >
                          Delete
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <ArxForm
          arx={editing === 'new' ? null : editing}
          onSaved={(saved) => changed(editing === 'new' ? `${saved.name} was created.` : `${saved.name} was changed.`)}
          onClose={() => setEditing(null)}
        />
      )}
      {confirming?.action === 'disable' && (
        <ConfirmByTyping
          title="Disable this Arx?"
          what="the Arx's name"
          expected={confirming.arx.name}
          action="Disable Arx"
          onDone={async () => {
            await ok(api.POST('/v1/arx/{id}/disable', { params: { path: { id: confirming.arx.id } } }));
            changed(`${confirming.arx.name} was disabled.`);
          }}
          onClose={() => setConfirming(null)}
        >
          <p>No new key can be created for it until it is enabled again.</p>
        </ConfirmByTyping>
      )}
      {confirming?.action === 'delete' && (
        <ConfirmByTyping
          title="Delete this Arx?"
          what="the Arx's name"
          expected={confirming.arx.name}
          action="Delete Arx"
          onDone={async () => {
            await ok(api.DELETE('/v1/arx/{id}', { params: { path: { id: confirming.arx.id } } }));
            changed(`${confirming.arx.name} was deleted. Its keys are being deleted.`);
          }}
          onClose={() => setConfirming(null)}
        >
          <p>Its keys are deleted too: services using them are refused. This cannot be undone.</p>
        </ConfirmByTyping>
      )}
    </section>
  );
}

const LABELS: [keyof Omit<NewArx, 'name' | 'purpose'>, string, string][] = [
  ['provider', 'Provider', 'aws'],
  ['region', 'Region', 'ap-southeast-2'],
  ['encryption_method', 'Encryption method', 'AES-GCM-256'],
  ['rotation_cycle', 'Rotation cycle', '90 days'],
  ['plan', 'Plan', 'standard'],
];

function ArxForm({ arx, onSaved, onClose }: { arx: Arx | null; onSaved: (saved: Arx) => void; onClose: () => void }) {
  const [values, setValues] = useState<NewArx>({
    name: arx?.name ?? '',
    purpose: arx?.purpose ?? 'development',
    provider: arx?.provider ?? '',
    region: arx?.region ?? '',
    encryption_method: arx?.encryption_method ?? '',
    rotation_cycle: arx?.rotation_cycle ?? '',
    plan: arx?.plan ?? '',
  });
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (change: Partial<NewArx>) => setValues({ ...values, ...change });

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const saved = arx
        ? await ok(api.PATCH('/v1/arx/{id}', { params: { path: { id: arx.id } }, body: values }))
        : await ok(api.POST('/v1/arx', { body: values }));
      onSaved(saved);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  const fields = Object.fromEntries([['name', 'arx-name'], ['purpose', 'arx-purpose'], ...LABELS.map(([field]) => [field, `arx-${field}`])]);
  return (
    <Dialog title={arx ? `Edit ${arx.name}` : 'Create an Arx'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={fields} />
        <TextField id="arx-name" field="name" label="Name" value={values.name} onInput={(name) => set({ name })} problem={problem} />
        <div class="field">
          <label for="arx-purpose">Purpose</label>
          <FieldError problem={problem} field="purpose" id="arx-purpose-error" />
          <select id="arx-purpose" value={values.purpose} onChange={(event) => set({ purpose: event.currentTarget.value as Purpose })}>
            {PURPOSES.map((purpose) => (
              <option key={purpose} value={purpose}>
                {capitalise(purpose)}
              </option>
            ))}
          </select>
        </div>
        {LABELS.map(([field, label, example]) => (
          <TextField
            key={field}
            id={`arx-${field}`}
            field={field}
            label={label}
            hint={`For example: ${example}`}
            maxLength={64}
            value={values[field]}
            onInput={(value) => set({ [field]: value })}
            problem={problem}
          />
        ))}
        <SubmitOrCancel action={arx ? 'Save changes' : 'Create Arx'} busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
