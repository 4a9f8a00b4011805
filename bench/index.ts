/**
 * `npm run bench [-- name…]`: the benchmarks, each printing its own figures (they never assert a
 * speed: tests stay correct on a slow machine). Names: assignment, rate-gate, sync. Default: all.
 */
import { benchAssignment } from './assignment.bench.ts';
import { benchRateGate } from './rate-gate.bench.ts';
import { benchRevio } from './revio.bench.ts';
import { benchSync } from './sync.bench.ts';

const benches: Record<string, () => Promise<void>> = {
  assignment: benchAssignment,
  'rate-gate': benchRateGate,
  revio: benchRevio,
  sync: benchSync,
};
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(benches);
for (const name of chosen) {
  const bench = benches[name];
  if (!bench) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
  console.log(`\n## ${name}`);
  await bench();
}
