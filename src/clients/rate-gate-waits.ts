/** The gate's waits (postgres-rate-gate.ts): for a slot, for a poll, for a turn; each abortable. */

/**
 * Waits `ms` measured from now. Node may fire a timer early by however long the current event loop
 * turn has run (timers start from the loop's cached clock), and an early send is exactly what the
 * gate must prevent, so the wait is checked against `performance.now()` and resumed if short. A
 * timer also fires up to a millisecond late (libuv counts whole milliseconds from the loop's
 * clock), so it is set for a millisecond less than the wait, and the last millisecond is waited
 * out turn by turn (`setImmediate`): every call was ~0.8 ms late before (bench/rate-gate.bench.ts,
 * B6), and a 1 ms timer for a 0.06 ms wait (the spacing at 1,000,000 a minute) would make every
 * call a millisecond late. Exported for the benchmark, which measures how late it wakes on the
 * machine with nothing else to do (the floor under B6's figure).
 */
export async function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) {
    if (left >= 2) await sleep(Math.floor(left) - 1, signal);
    else await spinUntil(until, signal);
  }
}

/**
 * Waits out the last millisecond turn by turn (`setImmediate`), other I/O served between turns, in
 * one promise: a promise per turn made the young generation fill every few calls, and V8 runs the
 * scavenge that follows as a task between those very turns, so the wake it delayed (1.3–12 ms, seen
 * with --trace-gc) was the caller's.
 */
function spinUntil(until: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const turn = () => {
      if (signal?.aborted) reject(signal.reason as Error);
      else if (performance.now() >= until) resolve();
      else setImmediate(turn);
    };
    setImmediate(turn);
  });
}

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
