// Service keys (owners and admins): the credentials a team's machines sign
// in with, instead of a Cognito user and its password. Made with a role of
// their own, shown once, listed without their secret, revoked by typing
// their id. The secret lives in the one-time screen's props and nowhere else.

import { useState } from 'preact/hooks';
import {
  api,
  everyServiceKey,
  ok,
  type ApiProblem,
  type CreatedServiceKey,
  type ServiceKey,
  type ServiceKeyRole,
} from '../api/client';
import { useCatalogList } from '../components/catalog-list';
import { ConfirmByTyping } from '../components/confirm-by-typing';
import { Dialog, SubmitOrCancel } from '../components/dialog';
import { OneTimeSecret } from '../components/one-time-secret';
import { Notice, PageHead } from '../components/page';
import { asProblem, ErrorSummary, FieldError } from '../components/problems';
import { TextField } from '../components/text-field';
import { capitalise, endOfDayUtc, formatTime, authorName } from '../format';

/** Each role a service key may have, and what it lets a machine do. */
const ROLES: [ServiceKeyRole, string, string][] = [
  ['verifier', 'Verifier', 'checks access keys and nothing else: for the services behind your API'],
  ['developer', 'Developer', 'creates, lists, rotates and deletes API keys: for provisioning and CI'],
  ['platform_admin', 'Platform admin', 'everything an admin may, except service keys: for a billing or clean-up job'],
];
const ROLE_NAMES = Object.fromEntries(ROLES.map(([role, name]) => [role, name])) as Record<ServiceKeyRole, string>;

export function ServiceKeys() {
  const { items: keys, problem, notice, changed } = useCatalogList(everyServiceKey);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedServiceKey | null>(null);
  const [revoking, setRevoking] = useState<ServiceKey | null>(null);

  if (created) {
    return (
      <SecretScreen
        created={created}
        onDone={() => {
          setCreated(null);
          changed(`The service key ${created.service_key.name} was created.`);
        }}
      />
    );
  }

  return (
    <section aria-labelledby="service-keys-title">
      <PageHead id="service-keys-title" title="Service keys">
        <button type="button" onClick={() => setCreating(true)}>
          Create service key
        </button>
      </PageHead>
      <p class="hint">
        A service key lets a machine call this API without a person's sign-in: send it as{' '}
        <code>Authorization: Bearer &lt;service key&gt;</code>. It acts for this organisation with the role it was made with,
        and everything it does is in the audit log under its own id.
      </p>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      {keys && keys.length === 0 && (
        <p class="empty">No service keys yet. Create one for each service or job that calls this API.</p>
      )}
      {keys && keys.length > 0 && (
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Service keys, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => (
                <tr key={key.id}>
                  <td>
                    {key.name}
                    <br />
                    <code class="muted">{key.id}</code>
                  </td>
                  <td data-label="Role">{ROLE_NAMES[key.role]}</td>
                  <td data-label="Status">
                    <span class={`status status-${key.status}`}>{capitalise(key.status)}</span>
                    {key.expires_at && key.status === 'active' && (
                      <>
                        <br />
                        <span class="muted">until {formatTime(key.expires_at)}</span>
                      </>
                    )}
                  </td>
                  <td data-label="Created">
                    {formatTime(key.created_at)}
                    <br />
                    <span class="muted">by {authorName(key.created_by)}</span>
                  </td>
                  <td data-label="Last used">{key.last_used_at ? formatTime(key.last_used_at) : 'Never'}</td>
                  <td class="actions">
                    {key.status === 'active' && (
                      <button type="button" class="danger small" onClick={() => setRevoking(key)} aria-label={`Revoke ${key.name}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating && (
        <CreateForm
          onCreated={(next) => {
            setCreating(false);
            setCreated(next);
          }}
          onClose={() => setCreating(false)}
        />
      )}
      {revoking && (
        <ConfirmByTyping
          title="Revoke this service key?"
          what="the key's id"
          expected={revoking.id}
          action="Revoke service key"
          onDone={async (typed) => {
            await ok(
              api.DELETE('/v1/service-keys/{id}', { params: { path: { id: revoking.id } }, body: { confirm: typed } }),
            );
            setRevoking(null);
            changed(`The service key ${revoking.name} was revoked.`);
          }}
          onClose={() => setRevoking(null)}
        >
          <p>
            Every request made with <strong>{revoking.name}</strong> is refused from now on (within a minute or two on
            every server). This cannot be undone: a machine that still needs access gets a new key.
          </p>
        </ConfirmByTyping>
      )}
    </section>
  );
}

function CreateForm({ onCreated, onClose }: { onCreated: (created: CreatedServiceKey) => void; onClose: () => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<ServiceKeyRole>('verifier');
  const [expires, setExpires] = useState('');
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const body = { name: name.trim(), role, expires_at: expires ? endOfDayUtc(expires) : null };
      onCreated(await ok(api.POST('/v1/service-keys', { body })));
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Create a service key" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary
          problem={problem}
          fields={{ name: 'service-key-name', role: 'service-key-role-verifier', expires_at: 'service-key-expires' }}
        />
        <TextField
          id="service-key-name"
          field="name"
          label="Name"
          hint="What uses it, so you know what stops if it is revoked: billing job, CI, payments service."
          value={name}
          onInput={setName}
          problem={problem}
        />
        <fieldset class="field">
          <legend>What it may do</legend>
          <FieldError problem={problem} field="role" id="service-key-role-error" />
          {ROLES.map(([option, label, description]) => (
            <label class="inline" key={option}>
              <input
                type="radio"
                name="service-key-role"
                id={`service-key-role-${option}`}
                checked={role === option}
                onChange={() => setRole(option)}
              />
              <strong>{label}</strong>: {description}
            </label>
          ))}
        </fieldset>
        <div class="field">
          <label for="service-key-expires">Expires (optional)</label>
          <p class="hint" id="service-key-expires-hint">
            It stops working at the end of this day (UTC). Leave empty for a key that works until it is revoked.
          </p>
          <FieldError problem={problem} field="expires_at" id="service-key-expires-error" />
          <input
            id="service-key-expires"
            type="date"
            value={expires}
            aria-describedby="service-key-expires-hint"
            onInput={(event) => setExpires(event.currentTarget.value)}
          />
        </div>
        <SubmitOrCancel action="Create service key" busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** The service key, this once (see `OneTimeSecret`). */
function SecretScreen({ created, onDone }: { created: CreatedServiceKey; onDone: () => void }) {
  return (
    <OneTimeSecret
      id="service-key-secret"
      title="Your new service key"
      label="service key"
      secret={created.secret}
      onDone={onDone}
      warning="Put it in the secret store of the machine that uses it. Only a one-way hash of it is kept: if it is lost, create a new one and revoke this one."
      summary={
        <>
          <div>
            <dt>Name</dt>
            <dd>{created.service_key.name}</dd>
          </div>
          <div>
            <dt>Key id</dt>
            <dd>
              <code>{created.service_key.id}</code>
            </dd>
          </div>
          <div>
            <dt>Role</dt>
            <dd>{ROLE_NAMES[created.service_key.role]}</dd>
          </div>
          <div>
            <dt>Use it as</dt>
            <dd>
              <code>Authorization: Bearer &lt;service key&gt;</code>
            </dd>
          </div>
        </>
      }
    />
  );
}
