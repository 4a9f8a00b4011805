/**
 * `npm run bench [-- name…] [--keep]`: the benchmarks, each printing its own figures beside issue
 * 13's targets and writing them to bench/results.json (they never assert a speed: tests stay
 * correct on a slow machine). Names: assignment (B1, B4), rate-gate (B6), reads (B5), revio (B2),
 * submission (B3), sync. Default: all. `--keep`: reads keeps its 1,000,000-device world for the next run.
 */
import { benchAssignment } from './assignment.bench.ts';
import { benchRateGate } from './rate-gate.bench.ts';
import { benchReads } from './reads.bench.ts';
import { benchRevio } from './revio.bench.ts';
import { benchSubmission } from './submission.bench.ts';
import { benchSync } from './sync.bench.ts';
import { printFigures } from './support.ts';

// rate-gate first: its figure is a p99 of about a millisecond, how late a timer wakes, and the
// others leave gigabytes of their databases for the machine to write back and delete after them.
const benches: Record<string, () => Promise<void>> = {
  'rate-gate': benchRateGate,
  assignment: benchAssignment,
  reads: benchReads,
  revio: benchRevio,
  submission: benchSubmission,
  sync: benchSync,
};
// Options (`--keep`) are the benches' own; the other arguments name benches.
const named = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const chosen = named.length > 0 ? named : Object.keys(benches);
for (const name of chosen) {
  const bench = benches[name];
  if (!bench) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
  console.log(`\n## ${name}`);
  await bench();
}
await printFigures();
