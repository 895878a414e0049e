// What keys did, drawn: stacked bars in plain SVG (no chart library: two
// shapes and a legend are a few hundred bytes, a library tens of KiB), each
// with a table of the same numbers, since a picture alone tells a screen
// reader nothing and colours alone tell some people nothing.

import type { ComponentChildren } from 'preact';
import { formatCount } from '../format';

/** Every outcome, in the order bars stack (the good first) and with its words. */
export const OUTCOMES: [string, string, string][] = [
  ['VALID', 'Accepted', '#166534'],
  ['ADDRESS_REPORTED', 'Accepted, from outside its allowlist (report only)', '#65a30d'],
  ['INSUFFICIENT_PERMISSIONS', 'Lacked a permission', '#7c3aed'],
  ['RATE_LIMITED', 'Over its rate', '#c2410c'],
  ['USAGE_EXCEEDED', 'Out of credits', '#b45309'],
  ['DISABLED', 'Disabled', '#b91c1c'],
  ['EXPIRED', 'Expired', '#475569'],
  ['DELETED', 'Deleted', '#0f172a'],
  ['ADDRESS_NOT_ALLOWED', 'From an address not allowed', '#be185d'],
  // A rate limit's checks (never in the same bars as a key's verifies).
  ['PASSED', 'Let through', '#166534'],
  ['LIMITED', 'Limited', '#c2410c'],
];

export const OUTCOME_WORDS: Record<string, string> = Object.fromEntries(OUTCOMES.map(([code, words]) => [code, words]));

export type Counts = Record<string, number | undefined>;

export interface Bar {
  /** What the bar is (an hour, a day, an application). */
  label: string;
  /** Its short label under the axis, if any. */
  tick?: string;
  counts: Counts;
}

export const total = (counts: Counts) => Object.values(counts).reduce<number>((sum, n) => sum + (n ?? 0), 0);

/** The top of an axis that holds `n`: 1, 2 or 5 times a power of ten, so its numbers read well. */
export function niceMax(n: number): number {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  const step = [1, 2, 5, 10].find((each) => each * power >= n) ?? 10;
  return step * power;
}

/** Bars of counts stacked by outcome, with a legend; `summary` says in words what the chart shows. */
export function StackedBars({ bars, summary, id }: { bars: Bar[]; summary: string; id: string }) {
  const height = 160;
  const width = Math.max(bars.length * 12, 240);
  const max = niceMax(Math.max(1, ...bars.map((bar) => total(bar.counts))));
  const slot = width / Math.max(bars.length, 1);
  return (
    <figure class="chart" aria-labelledby={`${id}-summary`}>
      {/* The y-axis's numbers in HTML beside the bars: SVG text would stretch with the chart. */}
      <div class="plot">
        <div class="y-axis" aria-hidden="true">
          <span style={{ top: '0%' }}>{formatCount(max)}</span>
          <span style={{ top: '50%' }}>{formatCount(max / 2)}</span>
          <span style={{ top: '100%' }}>0</span>
        </div>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-summary`} preserveAspectRatio="none">
        <line x1="0" y1={height / 2} x2={width} y2={height / 2} class="gridline" />
        <line x1="0" y1={height} x2={width} y2={height} class="axis" />
        {bars.map((bar, index) => {
          let top = height;
          return (
            <g key={bar.label}>
              <title>{`${bar.label}: ${describe(bar.counts)}`}</title>
              {OUTCOMES.map(([code, , colour]) => {
                const n = bar.counts[code] ?? 0;
                if (n === 0) return null;
                const h = (n / max) * (height - 4);
                top -= h;
                return <rect key={code} x={index * slot + slot * 0.15} y={top} width={slot * 0.7} height={h} fill={colour} />;
              })}
            </g>
          );
        })}
      </svg>
      </div>
      {/* Ticks in HTML, under the bars they name: SVG text would stretch with the chart. */}
      <div class="ticks" aria-hidden="true">
        {bars.map((bar, index) =>
          bar.tick ? (
            <span key={bar.label} style={{ left: `${(index / Math.max(bars.length, 1)) * 100}%` }}>
              {bar.tick}
            </span>
          ) : null,
        )}
      </div>
      <figcaption id={`${id}-summary`}>{summary}</figcaption>
      <Legend bars={bars} />
    </figure>
  );
}

/** What each colour of `bars` means, in words (only the outcomes they hold). */
export function Legend({ bars }: { bars: Bar[] }) {
  const used = OUTCOMES.filter(([code]) => bars.some((bar) => (bar.counts[code] ?? 0) > 0));
  if (used.length === 0) return null;
  return (
    <ul class="legend" aria-label="What the colours mean">
      {used.map(([code, words, colour]) => (
        <li key={code}>
          <span class="swatch" style={{ background: colour }} aria-hidden="true" />
          {words}
        </li>
      ))}
    </ul>
  );
}

/** "12 accepted, 3 out of credits" (or "no verifies"). */
export function describe(counts: Counts): string {
  const parts = OUTCOMES.filter(([code]) => (counts[code] ?? 0) > 0).map(
    ([code, words]) => `${formatCount(counts[code] ?? 0)} ${words.toLowerCase()}`,
  );
  return parts.length ? parts.join(', ') : 'no verifies';
}

/**
 * The chart's numbers as a table: a row per bar that has any, a column per
 * outcome seen (`byOutcome`), or only the total when each row is one outcome
 * already (a column per outcome would repeat each number down a diagonal).
 */
export function CountsTable({
  bars,
  caption,
  first,
  byOutcome = true,
}: {
  bars: Bar[];
  caption: string;
  first: string;
  byOutcome?: boolean;
}) {
  const rows = bars.filter((bar) => total(bar.counts) > 0);
  const used = byOutcome ? OUTCOMES.filter(([code]) => rows.some((bar) => (bar.counts[code] ?? 0) > 0)) : [];
  if (rows.length === 0) return <p class="muted">No verifies in this range.</p>;
  return (
    <div class="table-scroll">
      <table class="counts-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{first}</th>
            <th scope="col">{byOutcome ? 'All' : 'Verifies'}</th>
            {used.map(([code, words]) => (
              <th scope="col" key={code}>
                {words}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((bar) => (
            <tr key={bar.label}>
              <th scope="row">{bar.label}</th>
              <td>{formatCount(total(bar.counts))}</td>
              {used.map(([code]) => (
                <td key={code}>{formatCount(bar.counts[code] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A button that saves what `csv` fetches (the same numbers, as CSV) as `filename`. */
export function CsvButton({ csv, filename, children }: {
  csv: () => Promise<{ data?: unknown; response: Response }>;
  filename: string;
  children: ComponentChildren;
}) {
  async function download() {
    const answer = await csv();
    if (!answer.response.ok || typeof answer.data !== 'string') return;
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([answer.data], { type: 'text/csv' }));
    link.download = filename;
    link.click();
    URL.revokeObjectURL(link.href);
  }
  return (
    <button type="button" class="secondary" onClick={download}>
      {children}
    </button>
  );
}
