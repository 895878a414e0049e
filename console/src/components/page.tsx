// What every dashboard page starts with: its heading (and its main action),
// and a line that says what just changed.

import type { ComponentChildren } from 'preact';

export function PageHead({ id, title, children }: { id: string; title: string; children?: ComponentChildren }) {
  return (
    <div class="page-head">
      <h1 id={id}>{title}</h1>
      {children}
    </div>
  );
}

/** What the last action did, said where a screen reader hears it. */
export function Notice({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <p class="notice" role="status">
      {text}
    </p>
  );
}
