import { describe, expect, it } from 'vitest';
import { createMemoryRateGate } from '../../src/clients/memory-rate-gate.ts';
import type { AccountLimit } from '../../src/clients/rate-gate.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Largest number of timestamps falling in any half-open window [t, t + windowMs). */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while ((sorted[j] ?? 0) - (sorted[i] ?? 0) >= windowMs) i++;
    busiest = Math.max(busiest, j - i + 1);
  }
  return busiest;
}

describe('createMemoryRateGate', () => {
  it('never grants more than 5 in any 200 ms window, and grants the first 5 at once', async () => {
    const gate = createMemoryRateGate();
    const limit: AccountLimit = { key: 'test:window', requests: 5, windowMs: 200 };
    const started = performance.now();

    const grants = await Promise.all(
      Array.from({ length: 23 }, async () => {
        const release = await gate.acquire(limit);
        const at = performance.now();
        await sleep(Math.random() * 10);
        await release();
        return at;
      }),
    );

    expect(busiestWindow(grants, 200)).toBe(5);
    // The limiter must not be trivially "correct" by serialising everything: a burst fits at once.
    const sorted = grants.sort((a, b) => a - b);
    expect((sorted[4] ?? Infinity) - started).toBeLessThan(100);
    expect((sorted[5] ?? 0) - started).toBeGreaterThanOrEqual(200);
  });

  it('counts the window from the release, so a slow request still leaves a full window before the next', async () => {
    const gate = createMemoryRateGate();
    const limit: AccountLimit = { key: 'test:slow', requests: 1, windowMs: 100 };

    const first = await gate.acquire(limit);
    const second = gate.acquire(limit);
    await sleep(60);
    const releasedAt = performance.now();
    await first();
    await (
      await second
    )();
    expect(performance.now() - releasedAt).toBeGreaterThanOrEqual(100);
  });

  it('with concurrency 1 never has two holders, and grants in FIFO order', async () => {
    const gate = createMemoryRateGate();
    const limit: AccountLimit = { key: 'test:single', requests: 1000, windowMs: 1000, concurrency: 1 };
    let holders = 0;
    let maxHolders = 0;
    const order: number[] = [];

    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const release = await gate.acquire(limit);
        try {
          order.push(i);
          holders += 1;
          maxHolders = Math.max(maxHolders, holders);
          await sleep(Math.random() * 3);
        } finally {
          holders -= 1;
          await release();
        }
      }),
    );

    expect(maxHolders).toBe(1);
    expect(order).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('treats a second release as a no-op', async () => {
    const gate = createMemoryRateGate();
    const limit: AccountLimit = { key: 'test:idempotent', requests: 1000, windowMs: 1000, concurrency: 1 };

    const first = await gate.acquire(limit);
    await first();
    await first();

    const second = await gate.acquire(limit);
    let thirdGranted = false;
    const third = gate.acquire(limit).then((release) => {
      thirdGranted = true;
      return release;
    });
    await first(); // must not free the slot `second` holds
    await sleep(20);
    expect(thirdGranted).toBe(false);

    await second();
    await (
      await third
    )();
    expect(thirdGranted).toBe(true);
  });

  it('keeps keys independent', async () => {
    const gate = createMemoryRateGate();
    const held = await gate.acquire({ key: 'test:a', requests: 1, windowMs: 60_000, concurrency: 1 });
    const other = await Promise.race([
      gate.acquire({ key: 'test:b', requests: 1, windowMs: 60_000, concurrency: 1 }),
      sleep(50).then(() => undefined),
    ]);
    expect(other).toBeTypeOf('function');
    await held();
  });

  it('rejects a limit that could never grant', async () => {
    const gate = createMemoryRateGate();
    await expect(gate.acquire({ key: 'test:bad', requests: 0, windowMs: 1000 })).rejects.toThrow(RangeError);
    await expect(
      gate.acquire({ key: 'test:bad', requests: 5, windowMs: 1000, concurrency: 0 }),
    ).rejects.toThrow(RangeError);
  });
});
