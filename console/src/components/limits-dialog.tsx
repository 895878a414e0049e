// A key's limits: what is left of them now, and a form to set, change or
// remove them (owners and admins). Saving starts the counters afresh.

import { useEffect, useState } from 'preact/hooks';
import { api, ok, type ApiKey, type ApiProblem, type Limits, type Usage } from '../api/client';
import { formatCount, formatLimits, formatTime } from '../format';
import { Dialog, SubmitOrCancel } from './dialog';
import { asProblem, ErrorSummary, FieldError } from './problems';

type Every = 'day' | 'month';

interface Form {
  rate: boolean;
  requests: string;
  perSeconds: string;
  credits: boolean;
  remaining: string;
  refill: 'none' | Every;
  amount: string;
}

function formOf(limits: Limits | null | undefined): Form {
  return {
    rate: !!limits?.rate,
    requests: String(limits?.rate?.requests ?? 100),
    perSeconds: String(limits?.rate?.per_seconds ?? 60),
    credits: !!limits?.credits,
    remaining: String(limits?.credits?.remaining ?? 10_000),
    refill: limits?.credits?.refill?.every ?? 'none',
    amount: String(limits?.credits?.refill?.amount ?? limits?.credits?.remaining ?? 10_000),
  };
}

/** The form as the API takes it. Numbers go as typed: the API names what it refuses. */
function limitsOf(form: Form): Limits | null {
  const number = (text: string) => (text.trim() === '' ? Number.NaN : Number(text));
  const limits: Limits = {};
  if (form.rate) limits.rate = { requests: number(form.requests), per_seconds: number(form.perSeconds) };
  if (form.credits) {
    limits.credits = { remaining: number(form.remaining) };
    if (form.refill !== 'none') limits.credits.refill = { amount: number(form.amount), every: form.refill };
  }
  return limits.rate || limits.credits ? limits : null;
}

export function LimitsDialog({
  apiKey,
  editable,
  onSaved,
  onClose,
}: {
  apiKey: ApiKey;
  /** Owners and admins change limits; others see them. */
  editable: boolean;
  onSaved: (key: ApiKey) => void;
  onClose: () => void;
}) {
  const [usage, setUsage] = useState<Usage | null | undefined>(undefined);
  const [form, setForm] = useState<Form>(() => formOf(apiKey.limits));
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ok(api.GET('/v1/api-keys/{id}', { params: { path: { id: apiKey.id } } })).then(
      (key) => {
        setUsage(key.usage ?? null);
        setForm(formOf(key.limits));
      },
      (error) => setProblem(asProblem(error)),
    );
  }, [apiKey.id]);

  function change(update: Partial<Form>) {
    setForm({ ...form, ...update });
  }

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const body = { limits: limitsOf(form) };
      // A NaN (an empty box) goes as null, which the API refuses by name.
      const saved = await ok(api.PATCH('/v1/api-keys/{id}', { params: { path: { id: apiKey.id } }, body }));
      onSaved(saved);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  const number = (id: string, label: string, value: string, onInput: (value: string) => void, hint?: string) => (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <input
        id={id}
        type="number"
        inputMode="numeric"
        min={0}
        step={1}
        value={value}
        disabled={!editable}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onInput={(event) => onInput(event.currentTarget.value)}
      />
    </div>
  );

  return (
    <Dialog title="Limits of this API key" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ limits: form.rate ? 'limit-requests' : 'limit-remaining' }} />
        <p>
          <strong>{apiKey.name}</strong>: {apiKey.limits ? `${formatLimits(apiKey.limits)}.` : 'no limits yet.'} Every
          verify of a limited key spends from them; over a limit, verify answers <code>RATE_LIMITED</code> or{' '}
          <code>USAGE_EXCEEDED</code>.
        </p>
        <UsageNow usage={usage} />
        <FieldError problem={problem} field="limits" id="limits-error" />
        {editable ? (
          <>
            <fieldset class="field">
              <legend>Rate</legend>
              <label class="inline">
                <input type="checkbox" checked={form.rate} onChange={(event) => change({ rate: event.currentTarget.checked })} />
                Limit the rate
              </label>
              {form.rate && (
                <div class="field-row">
                  {number('limit-requests', 'Requests', form.requests, (requests) => change({ requests }), '1 to 1,000,000')}
                  {number('limit-per-seconds', 'Per seconds', form.perSeconds, (perSeconds) => change({ perSeconds }), '1 to 86,400 (a day)')}
                </div>
              )}
            </fieldset>
            <fieldset class="field">
              <legend>Credits</legend>
              <label class="inline">
                <input
                  type="checkbox"
                  checked={form.credits}
                  onChange={(event) => change({ credits: event.currentTarget.checked })}
                />
                Limit with credits
              </label>
              {form.credits && (
                <>
                  {number('limit-remaining', 'Credits to start with', form.remaining, (remaining) => change({ remaining }))}
                  <div class="field">
                    <label for="limit-refill">Refill</label>
                    <select
                      id="limit-refill"
                      value={form.refill}
                      onChange={(event) => change({ refill: event.currentTarget.value as Form['refill'] })}
                    >
                      <option value="none">Never</option>
                      <option value="day">Every day (UTC midnight)</option>
                      <option value="month">Every month (the 1st, UTC)</option>
                    </select>
                  </div>
                  {form.refill !== 'none' &&
                    number('limit-amount', 'Refill to', form.amount, (amount) => change({ amount }), 'The balance is set to this at each refill')}
                </>
              )}
            </fieldset>
            <p class="hint">Saving starts the counters afresh: a new balance and a new rate window.</p>
            <SubmitOrCancel action="Save limits" busy={busy} onCancel={onClose} />
          </>
        ) : (
          <div class="buttons">
            <button type="button" class="secondary" onClick={onClose}>
              Close
            </button>
          </div>
        )}
      </form>
    </Dialog>
  );
}

/** What is left now, as the key's counters say. */
function UsageNow({ usage }: { usage: Usage | null | undefined }) {
  if (usage === undefined) return <p class="muted">Reading what is left…</p>;
  if (usage === null) return null;
  return (
    <dl class="usage" aria-label="Left now">
      {usage.credits_remaining !== null && (
        <div>
          <dt>Credits left</dt>
          <dd>
            {formatCount(usage.credits_remaining)}
            {usage.refill_at && <span class="muted"> (refill {formatTime(usage.refill_at)})</span>}
          </dd>
        </div>
      )}
      {usage.rate_remaining !== null && (
        <div>
          <dt>Requests left in this window</dt>
          <dd>
            {formatCount(usage.rate_remaining)}
            {usage.rate_resets_at && <span class="muted"> (until {formatTime(usage.rate_resets_at)})</span>}
          </dd>
        </div>
      )}
    </dl>
  );
}
