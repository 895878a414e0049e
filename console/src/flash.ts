// A message for the next screen, handed over once (never through the URL or
// history, and never a secret): "Key … was created", and which row to mark.

export interface Flash {
  notice: string;
  /** The id of the row to highlight, if any. */
  highlight?: string;
}

let pending: Flash | null = null;

export function flash(next: Flash): void {
  pending = next;
}

/** The message left for this screen, if any; it is gone once taken. */
export function takeFlash(): Flash | null {
  const taken = pending;
  pending = null;
  return taken;
}
