/**
 * `npm run bench`: every benchmark, each printing its own figures. Benchmarks measure; they never
 * assert a speed (tests stay correct on a slow machine).
 */
import { benchRateGate } from './rate-gate.bench.ts';

await benchRateGate();
