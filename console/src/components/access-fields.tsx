// What a key may do, who owns it and the team's own data about it: the
// fields the create flow asks (optional) and owners and admins change on the
// key's page, their check before anything is sent (the API's own grammar:
// `domain::permissions`, a key's meta), and how they read on screen.

import { useEffect, useState } from 'preact/hooks';
import { api, everyRole, ok, type ApiKey, type ApiProblem, type KeyRole, type NewApiKey } from '../api/client';

/** A key's meta as the API types it. */
type Meta = NonNullable<NewApiKey['meta']>;
import { Dialog, SubmitOrCancel } from './dialog';
import { asProblem, ErrorSummary, FieldError, isAbout, localProblem } from './problems';

// A name, or a wildcard grant ending in .* (the API's `Permission`).
const PERMISSION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,97}(\.\*|[A-Za-z0-9._:-]{0,2})$/;
const MAX_META_BYTES = 4096;
const MAX_PERMISSIONS = 100;

/** The names typed, split at commas, spaces or lines, each once and in order; or what is wrong. */
export function parsePermissions(text: string): { names: string[] } | { problem: ApiProblem } {
  const typed = text.split(/[\s,]+/).filter(Boolean);
  for (const name of typed) {
    if (!PERMISSION.test(name) || /^(and|or)(\.\*)?$/i.test(name)) {
      return {
        problem: localProblem(
          'permissions',
          `“${name.slice(0, 40)}” is not a permission name: use up to 100 letters, digits and . _ : - (no spaces), starting with a letter or digit, and end it with .* to grant every name under it; AND and OR are not names.`,
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

/** The meta typed: a JSON object of at most 4096 bytes (compact), none if empty, or what is wrong. */
export function parseMeta(text: string): { meta: Meta | null } | { problem: ApiProblem } {
  if (!text.trim()) return { meta: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: localProblem('meta', 'The meta is not valid JSON: write an object such as {"plan": "pro"}.') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: localProblem('meta', 'The meta must be an object in braces, such as {"plan": "pro"}.') };
  }
  if (new TextEncoder().encode(JSON.stringify(value)).length > MAX_META_BYTES) {
    return { problem: localProblem('meta', `The meta must be at most ${MAX_META_BYTES} bytes as compact JSON.`) };
  }
  // An object of any JSON: the schema's type says no more than that.
  return { meta: value as Meta };
}

/** A key's allowlist as the API types it. */
type Allowlist = NonNullable<NewApiKey['allowlist']>;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `text` is an IPv6 address, as the browser's own URL parser reads one. */
function isIpv6(text: string): boolean {
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  try {
    return new URL(`http://[${text}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** One entry: an address, or an address and a prefix length its family allows. */
function isAllowlistEntry(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  if (rest.length) return false;
  const max = IPV4.test(address) ? 32 : isIpv6(address) ? 128 : -1;
  if (max < 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
}

/** The entries typed (one per line, or separated by commas or spaces) and the mode, or what is wrong. */
export function parseAllowlist(text: string, mode: 'enforce' | 'report'): { allowlist: Allowlist | null } | { problem: ApiProblem } {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) return { allowlist: null };
  for (const entry of entries) {
    if (!isAllowlistEntry(entry)) {
      return {
        problem: localProblem(
          'allowlist',
          `“${entry.slice(0, 45)}” is not an address or a range: write an IPv4 or IPv6 address, or a range such as 203.0.113.0/24 or 2001:db8::/32.`,
        ),
      };
    }
  }
  if (entries.length > 100) return { problem: localProblem('allowlist', 'A key may have at most 100 addresses or ranges.') };
  return { allowlist: { entries, mode } };
}

/** A key's allowlist as the text its field shows. */
export function allowlistText(allowlist: ApiKey['allowlist'] | undefined): string {
  return allowlist ? allowlist.entries.join('\n') : '';
}

/** A key's meta as the text its field shows. */
export function metaText(meta: ApiKey['meta'] | undefined): string {
  return meta ? JSON.stringify(meta, null, 2) : '';
}

/** The organisation's roles for keys (null while they load, or if they cannot be read). */
export function useKeyRoles(): KeyRole[] | null {
  const [roles, setRoles] = useState<KeyRole[] | null>(null);
  useEffect(() => {
    let current = true;
    everyRole().then(
      (all) => current && setRoles([...all].sort((a, b) => a.name.localeCompare(b.name))),
      () => current && setRoles(null),
    );
    return () => {
      current = false;
    };
  }, []);
  return roles;
}

/** The four inputs, for a form that holds their text (and the roles chosen). */
export function AccessFields({
  permissions,
  roles,
  allowlist,
  allowlistMode,
  owner,
  meta,
  problem,
  onPermissions,
  onRoles,
  onAllowlist,
  onOwner,
  onMeta,
}: {
  permissions: string;
  roles: string[];
  allowlist: string;
  allowlistMode: 'enforce' | 'report';
  owner: string;
  meta: string;
  problem: ApiProblem | null;
  onPermissions: (text: string) => void;
  onRoles: (names: string[]) => void;
  onAllowlist: (text: string, mode: 'enforce' | 'report') => void;
  onOwner: (text: string) => void;
  onMeta: (text: string) => void;
}) {
  const available = useKeyRoles();
  const allowlistDescribed = ['key-allowlist-hint', isAbout(problem, 'allowlist') && 'key-allowlist-error'];
  const metaDescribed = ['key-meta-hint', isAbout(problem, 'meta') && 'key-meta-error'];
  const permissionsDescribed = ['key-permissions-hint', isAbout(problem, 'permissions') && 'key-permissions-error'];
  const ownerDescribed = ['key-owner-hint', isAbout(problem, 'external_id') && 'key-owner-error'];
  return (
    <>
      <div class="field">
        <label for="key-permissions">Permissions (optional)</label>
        <p class="hint" id="key-permissions-hint">
          What the key may do, as your service asks at verify: names like <code>documents.read</code> or{' '}
          <code>billing:write</code>, separated by commas or spaces; <code>documents.*</code> grants every name under{' '}
          <code>documents.</code>
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
      <fieldset class="field roles-field" aria-describedby="key-roles-hint">
        <legend>Roles (optional)</legend>
        <p class="hint" id="key-roles-hint">
          Named sets of permissions the key also gets. A change to a role reaches every key that has it.
        </p>
        <FieldError problem={problem} field="roles" id="key-roles-error" />
        {available === null && <p class="muted">Reading the roles…</p>}
        {available?.length === 0 && roles.length === 0 && (
          <p class="muted">No roles yet: platform owners and admins make them on the Key roles page.</p>
        )}
        {/* A role the key has that is gone from the list still shows, so it can be taken off. */}
        {[...new Set([...(available ?? []).map((role) => role.name), ...roles])].map((name) => {
          const role = available?.find((r) => r.name === name);
          return (
            <label key={name} class="check">
              <input
                type="checkbox"
                checked={roles.includes(name)}
                onChange={(event) =>
                  onRoles(event.currentTarget.checked ? [...roles, name].sort() : roles.filter((r) => r !== name))
                }
              />{' '}
              <span>
                <strong>{name}</strong>{' '}
                <span class="muted">
                  {role ? (role.permissions.length ? role.permissions.join(', ') : 'no permissions') : 'no longer exists'}
                </span>
              </span>
            </label>
          );
        })}
      </fieldset>
      <div class="field">
        <label for="key-allowlist">Addresses it may be used from (optional)</label>
        <p class="hint" id="key-allowlist-hint">
          IPv4 or IPv6 addresses or ranges, one per line, such as <code>203.0.113.0/24</code>: a check from anywhere
          else is refused. Empty: any address.
        </p>
        <FieldError problem={problem} field="allowlist" id="key-allowlist-error" />
        <textarea
          id="key-allowlist"
          rows={3}
          spellcheck={false}
          autocomplete="off"
          value={allowlist}
          aria-describedby={allowlistDescribed.filter(Boolean).join(' ')}
          aria-invalid={isAbout(problem, 'allowlist')}
          onInput={(event) => onAllowlist(event.currentTarget.value, allowlistMode)}
        />
        <label class="check">
          <input
            type="checkbox"
            checked={allowlistMode === 'report'}
            onChange={(event) => onAllowlist(allowlist, event.currentTarget.checked ? 'report' : 'enforce')}
          />{' '}
          Report only: let checks from elsewhere through, and count them, to try a list before it refuses anyone
        </label>
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
      <div class="field">
        <label for="key-meta">Meta (optional)</label>
        <p class="hint" id="key-meta-hint">
          Your own data about the key, as a JSON object such as <code>{'{"plan": "pro"}'}</code>: a check of the key
          returns it. Not a secret: anyone who reads the key sees it.
        </p>
        <FieldError problem={problem} field="meta" id="key-meta-error" />
        <textarea
          id="key-meta"
          rows={4}
          spellcheck={false}
          autocomplete="off"
          value={meta}
          aria-describedby={metaDescribed.filter(Boolean).join(' ')}
          aria-invalid={isAbout(problem, 'meta')}
          onInput={(event) => onMeta(event.currentTarget.value)}
        />
      </div>
    </>
  );
}

/** The input ids, for an error summary's links. */
export const ACCESS_FIELD_INPUTS = {
  permissions: 'key-permissions',
  roles: 'key-roles-hint',
  allowlist: 'key-allowlist',
  external_id: 'key-owner',
  meta: 'key-meta',
};

/** A key's meta as the rows a person reads: each field and its value (text as it is, anything else as JSON). */
export function MetaRows({ meta }: { meta: ApiKey['meta'] | undefined }) {
  const fields = Object.entries(meta ?? {});
  if (fields.length === 0) return <span class="muted">None</span>;
  return (
    <dl class="meta-rows" aria-label="Meta">
      {fields.map(([field, value]) => (
        <div key={field}>
          <dt>{field}</dt>
          <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A key's allowlist in words: its entries, and whether it only reports; "Any address" without one. */
export function AllowlistText({ allowlist }: { allowlist: ApiKey['allowlist'] | undefined }) {
  if (!allowlist) return <span class="muted">Any address</span>;
  return (
    <>
      <ul class="permissions" aria-label="Addresses it may be used from">
        {allowlist.entries.map((entry) => (
          <li key={entry}>
            <code>{entry}</code>
          </li>
        ))}
      </ul>
      {allowlist.mode === 'report' && (
        <span class="muted">Report only: checks from elsewhere are let through and counted.</span>
      )}
    </>
  );
}

/** A key's permissions (or roles) as a list of names, or "None". */
export function PermissionList({ names, label = 'Permissions' }: { names: readonly string[]; label?: string }) {
  if (names.length === 0) return <span class="muted">None</span>;
  return (
    <ul class="permissions" aria-label={label}>
      {names.map((name) => (
        <li key={name}>
          <code>{name}</code>
        </li>
      ))}
    </ul>
  );
}

/** Changes a key's permissions, owner and meta (owners and admins). */
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
  const [roles, setRoles] = useState<string[]>(apiKey.roles ?? []);
  const [allowlist, setAllowlist] = useState(allowlistText(apiKey.allowlist));
  const [allowlistMode, setAllowlistMode] = useState<'enforce' | 'report'>(apiKey.allowlist?.mode ?? 'enforce');
  const [owner, setOwner] = useState(apiKey.external_id ?? '');
  const [meta, setMeta] = useState(metaText(apiKey.meta));
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const names = parsePermissions(permissions);
    if ('problem' in names) return setProblem(names.problem);
    const holder = parseOwner(owner);
    if ('problem' in holder) return setProblem(holder.problem);
    const data = parseMeta(meta);
    if ('problem' in data) return setProblem(data.problem);
    const addresses = parseAllowlist(allowlist, allowlistMode);
    if ('problem' in addresses) return setProblem(addresses.problem);
    setBusy(true);
    setProblem(null);
    try {
      const body = {
        permissions: names.names,
        roles,
        allowlist: addresses.allowlist,
        external_id: holder.owner,
        meta: data.meta,
      };
      onSaved(await ok(api.PATCH('/v1/api-keys/{id}', { params: { path: { id: apiKey.id } }, body })));
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Permissions, roles, addresses, owner and meta" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={ACCESS_FIELD_INPUTS} />
        <p>
          <strong>{apiKey.name}</strong>: a change reaches verify at once here, and on every server within its cache
          time. The audit log records what changed.
        </p>
        <AccessFields
          permissions={permissions}
          roles={roles}
          allowlist={allowlist}
          allowlistMode={allowlistMode}
          owner={owner}
          meta={meta}
          problem={problem}
          onPermissions={setPermissions}
          onRoles={setRoles}
          onAllowlist={(text, mode) => {
            setAllowlist(text);
            setAllowlistMode(mode);
          }}
          onOwner={setOwner}
          onMeta={setMeta}
        />
        <SubmitOrCancel action="Save" busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
