/** Data hooks: load an API resource and refresh it on an interval while the page is visible. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, onConnection } from './api.ts';

/** State of a polled resource. */
export interface Polled<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  /** When the data last arrived. */
  updatedAt?: Date;
  reload: () => void;
}

/** GETs `path` now and every `intervalMs` (0 = once); `path` null = do nothing. */
export function usePolled<T>(path: string | null, intervalMs: number): Polled<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean; updatedAt?: Date }>({
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick forces a reload
  useEffect(() => {
    if (!path) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      const call = ++latest.current;
      try {
        const data = await api<T>(path);
        if (!stopped && call === latest.current) setState({ data, loading: false, updatedAt: new Date() });
      } catch (error) {
        if (!stopped && call === latest.current) setState((s) => ({ ...s, error, loading: false }));
      }
      if (!stopped && intervalMs > 0) timer = setTimeout(run, document.hidden ? intervalMs * 4 : intervalMs);
    };
    setState((s) => ({ ...s, loading: true, error: undefined }));
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [path, intervalMs, tick]);

  return { ...state, reload };
}

/**
 * State for the error of an operator's action (Replay, Send, Pause…) that clears itself once WADI
 * answers again after the connection was lost: "WADI did not answer" must not outlive the outage.
 */
export function useActionError(): [string | undefined, (e: string | undefined) => void] {
  const [error, setError] = useState<string>();
  useEffect(() => {
    let lost = false;
    return onConnection((since) => {
      if (since) lost = true;
      else if (lost) {
        lost = false;
        setError(undefined);
      }
    });
  }, []);
  return [error, setError];
}
