import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The server's source files stay small (STYLE.md: past 300 lines, split by responsibility), as
 * web-modules.test.ts keeps the browser's. A file that grows past the limit fails here, named with
 * its length, instead of waiting for a review to notice.
 */

const MAX_LINES = 300;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIRS = ['src', 'simulators', 'bin'];
const SOURCE = /\.(?:ts|js|mjs|cjs)$/;

/** Every source file under `dir`, relative to the repository ("src/db/schema.ts"). */
function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(relative);
    return SOURCE.test(entry.name) ? [relative] : [];
  });
}

/** Lines as `wc -l` counts them (a last line without its newline still counts). */
function linesOf(file: string): number {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

describe('server source files', () => {
  const files = DIRS.flatMap((dir) => sourceFiles(dir));

  it('finds the source files of src/, simulators/ and bin/', () => {
    expect(files).toContain(path.join('src', 'main.ts'));
    expect(files).toContain(path.join('simulators', 'revio.simulator.ts'));
    expect(files).toContain(path.join('bin', 'simbind.js'));
    expect(files.length).toBeGreaterThan(100);
  });

  it(`keeps every file at ${MAX_LINES} lines or fewer`, () => {
    const long = files
      .map((file) => ({ file, lines: linesOf(file) }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });
});
