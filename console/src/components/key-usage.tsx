// A key's usage on its page (or an identity's, all its keys together, or a
// rate limit's checks): the last 24 hours by hour, or the last 30 days by
// day, as stacked bars (accepted, then each reason for a refusal; or let
// through and limited), the same numbers as a table, and as CSV.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ok, type ApiProblem } from '../api/client';
import type { components } from '../api/schema';
import { capitalise, formatCount } from '../format';
import { asProblem, ErrorSummary } from './problems';
import { CountsTable, CsvButton, describe, StackedBars, type Bar } from './usage-chart';

type KeyUsage = components['schemas']['KeyUsage'];
type NamespaceUsage = components['schemas']['NamespaceUsage'];
type Granularity = 'hour' | 'day';

const hour = new Intl.DateTimeFormat(undefined, { hour: 'numeric', day: 'numeric', month: 'short' });
const hourTick = new Intl.DateTimeFormat(undefined, { hour: 'numeric' });
const day = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

export function barsOf(usage: KeyUsage | NamespaceUsage): Bar[] {
  const every = usage.granularity === 'hour' ? 6 : 7;
  return usage.buckets.map((bucket, index) => {
    const at = new Date(bucket.start);
    return {
      label: usage.granularity === 'hour' ? hour.format(at) : day.format(at),
      tick: index % every === 0 ? (usage.granularity === 'hour' ? hourTick.format(at) : day.format(at)) : undefined,
      counts: bucket.counts,
    };
  });
}

/** Whose usage: one key's, one identity's (all its keys'), or one rate limit's checks. */
export type UsageOf = { key: string } | { identity: string } | { namespace: string };

function read(of: UsageOf, granularity: Granularity, format?: 'csv') {
  const query = { granularity, format };
  const parseAs = format ? 'text' : 'json';
  if ('key' in of) return api.GET('/v1/api-keys/{id}/usage', { params: { path: { id: of.key }, query }, parseAs });
  if ('identity' in of) return api.GET('/v1/identities/{id}/usage', { params: { path: { id: of.identity }, query }, parseAs });
  return api.GET('/v1/ratelimit-namespaces/{id}/usage', { params: { path: { id: of.namespace }, query }, parseAs });
}

/** How the section speaks of what it counts: its title, one and many, and whose. */
function wordsFor(of: UsageOf) {
  if ('namespace' in of) return { title: 'Checks', one: 'check', many: 'checks', whose: 'this rate limit', id: of.namespace };
  if ('identity' in of) return { title: 'Usage', one: 'verify', many: 'verifies', whose: "this identity's keys", id: of.identity };
  return { title: 'Usage', one: 'verify', many: 'verifies', whose: 'this key', id: of.key };
}

/**
 * The usage of `of`; `reloads` reads it again when it changes, and `more`
 * adds what only some usage has (a rate limit's most limited identifiers).
 */
export function KeyUsageSection({
  of,
  reloads: outerReloads = 0,
  more,
}: {
  of: UsageOf;
  reloads?: number;
  more?: (usage: KeyUsage | NamespaceUsage) => ComponentChildren;
}) {
  const { title, one, many, whose, id } = wordsFor(of);
  const [granularity, setGranularity] = useState<Granularity>('hour');
  const [usage, setUsage] = useState<KeyUsage | NamespaceUsage | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let current = true;
    ok(read(of, granularity)).then(
      // JSON (the CSV form of the same route is asked for by its button).
      (read) => current && (setUsage(read as KeyUsage | NamespaceUsage), setProblem(null)),
      (error) => current && setProblem(asProblem(error)),
    );
    return () => {
      current = false;
    };
  }, [id, granularity, reloads, outerReloads]);

  const span = granularity === 'hour' ? 'the last 24 hours' : 'the last 30 days';
  const bars = usage ? barsOf(usage) : [];
  return (
    <section aria-labelledby="usage-title" class="usage-section">
      <div class="section-head">
        <h2 id="usage-title">{title}</h2>
        <div class="buttons">
          <label class="inline-select">
            Show
            <select value={granularity} onChange={(event) => setGranularity(event.currentTarget.value as Granularity)}>
              <option value="hour">The last 24 hours, by hour</option>
              <option value="day">The last 30 days, by day</option>
            </select>
          </label>
          <button type="button" class="secondary" onClick={() => setReloads((n) => n + 1)}>
            Refresh
          </button>
        </div>
      </div>
      <ErrorSummary problem={problem} />
      {usage && (
        <>
          <p class="usage-total">
            <strong>{formatCount(usage.total)}</strong> {usage.total === 1 ? one : many} in {span}
            {usage.total > 0 || !('namespace' in of) ? `: ${describe(usage.totals)}` : ''}.
          </p>
          <StackedBars id="key-usage" bars={bars} summary={`${capitalise(many)} of ${whose} in ${span}, stacked by outcome.`} />
          <details class="numbers">
            <summary>The numbers, as a table</summary>
            <CountsTable bars={bars} caption={`${capitalise(many)} of ${whose} in ${span}`} first={granularity === 'hour' ? 'Hour' : 'Day'} />
          </details>
          <CsvButton
            filename={`${id}-usage-${granularity}.csv`}
            csv={() => read(of, granularity, 'csv')}
          >
            Download as CSV
          </CsvButton>
          {more?.(usage)}
        </>
      )}
      {!usage && !problem && <p class="muted">Reading the usage…</p>}
    </section>
  );
}
