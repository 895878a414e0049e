// The tenant's usage: this week's verifies by application, and what was
// refused and why, each as bars and as a table (and as CSV).

import { useEffect, useState } from 'preact/hooks';
import { api, everyApplication, ok, type ApiProblem } from '../api/client';
import type { components } from '../api/schema';
import { PageHead } from '../components/page';
import { asProblem, ErrorSummary } from '../components/problems';
import { CountsTable, CsvButton, describe, OUTCOME_WORDS, type Bar } from '../components/usage-chart';
import { formatCount } from '../format';

type TenantUsage = components['schemas']['TenantUsage'];

export function UsageOverview() {
  const [byApplication, setByApplication] = useState<TenantUsage | null>(null);
  const [byOutcome, setByOutcome] = useState<TenantUsage | null>(null);
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
          <strong>{formatCount(byApplication.total)}</strong> verifies of this organisation's keys in the last 7 days (UTC):{' '}
          {describe(byApplication.totals)}.
        </p>
      )}
      <div class="usage-panels">
        <section aria-labelledby="by-application-title" class="panel">
          <h2 id="by-application-title">Requests this week by application</h2>
          {byApplication && (
            <>
              <HorizontalBars bars={applicationBars} id="by-application" />
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
              <CountsTable bars={refusals} caption="Refusals this week by reason" first="Reason" />
            </>
          )}
        </section>
      </div>
      {!byApplication && !problem && <p class="muted">Reading the usage…</p>}
    </section>
  );
}

/** One bar per row, its label and number beside it: a list a screen reader reads as it is. */
function HorizontalBars({ bars, id }: { bars: Bar[]; id: string }) {
  if (bars.length === 0) return <p class="muted">No verifies this week.</p>;
  const totals = bars.map((bar) => Object.values(bar.counts).reduce<number>((sum, n) => sum + (n ?? 0), 0));
  const max = Math.max(1, ...totals);
  return (
    <ul class="hbars" id={id}>
      {bars.map((bar, index) => (
        <li key={bar.label}>
          <span class="hbar-label">{bar.label}</span>
          <span class="hbar-track" aria-hidden="true">
            <span class="hbar" style={{ width: `${(totals[index]! / max) * 100}%` }} />
          </span>
          <span class="hbar-value">
            {formatCount(totals[index]!)} <span class="muted">({describe(bar.counts)})</span>
          </span>
        </li>
      ))}
    </ul>
  );
}
