// What the Application and Arx dashboards share: the whole list (the catalog
// is small), the problem that stopped it, and a notice after each change,
// which reloads the list.

import { useEffect, useState } from 'preact/hooks';
import type { ApiProblem } from '../api/client';
import { asProblem } from './problems';

export function useCatalogList<T>(load: () => Promise<T[]>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  function reload() {
    load().then(setItems, (error) => setProblem(asProblem(error)));
  }
  useEffect(reload, []);

  /** After a change: say what happened and show the list as it is now. */
  function changed(message: string) {
    setProblem(null);
    setNotice(message);
    reload();
  }

  return { items, problem, setProblem, notice, changed };
}
