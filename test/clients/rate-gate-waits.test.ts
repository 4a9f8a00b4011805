import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sleepFor } from '../../src/clients/rate-gate-waits.ts';

describe('sleepFor (the gate’s wait for a slot)', () => {
  it('never wakes before its time, whether the wait is below, at or above a timer’s millisecond', async () => {
    // An early wake is an early send: the one thing the gate must never do. Late is the machine's.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6000 }), async (us) => {
        const ms = us / 1000;
        const started = performance.now();
        await sleepFor(ms);
        expect(performance.now() - started).toBeGreaterThanOrEqual(ms);
      }),
      { numRuns: 60 },
    );
  });

  it('gives up with the signal’s reason, in its timer and in its last millisecond', async () => {
    const reason = new Error('shutting down');
    // Inside the timer: a 500 ms wait aborted after 5 ms.
    const inTimer = new AbortController();
    const started = performance.now();
    const waiting = sleepFor(500, inTimer.signal);
    setTimeout(() => inTimer.abort(reason), 5);
    await expect(waiting).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(500);
    // Inside the last millisecond: a wait that short is all slices, and the abort comes before the
    // first of them (a microtask runs before any setImmediate).
    const inSlices = new AbortController();
    const slicing = sleepFor(1.5, inSlices.signal);
    queueMicrotask(() => inSlices.abort(reason));
    await expect(slicing).rejects.toBe(reason);
    await expect(sleepFor(5, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
