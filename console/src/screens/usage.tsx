// The tenant's usage: this week's verifies day by day and by application,
// both split by outcome, and what was refused and why, each as bars and as a
// table (and as CSV).

import { useEffect, useState } from 'preact/hooks';
import { api, everyApplication, ok, type ApiProblem } from '../api/client';
import type { components } from '../api/schema';
import { PageHead } from '../components/page';
import { asProblem, ErrorSummary } from '../components/problems';
import {
  CountsTable,
  CsvButton,
  describe,
  Legend,
  OUTCOME_WORDS,
  OUTCOMES,
  StackedBars,
  total,
  type Bar,
} from '../components/usage-chart';
import { formatCount } from '../format';

type TenantUsage = components['schemas']['TenantUsage'];

const DAY_MS = 86_400_000;
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
const dayOfMonth = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

/** The last seven UTC days, oldest first: each one's verifies by outcome (seven small reads). */
async function lastSevenDays(): Promise<Bar[]> {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const days = Array.from({ length: 7 }, (_, index) => today - (6 - index) * DAY_MS);
  const read = (start: number) =>
    ok(
      api.GET('/v1/usage', {
        params: {
          query: {
            group_by: 'outcome',
            from: new Date(start).toISOString(),
            to: new Date(Math.min(start + DAY_MS - 1000, Date.now())).toISOString(),
          },
        },
      }),
    ) as Promise<TenantUsage>;
  const answers = await Promise.all(days.map(read));
  return answers.map((answer, index) => ({
    label: weekday.format(days[index]!),
    tick: dayOfMonth.format(days[index]!),
    counts: answer.totals,
  }));
}

export function UsageOverview() {
  const [byApplication, setByApplication] = useState<TenantUsage | null>(null);
  const [byOutcome, setByOutcome] = useState<TenantUsage | null>(null);
  const [daily, setDaily] = useState<Bar[] | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<ApiProblem | null>(null);

  useEffect(() => {
    const read = (group_by: 'application' | 'outcome') =>
      ok(api.GET('/v1/usage', { params: { query: { group_by, limit: 100 } } })) as Promise<TenantUsage>;
    Promise.all([read('application'), read('outcome'), everyApplication()]).then(
      ([applications, outcomes, catalog]) => {
        setByApplication(applications);
        setByOutcome(outcomes);
        setNames(Object.fromEntries(catalog.map((application) => [application.id, application.name])));
      },
      (error) => setProblem(asProblem(error)),
    );
    lastSevenDays().then(setDaily, (error) => setProblem(asProblem(error)));
  }, []);

  const applicationBars: Bar[] = (byApplication?.groups ?? []).map((group) => ({
    label: names[group.id] ?? group.id,
    counts: group.counts,
  }));
  const refusals: Bar[] = (byOutcome?.groups ?? [])
    .filter((group) => group.id !== 'VALID')
    .map((group) => ({ label: OUTCOME_WORDS[group.id] ?? group.id, counts: group.counts }));
  return (
    <section aria-labelledby="usage-page-title">
      <PageHead id="usage-page-title" title="Usage" />
      <ErrorSummary problem={problem} />
      {byApplication && (
        <p class="usage-total">
          <strong>{formatCount(byApplication.total)}</strong> {byApplication.total === 1 ? 'verify' : 'verifies'} of this organisation's keys in the last 7 days (UTC):{' '}
          {describe(byApplication.totals)}.
        </p>
      )}
      {daily && (
        <section aria-labelledby="daily-title" class="panel">
          <h2 id="daily-title">Verifies day by day</h2>
          <StackedBars id="daily" bars={daily} summary="Verifies of this organisation's keys on each of the last 7 days (UTC), stacked by outcome." />
          <details class="numbers">
            <summary>The numbers, as a table</summary>
            <CountsTable bars={daily} caption="Verifies each day by outcome" first="Day" />
          </details>
        </section>
      )}
      <div class="usage-panels">
        <section aria-labelledby="by-application-title" class="panel">
          <h2 id="by-application-title">Requests this week by application</h2>
          {byApplication && (
            <>
              <HorizontalBars bars={applicationBars} id="by-application" />
              <Legend bars={applicationBars} />
              <details class="numbers">
                <summary>The numbers, as a table</summary>
                <CountsTable bars={applicationBars} caption="Verifies this week by application" first="Application" />
              </details>
              <CsvButton
                filename="usage-by-application.csv"
                csv={() => api.GET('/v1/usage', { params: { query: { group_by: 'application', limit: 100, format: 'csv' } }, parseAs: 'text' })}
              >
                Download as CSV
              </CsvButton>
            </>
          )}
        </section>
        <section aria-labelledby="refused-title" class="panel">
          <h2 id="refused-title">Refused by reason</h2>
          {byOutcome && refusals.length === 0 && <p class="muted">Nothing was refused this week.</p>}
          {byOutcome && refusals.length > 0 && (
            <>
              <HorizontalBars bars={refusals} id="refused" />
              <CountsTable bars={refusals} caption="Refusals this week by reason" first="Reason" byOutcome={false} />
            </>
          )}
        </section>
      </div>
      {!byApplication && !problem && <p class="muted">Reading the usage…</p>}
    </section>
  );
}

/**
 * One bar per row, split by outcome in the charts' colours, its label and
 * numbers beside it: a list a screen reader reads as it is.
 */
function HorizontalBars({ bars, id }: { bars: Bar[]; id: string }) {
  if (bars.length === 0) return <p class="muted">No verifies this week.</p>;
  const totals = bars.map((bar) => total(bar.counts));
  const max = Math.max(1, ...totals);
  return (
    <ul class="hbars" id={id}>
      {bars.map((bar, index) => (
        <li key={bar.label}>
          <span class="hbar-label">{bar.label}</span>
          <span class="hbar-track" aria-hidden="true">
            {OUTCOMES.map(([code, , colour]) =>
              (bar.counts[code] ?? 0) > 0 ? (
                <span key={code} class="hbar" style={{ width: `${((bar.counts[code] ?? 0) / max) * 100}%`, background: colour }} />
              ) : null,
            )}
          </span>
          <span class="hbar-value">
            {formatCount(totals[index]!)} <span class="muted">({describe(bar.counts)})</span>
          </span>
        </li>
      ))}
    </ul>
  );
}
