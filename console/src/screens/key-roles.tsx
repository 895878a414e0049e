// Key roles: the organisation's named sets of permissions, given to keys by
// name. A change reaches every key that has the role at its next check.
// Everyone who reads keys sees them; owners and admins make, change and
// delete them.

import { useState } from 'preact/hooks';
import { api, everyRole, ok, type ApiProblem, type KeyRole } from '../api/client';
import { parsePermissions, PermissionList } from '../components/access-fields';
import { useCatalogList } from '../components/catalog-list';
import { ConfirmByTyping } from '../components/confirm-by-typing';
import { Dialog, SubmitOrCancel } from '../components/dialog';
import { Notice, PageHead } from '../components/page';
import { asProblem, ErrorSummary, FieldError, isAbout, localProblem } from '../components/problems';
import { formatTime } from '../format';
import { managesCatalog, type Session } from '../session';

const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export function KeyRoles({ session }: { session: Session }) {
  const manages = managesCatalog(session.role);
  const { items: roles, problem, notice, changed } = useCatalogList(everyRole);
  const [editing, setEditing] = useState<KeyRole | 'new' | null>(null);
  const [deleting, setDeleting] = useState<KeyRole | null>(null);

  return (
    <section aria-labelledby="roles-title">
      <PageHead id="roles-title" title="Key roles">
        {manages && (
          <button type="button" onClick={() => setEditing('new')}>
            Create role
          </button>
        )}
      </PageHead>
      <p class="hint">
        A role is a named set of permissions for keys, such as “editor”. A key with the role may do what the role allows,
        beside its own permissions; change the role and every key that has it follows.
      </p>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      {roles && roles.length === 0 && <p class="empty">No roles yet.</p>}
      {roles && roles.length > 0 && (
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Key roles, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Permissions</th>
                <th scope="col">Changed</th>
                {manages && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {roles.map((role) => (
                <tr key={role.id}>
                  <td>
                    <strong>{role.name}</strong>
                  </td>
                  <td data-label="Permissions">
                    <PermissionList names={role.permissions} />
                  </td>
                  <td data-label="Changed">{formatTime(role.updated_at)}</td>
                  {manages && (
                    <td class="actions">
                      <div class="buttons">
                        <button type="button" class="secondary small" onClick={() => setEditing(role)} aria-label={`Change ${role.name}`}>
                          Change
                        </button>
                        <button type="button" class="danger small" onClick={() => setDeleting(role)} aria-label={`Delete ${role.name}`}>
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
        <RoleDialog
          role={editing === 'new' ? undefined : editing}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null);
            changed(`The role ${saved.name} was saved.`);
          }}
        />
      )}
      {deleting && (
        <ConfirmByTyping
          title="Delete this role?"
          what="the role's name"
          expected={deleting.name}
          action="Delete role"
          onDone={async () => {
            await ok(api.DELETE('/v1/roles/{id}', { params: { path: { id: deleting.id } } }));
            setDeleting(null);
            changed(`The role ${deleting.name} was deleted.`);
          }}
          onClose={() => setDeleting(null)}
        >
          <p>
            Keys with <strong>{deleting.name}</strong> lose what it allowed at their next check. A role made later with the
            same name would give it back to them, so take it off those keys first if that is not what you want.
          </p>
        </ConfirmByTyping>
      )}
    </section>
  );
}

function RoleDialog({ role, onSaved, onClose }: { role?: KeyRole; onSaved: (role: KeyRole) => void; onClose: () => void }) {
  const [name, setName] = useState(role?.name ?? '');
  const [permissions, setPermissions] = useState(role?.permissions.join(', ') ?? '');
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (!role && !ROLE_NAME.test(name.trim())) {
      return setProblem(localProblem('name', 'The name must be up to 64 letters, digits and . _ : -, starting with a letter or digit.'));
    }
    const names = parsePermissions(permissions);
    if ('problem' in names) return setProblem(names.problem);
    setBusy(true);
    setProblem(null);
    try {
      const saved = role
        ? await ok(api.PATCH('/v1/roles/{id}', { params: { path: { id: role.id } }, body: { permissions: names.names } }))
        : await ok(api.POST('/v1/roles', { body: { name: name.trim(), permissions: names.names } }));
      onSaved(saved);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  const nameBad = isAbout(problem, 'name');
  const permissionsBad = isAbout(problem, 'permissions');
  return (
    <Dialog title={role ? `Change the role ${role.name}` : 'Create a role'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ name: 'role-name', permissions: 'role-permissions' }} />
        {!role && (
          <div class="field">
            <label for="role-name">Name</label>
            <p class="hint" id="role-name-hint">
              How keys name it, such as <code>editor</code>. It cannot change later.
            </p>
            <FieldError problem={problem} field="name" id="role-name-error" />
            <input
              id="role-name"
              maxLength={64}
              spellcheck={false}
              autocomplete="off"
              value={name}
              aria-invalid={nameBad}
              aria-describedby={['role-name-hint', nameBad && 'role-name-error'].filter(Boolean).join(' ')}
              onInput={(event) => setName(event.currentTarget.value)}
            />
          </div>
        )}
        <div class="field">
          <label for="role-permissions">Permissions</label>
          <p class="hint" id="role-permissions-hint">
            Names like <code>documents.read</code>, separated by commas or spaces; <code>documents.*</code> allows every
            name under <code>documents.</code>
          </p>
          <FieldError problem={problem} field="permissions" id="role-permissions-error" />
          <textarea
            id="role-permissions"
            rows={3}
            spellcheck={false}
            autocomplete="off"
            value={permissions}
            aria-invalid={permissionsBad}
            aria-describedby={['role-permissions-hint', permissionsBad && 'role-permissions-error'].filter(Boolean).join(' ')}
            onInput={(event) => setPermissions(event.currentTarget.value)}
          />
        </div>
        <SubmitOrCancel action={role ? 'Save' : 'Create role'} busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
