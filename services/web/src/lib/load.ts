// Loading what a screen shows: one thing, or a list a page at a time (every list of the
// API pages with a cursor). Both keep what was shown when a later load fails, and say why.
import { useCallback, useEffect, useRef, useState } from "react";
import { problemOf, type Problem } from "../api/problem";

export interface Loaded<T> {
  data: T | undefined;
  problem: Problem | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setLoading(true);
    setProblem(null);
    load()
      .then((d) => current && setData(d))
      .catch((e: unknown) => current && setProblem(problemOf(e)))
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  return { data, problem, loading, reload: useCallback(() => setRound((r) => r + 1), []) };
}

export interface PageOf<T> {
  items: T[];
  next: string | null;
}

export interface Paged<T> {
  items: T[];
  problem: Problem | null;
  loading: boolean;
  hasMore: boolean;
  more: () => void;
  reload: () => void;
}

/** A list loaded a page at a time: `loadPage(after)` answers a page and the cursor of the next. */
export function usePaged<T>(loadPage: (after: string | null) => Promise<PageOf<T>>, deps: unknown[]): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const generation = useRef(0);

  const fetchPage = useCallback(
    (after: string | null, replace: boolean) => {
      const mine = ++generation.current;
      setLoading(true);
      setProblem(null);
      loadPage(after)
        .then((page) => {
          if (mine !== generation.current) return;
          setItems((old) => (replace ? page.items : [...old, ...page.items]));
          setNext(page.next);
        })
        .catch((e: unknown) => mine === generation.current && setProblem(problemOf(e)))
        .finally(() => mine === generation.current && setLoading(false));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    deps,
  );

  useEffect(() => {
    setItems([]);
    setNext(null);
    fetchPage(null, true);
  }, [fetchPage, round]);

  return {
    items,
    problem,
    loading,
    hasMore: next !== null,
    more: useCallback(() => next !== null && fetchPage(next, false), [fetchPage, next]),
    reload: useCallback(() => setRound((r) => r + 1), []),
  };
}
