// What a key may do and who owns it: the two fields the create flow asks
// (optional) and owners and admins change on the key's page, their check
// before anything is sent (the API's own grammar: `domain::permissions`),
// and how both read on screen.

import { useState } from 'preact/hooks';
import { api, ok, type ApiKey, type ApiProblem } from '../api/client';
import { Dialog, SubmitOrCancel } from './dialog';
import { asProblem, ErrorSummary, FieldError, isAbout, localProblem } from './problems';

const PERMISSION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
const MAX_PERMISSIONS = 100;

/** The names typed, split at commas, spaces or lines, each once and in order; or what is wrong. */
export function parsePermissions(text: string): { names: string[] } | { problem: ApiProblem } {
  const typed = text.split(/[\s,]+/).filter(Boolean);
  for (const name of typed) {
    if (!PERMISSION.test(name) || /^(and|or)$/i.test(name)) {
      return {
        problem: localProblem(
          'permissions',
          `“${name.slice(0, 40)}” is not a permission name: use up to 100 letters, digits and . _ : - (no spaces), starting with a letter or digit; AND and OR are not names.`,
        ),
      };
    }
  }
  const names = [...new Set(typed)].sort();
  if (names.length > MAX_PERMISSIONS) {
    return { problem: localProblem('permissions', `A key may have at most ${MAX_PERMISSIONS} permissions.`) };
  }
  return { names };
}

/** The owner typed (trimmed: a pasted id often brings a space), or what is wrong. */
export function parseOwner(text: string): { owner: string | null } | { problem: ApiProblem } {
  const owner = text.trim();
  if (!owner) return { owner: null };
  if ([...owner].length > 255) return { problem: localProblem('external_id', 'The owner must be at most 255 characters.') };
  if (/\s/.test(owner)) return { problem: localProblem('external_id', 'The owner must be one id, with no spaces.') };
  return { owner };
}

/** The two inputs, for a form that holds their text. */
export function AccessFields({
  permissions,
  owner,
  problem,
  onPermissions,
  onOwner,
}: {
  permissions: string;
  owner: string;
  problem: ApiProblem | null;
  onPermissions: (text: string) => void;
  onOwner: (text: string) => void;
}) {
  const permissionsDescribed = ['key-permissions-hint', isAbout(problem, 'permissions') && 'key-permissions-error'];
  const ownerDescribed = ['key-owner-hint', isAbout(problem, 'external_id') && 'key-owner-error'];
  return (
    <>
      <div class="field">
        <label for="key-permissions">Permissions (optional)</label>
        <p class="hint" id="key-permissions-hint">
          What the key may do, as your service asks at verify: names like <code>documents.read</code> or{' '}
          <code>billing:write</code>, separated by commas or spaces.
        </p>
        <FieldError problem={problem} field="permissions" id="key-permissions-error" />
        <textarea
          id="key-permissions"
          rows={3}
          spellcheck={false}
          autocomplete="off"
          value={permissions}
          aria-describedby={permissionsDescribed.filter(Boolean).join(' ')}
          aria-invalid={isAbout(problem, 'permissions')}
          onInput={(event) => onPermissions(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="key-owner">Owner (optional)</label>
        <p class="hint" id="key-owner-hint">
          Your own id for whoever holds the key, such as a customer or team id: verify answers with it. Not a secret.
        </p>
        <FieldError problem={problem} field="external_id" id="key-owner-error" />
        <input
          id="key-owner"
          maxLength={255}
          spellcheck={false}
          autocomplete="off"
          value={owner}
          aria-describedby={ownerDescribed.filter(Boolean).join(' ')}
          aria-invalid={isAbout(problem, 'external_id')}
          onInput={(event) => onOwner(event.currentTarget.value)}
        />
      </div>
    </>
  );
}

/** The input ids, for an error summary's links. */
export const ACCESS_FIELD_INPUTS = { permissions: 'key-permissions', external_id: 'key-owner' };

/** A key's permissions as a list of names, or "None". */
export function PermissionList({ names }: { names: readonly string[] }) {
  if (names.length === 0) return <span class="muted">None</span>;
  return (
    <ul class="permissions" aria-label="Permissions">
      {names.map((name) => (
        <li key={name}>
          <code>{name}</code>
        </li>
      ))}
    </ul>
  );
}

/** Changes a key's permissions and owner (owners and admins). */
export function AccessDialog({
  apiKey,
  onSaved,
  onClose,
}: {
  apiKey: ApiKey;
  onSaved: (key: ApiKey) => void;
  onClose: () => void;
}) {
  const [permissions, setPermissions] = useState(apiKey.permissions.join(', '));
  const [owner, setOwner] = useState(apiKey.external_id ?? '');
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const names = parsePermissions(permissions);
    if ('problem' in names) return setProblem(names.problem);
    const holder = parseOwner(owner);
    if ('problem' in holder) return setProblem(holder.problem);
    setBusy(true);
    setProblem(null);
    try {
      const body = { permissions: names.names, external_id: holder.owner };
      onSaved(await ok(api.PATCH('/v1/api-keys/{id}', { params: { path: { id: apiKey.id } }, body })));
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Permissions and owner" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={ACCESS_FIELD_INPUTS} />
        <p>
          <strong>{apiKey.name}</strong>: a change reaches verify at once here, and on every server within its cache
          time. The audit log records what changed.
        </p>
        <AccessFields
          permissions={permissions}
          owner={owner}
          problem={problem}
          onPermissions={setPermissions}
          onOwner={setOwner}
        />
        <SubmitOrCancel action="Save" busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
