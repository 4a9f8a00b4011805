// Prints the Vitest JSON reports of a CI run, one line per Node line and suite, the time each Node
// line took, and one plain closing line: "tests: N passed, N failed".
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const report = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  console.log(
    `${file.replace('.json', '').padEnd(22)} ${report.numPassedTests} passed, ${report.numFailedTests} failed`,
  );
}
for (const line of readFileSync(path.join(dir, 'durations'), 'utf8').trim().split('\n')) {
  const [major, seconds] = line.split(' ');
  const label =
    {
      24: 'Node 24, phase 1 (npm ci, checks, npm test)',
      '24-lane-a': 'Node 24, lane A (browser, npm start, resilience)',
      22: 'Node 22, lane B (clone, npm ci, npm test on the server, npm start)',
      system: `Node ${process.versions.node.split('.')[0]} (machine), lane B (clone, npm ci, npm test, npm start)`,
    }[major] ?? `Node ${major}`;
  console.log(`${label}: ${seconds} s`);
}
console.log(`tests: ${passed} passed, ${failed} failed`);
// A runner that exits 0 despite failures must not turn CI green.
if (failed > 0) process.exitCode = 1;
