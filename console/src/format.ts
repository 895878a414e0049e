// How times and labels read on screen.

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
