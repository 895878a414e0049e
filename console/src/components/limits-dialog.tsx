// A key's limits: what is left of them now, and a form to set, change or
// remove them (owners and admins). Saving starts the counters afresh.

import { useEffect, useState } from 'preact/hooks';
import { api, ok, type ApiKey, type ApiProblem, type Limits, type Balance } from '../api/client';
import { formatCount, formatLimits, formatTime } from '../format';
import { Dialog, SubmitOrCancel } from './dialog';
import { asProblem, ErrorSummary, FieldError, isAbout, localProblem } from './problems';

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

/** Each number's API field, input, words and bounds (the API's own: `domain::limits`). */
const NUMBERS = {
  requests: { field: 'limits.rate.requests', input: 'limit-requests', label: 'Requests', min: 1, max: 1_000_000 },
  perSeconds: { field: 'limits.rate.per_seconds', input: 'limit-per-seconds', label: 'Per seconds', min: 1, max: 86_400 },
  remaining: { field: 'limits.credits.remaining', input: 'limit-remaining', label: 'Credits to start with', min: 0, max: 1_000_000_000 },
  amount: { field: 'limits.credits.refill.amount', input: 'limit-amount', label: 'Refill to', min: 1, max: 1_000_000_000 },
} as const;
type NumberName = keyof typeof NUMBERS;

/** The first number the API would refuse, said at its field before anything is sent. */
function check(form: Form): ApiProblem | null {
  const shown: NumberName[] = [
    ...(form.rate ? (['requests', 'perSeconds'] as const) : []),
    ...(form.credits ? (['remaining'] as const) : []),
    ...(form.credits && form.refill !== 'none' ? (['amount'] as const) : []),
  ];
  for (const name of shown) {
    const { field, label, min, max } = NUMBERS[name];
    const text = form[name].trim();
    const whole = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(whole) || whole < min || whole > max) {
      return localProblem(field, `${label} must be a whole number from ${min.toLocaleString()} to ${max.toLocaleString()}.`);
    }
  }
  return null;
}

/** The form as the API takes it (checked first: see `check`). */
function limitsOf(form: Form): Limits | null {
  const number = (text: string) => Number(text.trim());
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
  const [balance, setBalance] = useState<Balance | null | undefined>(undefined);
  const [form, setForm] = useState<Form>(() => formOf(apiKey.limits));
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ok(api.GET('/v1/api-keys/{id}', { params: { path: { id: apiKey.id } } })).then(
      (key) => {
        setBalance(key.usage ?? null);
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
    const refused = check(form);
    if (refused) {
      setProblem(refused);
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const body = { limits: limitsOf(form) };
      const saved = await ok(api.PATCH('/v1/api-keys/{id}', { params: { path: { id: apiKey.id } }, body }));
      onSaved(saved);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  const number = (name: NumberName, hint?: string) => {
    const { field, input: id, label } = NUMBERS[name];
    const wrong = isAbout(problem, field);
    const described = [hint && `${id}-hint`, wrong && `${id}-error`].filter(Boolean).join(' ');
    return (
      <div class="field">
        <label for={id}>{label}</label>
        {hint && (
          <p class="hint" id={`${id}-hint`}>
            {hint}
          </p>
        )}
        <FieldError problem={problem} field={field} id={`${id}-error`} />
        <input
          id={id}
          inputMode="numeric"
          autocomplete="off"
          value={form[name]}
          disabled={!editable}
          aria-invalid={wrong}
          aria-describedby={described || undefined}
          onInput={(event) => change({ [name]: event.currentTarget.value })}
        />
      </div>
    );
  };
  const summaryFields = Object.fromEntries(Object.values(NUMBERS).map(({ field, input }) => [field, input]));

  return (
    <Dialog title="Limits of this API key" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary
          problem={problem}
          fields={{ ...summaryFields, limits: form.rate ? 'limit-requests' : 'limit-remaining', 'limits.credits.refill.every': 'limit-refill' }}
        />
        <p>
          <strong>{apiKey.name}</strong>: {apiKey.limits ? `${formatLimits(apiKey.limits)}.` : 'no limits yet.'} Every
          check of a limited key spends from them; over a limit, the check answers “over its rate” or “out of
          credits”.
        </p>
        <BalanceNow balance={balance} />
        {problem?.field === 'limits' && <FieldError problem={problem} field="limits" id="limits-error" />}
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
                  {number('requests', '1 to 1,000,000')}
                  {number('perSeconds', '1 to 86,400 (a day)')}
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
                  {number('remaining', '0 to 1,000,000,000')}
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
                  {form.refill !== 'none' && number('amount', 'The balance is set to this at each refill: 1 to 1,000,000,000')}
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
export function BalanceNow({ balance }: { balance: Balance | null | undefined }) {
  if (balance === undefined) return <p class="muted">Reading what is left…</p>;
  if (balance === null) return null;
  return (
    <dl class="balance" aria-label="Left now">
      {balance.credits_remaining !== null && (
        <div>
          <dt>Credits left</dt>
          <dd>
            {formatCount(balance.credits_remaining)}
            {balance.refill_at && <span class="muted"> (refill {formatTime(balance.refill_at)})</span>}
          </dd>
        </div>
      )}
      {balance.rate_remaining !== null && (
        <div>
          <dt>Requests left in this window</dt>
          <dd>
            {formatCount(balance.rate_remaining)}
            {balance.rate_resets_at && <span class="muted"> (until {formatTime(balance.rate_resets_at)})</span>}
          </dd>
        </div>
      )}
    </dl>
  );
}
