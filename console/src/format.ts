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

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "3 minutes ago", "in 2 days", "now"; `—` for none. */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((at - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

/**
 * `apikey--…9c2e5f60`: the prefix and the id's last 8 hex. An id's first hex
 * are its creation time, shared by every key made near it; its last are
 * random, so they are what tells keys apart.
 */
export function shortId(id: string): string {
  const at = id.indexOf('--');
  if (at < 0 || id.length < at + 2 + 12) return id;
  return `${id.slice(0, at + 2)}…${id.slice(-8)}`;
}

/** Our own jobs, in words. */
const JOBS: Record<string, string> = {
  seed: 'the demo data',
  sweep: 'the hourly sweep',
  cascade: 'the clean-up after an archive or deletion',
  'github-secret-scanning': 'GitHub secret scanning',
};

/** Who made or changed something, in words: a person's id as it is, one of our jobs by what it does, a service key by its id. */
export function authorName(id: string): string {
  if (id.startsWith('system:')) {
    const job = id.slice('system:'.length);
    return JOBS[job] ?? `the system (${job})`;
  }
  if (id.startsWith('service-key:')) return `service key ${id.slice('service-key:'.length)}`;
  return id;
}
