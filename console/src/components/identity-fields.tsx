// An identity's limits and meta as a form holds them (text), their check
// before anything is sent, and how they read on screen.

import type { ApiProblem, IdentityLimits } from '../api/client';
import { formatCount } from '../format';
import { isAbout, FieldError, localProblem } from './problems';

/** What the limits' inputs hold. */
export type LimitsText = { credits: string; refillAmount: string; refillEvery: 'day' | 'month'; rates: string };

export const NO_LIMITS_TEXT: LimitsText = { credits: '', refillAmount: '', refillEvery: 'month', rates: '' };

const RATE_LINE = /^([A-Za-z0-9][A-Za-z0-9._:-]{0,63})\s+(\d{1,7})\s*(?:per|\/)\s*(\d{1,5})\s*s?$/i;

/** The text of limits as stored. */
export function limitsText(limits: IdentityLimits | undefined): LimitsText {
  const credits = limits?.credits;
  return {
    credits: credits ? String(credits.remaining) : '',
    refillAmount: credits?.refill ? String(credits.refill.amount) : '',
    refillEvery: credits?.refill?.every ?? 'month',
    rates: (limits?.rate_limits ?? []).map((r) => `${r.name} ${r.requests} per ${r.per_seconds}`).join('\n'),
  };
}

/** The limits typed, or what is wrong with them (the API checks again). */
export function parseLimits(text: LimitsText): { limits: IdentityLimits } | { problem: ApiProblem } {
  const limits: IdentityLimits = {};
  const whole = (value: string) => (/^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN);
  if (text.credits.trim()) {
    const remaining = whole(text.credits);
    if (!(remaining >= 0 && remaining <= 1e9)) {
      return { problem: localProblem('limits.credits', 'The credits must be a whole number from 0 to 1,000,000,000.') };
    }
    limits.credits = { remaining };
    if (text.refillAmount.trim()) {
      const amount = whole(text.refillAmount);
      if (!(amount >= 1 && amount <= 1e9)) {
        return { problem: localProblem('limits.credits', 'The refill must be a whole number from 1 to 1,000,000,000.') };
      }
      limits.credits.refill = { amount, every: text.refillEvery };
    }
  } else if (text.refillAmount.trim()) {
    return { problem: localProblem('limits.credits', 'A refill needs credits to start with.') };
  }
  const lines = text.rates.split('\n').map((line) => line.trim()).filter(Boolean);
  const rates: NonNullable<IdentityLimits['rate_limits']> = [];
  for (const line of lines) {
    const match = RATE_LINE.exec(line);
    const [, name, requests, seconds] = match ?? [];
    if (!name || !requests || !seconds) {
      return {
        problem: localProblem(
          'limits.rate_limits',
          `“${line.slice(0, 40)}” is not a rate limit: write a name, a number of requests and a number of seconds, such as “requests 600 per 60”.`,
        ),
      };
    }
    if (rates.some((rate) => rate.name === name)) {
      return { problem: localProblem('limits.rate_limits', `The name “${name}” is used twice: each rate limit needs its own.`) };
    }
    const [n, per] = [Number(requests), Number(seconds)];
    if (!(n >= 1 && n <= 1e6 && per >= 1 && per <= 86400)) {
      return {
        problem: localProblem('limits.rate_limits', 'A rate limit is 1 to 1,000,000 requests per 1 to 86,400 seconds.'),
      };
    }
    rates.push({ name, requests: n, per_seconds: per });
  }
  if (rates.length > 10) return { problem: localProblem('limits.rate_limits', 'An identity has at most 10 rate limits.') };
  if (rates.length) limits.rate_limits = rates;
  return { limits };
}

/** The limits in words: "10,000 credits, refilled monthly · requests: 600 per 60 s". */
export function formatIdentityLimits(limits: IdentityLimits | undefined): string {
  const parts: string[] = [];
  const credits = limits?.credits;
  if (credits) {
    parts.push(
      credits.refill
        ? `${formatCount(credits.remaining)} credits, refilled to ${formatCount(credits.refill.amount)} ${credits.refill.every === 'day' ? 'daily' : 'monthly'}`
        : `${formatCount(credits.remaining)} credits`,
    );
  }
  for (const rate of limits?.rate_limits ?? []) {
    parts.push(`${rate.name}: ${formatCount(rate.requests)} per ${formatCount(rate.per_seconds)} s`);
  }
  return parts.length ? parts.join(' · ') : 'None';
}

/** The inputs of an identity's limits. */
export function LimitsFields({
  text,
  problem,
  onChange,
}: {
  text: LimitsText;
  problem: ApiProblem | null;
  onChange: (text: LimitsText) => void;
}) {
  const creditsBad = isAbout(problem, 'limits.credits');
  const ratesBad = isAbout(problem, 'limits.rate_limits');
  return (
    <fieldset class="field">
      <legend>Limits its keys share (optional)</legend>
      <p class="hint" id="identity-limits-hint">
        Charged at every check of any of its keys, beside the key's own limits: a request passes only if both allow it.
      </p>
      <FieldError problem={problem} field="limits.credits" id="identity-credits-error" />
      <div class="field">
        <label for="identity-credits">Credits to start with</label>
        <input
          id="identity-credits"
          inputMode="numeric"
          value={text.credits}
          aria-invalid={creditsBad}
          aria-describedby={creditsBad ? 'identity-credits-error' : undefined}
          onInput={(event) => onChange({ ...text, credits: event.currentTarget.value })}
        />
      </div>
      <div class="field inline-fields">
        <div>
          <label for="identity-refill">Refill to (optional)</label>
          <input
            id="identity-refill"
            inputMode="numeric"
            value={text.refillAmount}
            onInput={(event) => onChange({ ...text, refillAmount: event.currentTarget.value })}
          />
        </div>
        <div>
          <label for="identity-refill-every">Every</label>
          <select
            id="identity-refill-every"
            value={text.refillEvery}
            onChange={(event) => onChange({ ...text, refillEvery: event.currentTarget.value as 'day' | 'month' })}
          >
            <option value="day">day (UTC midnight)</option>
            <option value="month">month (the 1st)</option>
          </select>
        </div>
      </div>
      <div class="field">
        <label for="identity-rates">Rate limits, one per line</label>
        <p class="hint" id="identity-rates-hint">
          A name, how many requests and per how many seconds: <code>requests 600 per 60</code>. Your service may name
          which to charge at each check.
        </p>
        <FieldError problem={problem} field="limits.rate_limits" id="identity-rates-error" />
        <textarea
          id="identity-rates"
          rows={3}
          spellcheck={false}
          autocomplete="off"
          value={text.rates}
          aria-invalid={ratesBad}
          aria-describedby={['identity-rates-hint', ratesBad && 'identity-rates-error'].filter(Boolean).join(' ')}
          onInput={(event) => onChange({ ...text, rates: event.currentTarget.value })}
        />
      </div>
    </fieldset>
  );
}
