// What can be done to one API key, from the dashboard's row menu and from
// the key's own page alike: rotate (the new key shown once), limits, disable
// (after saying what stops working) and enable, delete (by typing its id).

import { useState } from 'preact/hooks';
import { api, ok, type ApiKey, type ApiProblem, type CreatedApiKey } from '../api/client';
import { formatLimits } from '../format';
import { ConfirmByTyping } from './confirm-by-typing';
import { Dialog, SubmitOrCancel } from './dialog';
import { LimitsDialog } from './limits-dialog';
import type { MenuItem } from './menu';
import { asProblem, ErrorSummary } from './problems';

export type KeyAction = 'rotate' | 'limits' | 'disable' | 'enable' | 'delete';

/** The actions that apply to `key` for someone who may (or may not) suspend keys and change limits. */
export function actionsFor(key: ApiKey, manages: boolean): KeyAction[] {
  const live = key.status === 'active' || key.status === 'disabled';
  const actions: KeyAction[] = [];
  if (live && !key.rotated_to) actions.push('rotate');
  if (live) actions.push('limits');
  if (manages && key.status === 'active') actions.push('disable');
  if (manages && key.status === 'disabled') actions.push('enable');
  if (key.status !== 'deleted') actions.push('delete');
  return actions;
}

const LABELS: Record<KeyAction, string> = {
  rotate: 'Rotate',
  limits: 'Limits',
  disable: 'Disable',
  enable: 'Enable',
  delete: 'Delete',
};

export function menuItems(key: ApiKey, manages: boolean, choose: (action: KeyAction) => void): MenuItem[] {
  return actionsFor(key, manages).map((action) => ({
    label: action === 'limits' && !manages ? 'See limits' : LABELS[action],
    danger: action === 'delete' || action === 'disable',
    onSelect: () => choose(action),
  }));
}

/** The dialog of `action` on `apiKey`; `onChanged` says what happened, in a sentence. */
export function KeyActionDialog({
  action,
  apiKey,
  manages,
  onClose,
  onChanged,
  onRotated,
  onDeleted,
}: {
  action: KeyAction;
  apiKey: ApiKey;
  manages: boolean;
  onClose: () => void;
  onChanged: (notice: string) => void;
  onRotated: (created: CreatedApiKey) => void;
  onDeleted: (notice: string) => void;
}) {
  switch (action) {
    case 'rotate':
      return <RotateDialog apiKey={apiKey} onRotated={onRotated} onClose={onClose} />;
    case 'limits':
      return (
        <LimitsDialog
          apiKey={apiKey}
          editable={manages}
          onSaved={(key) => onChanged(`The limits of ${key.name} are now: ${formatLimits(key.limits)}. Its counters start afresh.`)}
          onClose={onClose}
        />
      );
    case 'disable':
    case 'enable':
      return <SuspendDialog apiKey={apiKey} action={action} onDone={onChanged} onClose={onClose} />;
    case 'delete':
      return (
        <ConfirmByTyping
          title="Delete this API key?"
          what="the key's id"
          expected={apiKey.id}
          action="Delete key"
          onDone={async (typed) => {
            await ok(api.DELETE('/v1/api-keys/{id}', { params: { path: { id: apiKey.id } }, body: { confirm: typed } }));
            onDeleted(`${apiKey.name} (${apiKey.id}) was deleted. It stopped working at once.`);
          }}
          onClose={onClose}
        >
          <p>
            <strong>{apiKey.name}</strong> for {apiKey.application_name} in {apiKey.arx_name}. Services using it are
            refused at once. This cannot be undone.
          </p>
        </ConfirmByTyping>
      );
  }
}

/** Disable asks first, saying what stops working; enable says what starts again. */
function SuspendDialog({
  apiKey,
  action,
  onDone,
  onClose,
}: {
  apiKey: ApiKey;
  action: 'disable' | 'enable';
  onDone: (notice: string) => void;
  onClose: () => void;
}) {
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const path = action === 'disable' ? '/v1/api-keys/{id}/disable' : '/v1/api-keys/{id}/enable';
      await ok(api.POST(path, { params: { path: { id: apiKey.id } } }));
      onDone(
        action === 'disable'
          ? `${apiKey.name} was disabled. Services using it are refused until it is enabled again.`
          : `${apiKey.name} was enabled. It works again.`,
      );
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }
  return (
    <Dialog title={action === 'disable' ? 'Disable this API key?' : 'Enable this API key?'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} />
        {action === 'disable' ? (
          <p>
            Every service using <strong>{apiKey.name}</strong> ({apiKey.application_name} in {apiKey.arx_name}) is
            refused from now on (its checks answer “disabled”), within a few seconds on every server. Nothing is
            deleted, and an owner or admin can enable it again.
          </p>
        ) : (
          <p>
            <strong>{apiKey.name}</strong> works again for {apiKey.application_name} in {apiKey.arx_name} as soon as you
            enable it.
          </p>
        )}
        <SubmitOrCancel action={action === 'disable' ? 'Disable key' : 'Enable key'} busy={busy} danger={action === 'disable'} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

const GRACE_CHOICES: [number, string][] = [
  [3600, 'One hour'],
  [86_400, 'One day'],
  [604_800, 'Seven days'],
  [0, 'None: the old key stops at once'],
];

/** Rotation: how long the old key keeps working beside its replacement. */
function RotateDialog({
  apiKey,
  onRotated,
  onClose,
}: {
  apiKey: ApiKey;
  onRotated: (created: CreatedApiKey) => void;
  onClose: () => void;
}) {
  const [grace, setGrace] = useState(86_400);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      // 201: the console sends no Idempotency-Key, so never a replay (200).
      const created = (await ok(
        api.POST('/v1/api-keys/{id}/rotate', { params: { path: { id: apiKey.id } }, body: { grace_seconds: grace } }),
      )) as CreatedApiKey;
      onRotated(created);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Rotate this API key?" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ grace_seconds: 'grace-86400' }} />
        <p>
          A new key for <strong>{apiKey.name}</strong> ({apiKey.application_name} in {apiKey.arx_name}), shown once. The
          old key keeps working for the overlap you choose, so services can switch without an outage.
        </p>
        <fieldset class="field">
          <legend>How long may the old key keep working?</legend>
          {GRACE_CHOICES.map(([seconds, label]) => (
            <label class="inline" key={seconds}>
              <input type="radio" name="grace" id={`grace-${seconds}`} checked={grace === seconds} onChange={() => setGrace(seconds)} />
              {label}
            </label>
          ))}
        </fieldset>
        <SubmitOrCancel action="Rotate key" busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
