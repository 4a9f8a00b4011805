import type { RateGate } from './rate-gate.ts';

/**
 * The rate gate, timed: how long each call waited for its account's slot, reported per external
 * system (the part of the key before `:`; the key's account id stays out of metrics).
 */
export function meteredGate(gate: RateGate, observe: (system: string, seconds: number) => void): RateGate {
  return {
    ...gate,
    async acquire(limit) {
      const started = performance.now();
      try {
        return await gate.acquire(limit);
      } finally {
        observe(limit.key.split(':')[0] ?? 'unknown', (performance.now() - started) / 1000);
      }
    },
  };
}
