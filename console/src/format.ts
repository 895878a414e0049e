// How times and labels read on screen.

import type { Limits } from './api/client';

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : when.format(date);
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A date input's `2027-01-31` as the end of that day in UTC, the key's last moment. */
export function endOfDayUtc(date: string): string {
  return `${date}T23:59:59Z`;
}

const count = new Intl.NumberFormat(undefined);

/** A key's limits in a few words: "100 per 60 s · 10,000 credits, refilled monthly". */
export function formatLimits(limits: Limits | null | undefined): string {
  if (!limits || (!limits.rate && !limits.credits)) return 'None';
  const parts: string[] = [];
  if (limits.rate) parts.push(`${count.format(limits.rate.requests)} per ${count.format(limits.rate.per_seconds)} s`);
  if (limits.credits) {
    const refill = limits.credits.refill;
    parts.push(
      refill
        ? `${count.format(refill.amount)} credits, refilled ${refill.every === 'day' ? 'daily' : 'monthly'}`
        : `${count.format(limits.credits.remaining)} credits`,
    );
  }
  return parts.join(' · ');
}

export function formatCount(n: number): string {
  return count.format(n);
}
