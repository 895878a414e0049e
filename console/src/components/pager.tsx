// Paging by the API's cursor: the cursors of the pages before this one make
// "Previous" possible, since a cursor only ever points forward.

import { useState } from 'preact/hooks';

export interface CursorPages {
  /** The cursor of the page shown (undefined: the first page). */
  cursor: string | undefined;
  hasPrevious: boolean;
  previous: () => void;
  next: (cursor: string) => void;
  /** Back to the first page (a filter changed). */
  reset: () => void;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    hasPrevious: cursors.length > 1,
    previous: () => setCursors(cursors.slice(0, -1)),
    next: (cursor) => setCursors([...cursors, cursor]),
    reset: () => setCursors([undefined]),
  };
}

export function Pager({ label, pages, nextCursor }: { label: string; pages: CursorPages; nextCursor: string | null | undefined }) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="secondary" disabled={!pages.hasPrevious} onClick={pages.previous}>
        Previous page
      </button>
      <button type="button" class="secondary" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        Next page
      </button>
    </nav>
  );
}
