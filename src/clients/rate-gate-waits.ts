/** The gate's waits (postgres-rate-gate.ts): for a slot, for a poll, for a turn; each abortable. */

/**
 * Waits `ms` measured from now. Node may fire a timer early by however long the current event loop
 * turn has run (timers start from the loop's cached clock), and an early send is exactly what the
 * gate must prevent, so the wait is checked against `performance.now()` and resumed if short. A
 * timer also fires up to a millisecond late (libuv counts whole milliseconds from the loop's
 * clock), so it is set for a millisecond less than the wait, and the last millisecond is waited
 * out in slices (`waitOut`): every call was ~0.8 ms late before (bench/rate-gate.bench.ts,
 * B6), and a 1 ms timer for a 0.06 ms wait (the spacing at 1,000,000 a minute) would make every
 * call a millisecond late. Exported for the benchmark, which measures how late it wakes on the
 * machine with nothing else to do (the floor under B6's figure).
 */
export async function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) {
    if (left >= 2) await sleep(Math.floor(left) - 1, signal);
    else await waitOut(until, signal);
  }
}

/**
 * Waits out the last millisecond in slices of `SLICE_MS`, each a sleep of the thread
 * (`Atomics.wait` on a cell nobody notifies), other I/O served between slices (`setImmediate`).
 * Before, the turns between checks of the clock were empty: ~250 turns for a wait, each an
 * Immediate, made ~114 KB of garbage and ~1.8 ms of CPU per wait; the young generation filled every
 * hundred calls or so, and V8 runs the scavenge that follows as a task between those very turns, so
 * the wake it delayed was the caller's (5 of the 6 latest wakes of a 25 s run, 2–10 ms, lined up
 * with a scavenge in --trace-gc). Now ~10 KB and ~0.35 ms of CPU per wait, and a wake ~0.07 ms late
 * at the median (the kernel's timer slack). Node lets the main thread wait on an atomic.
 */
function waitOut(until: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const slice = () => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const left = until - performance.now();
      if (left > 0) Atomics.wait(NEVER_NOTIFIED, 0, 0, Math.min(left, SLICE_MS));
      if (performance.now() >= until) resolve();
      else setImmediate(slice);
    };
    setImmediate(slice);
  });
}

/** The longest the event loop is held by one slice of the last millisecond (plus the kernel's slack). */
const SLICE_MS = 0.05;
const NEVER_NOTIFIED = new Int32Array(new SharedArrayBuffer(4));

/** Rejects with the signal's reason, like `signal.throwIfAborted()`. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
