import * as fs from 'node:fs';

export interface LoopOptions {
  /** One pass of the service's work. Errors are reported through onError and the loop goes on. */
  cycle: () => Promise<void>;
  /** Fallback period: a full pass runs at least this often even if no file event arrives. */
  intervalMs: number;
  /** Folders whose changes should trigger a pass soon (fs.watch; missing folders are re-tried each period). */
  watch?: () => string[];
  /** Coalesce bursts of file events into one pass. */
  debounceMs?: number;
  signal: AbortSignal;
  onError: (e: unknown) => void;
  /** Called after each pass with its duration. */
  onCycle?: (ms: number) => void;
}

/**
 * Run `cycle` now, then again whenever a watched folder changes (debounced) or `intervalMs` passes,
 * until `signal` aborts. A pass is never run concurrently with itself; events during a pass schedule one more.
 */
export async function runLoop(o: LoopOptions): Promise<void> {
  const watchers = new Map<string, fs.FSWatcher>();
  let wake: (() => void) | null = null;
  let pending = false;
  let debounce: NodeJS.Timeout | null = null;

  const trigger = () => {
    pending = true;
    if (debounce) return;
    debounce = setTimeout(() => {
      debounce = null;
      wake?.();
    }, o.debounceMs ?? 50);
  };

  // The last list asked for, and whether some of it could not be watched (then it is re-tried every time).
  let lastWanted: string[] | undefined;
  let missing = 0;
  /** Watch what the service wants watched now; returns how many folders are newly watched. */
  const refreshWatchers = (): number => {
    let added = 0;
    const wanted = o.watch?.() ?? [];
    if (wanted === lastWanted && missing === 0) return 0; // the same array: nothing to diff
    lastWanted = wanted;
    missing = 0;
    const want = new Set(wanted);
    for (const [p, w] of watchers) {
      if (!want.has(p)) {
        w.close();
        watchers.delete(p);
      }
    }
    for (const p of want) {
      if (watchers.has(p)) continue;
      try {
        const w = fs.watch(p, { persistent: false }, trigger);
        w.on('error', () => {
          w.close();
          watchers.delete(p);
          missing++; // watch it again at the next refresh
        });
        watchers.set(p, w);
        added++;
      } catch {
        // Not there yet (or not watchable): the periodic pass covers it, and we retry next time.
        missing++;
      }
    }
    return added;
  };

  const onAbort = () => wake?.();
  o.signal.addEventListener('abort', onAbort);
  try {
    while (!o.signal.aborted) {
      pending = false;
      refreshWatchers();
      const t0 = Date.now();
      try {
        await o.cycle();
      } catch (e) {
        o.onError(e);
      }
      o.onCycle?.(Date.now() - t0);
      if (o.signal.aborted) break;
      // A pass that found new folders (a job being written, say) watches them at once, and looks once more: a
      // file that landed in one before its watcher existed would otherwise wait for the fallback period.
      if (refreshWatchers() > 0) pending = true;
      if (pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, o.intervalMs);
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    if (debounce) clearTimeout(debounce);
    for (const w of watchers.values()) w.close();
  }
}
