// A small history router: the path names the screen, nothing else. No secret
// and no form state ever goes into the URL or history state.

import { useEffect, useState } from 'preact/hooks';

let leaveWarning: string | null = null;
const listeners = new Set<() => void>();
// Read when the app first renders, not when this module loads: a return from
// sign-in rewrites the address before the first render.
let shownPath: string | null = null;
const currentPath = () => (shownPath ??= location.pathname);

function show(path: string) {
  shownPath = path;
  for (const listener of listeners) listener();
}

/** While set, leaving the screen (a link, Back, a reload, closing the tab) asks first. */
export function warnBeforeLeaving(message: string | null): void {
  leaveWarning = message;
}

export function navigate(path: string, { replace = false } = {}): void {
  if (path === currentPath()) return;
  if (leaveWarning && !confirm(leaveWarning)) return;
  leaveWarning = null;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  show(path);
}

addEventListener('popstate', () => {
  if (leaveWarning && !confirm(leaveWarning)) {
    // Back was pressed: put the screen's address back.
    history.pushState(null, '', currentPath());
    return;
  }
  leaveWarning = null;
  show(location.pathname);
});

addEventListener('beforeunload', (event) => {
  if (leaveWarning) event.preventDefault();
});

export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const listener = () => setPath(currentPath());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
  return path;
}

/** A link that changes screens without a page load (and keeps the leave warning). */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.pathname);
}
