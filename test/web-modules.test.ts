import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WEB_DIR } from '../src/paths.ts';

/**
 * The browser UI's modules, checked statically: each stays small, and every import names a file that
 * exists (the browser would fail to load the whole UI on one wrong path; the browser tests prove
 * the rest). No build step resolves anything: what is written is what the browser fetches.
 */

const MAX_LINES = 300;

/** Every .js file under web/, as paths relative to it ("screens/users.js"). */
function webModules(dir = WEB_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return webModules(full);
    return entry.name.endsWith('.js') ? [path.relative(WEB_DIR, full)] : [];
  });
}

/**
 * The specifiers a module imports: static imports and re-exports, dynamic `import()`, and the
 * JSDoc type imports (`import('./types.js').User`) that `tsc -p web` resolves the same way.
 */
function importsOf(source: string): string[] {
  // `… from './x.js';` ends its line (prettier's layout), which a word "from" inside a string does not.
  const found = source.matchAll(
    /(?:\bfrom\s*['"]([^'"]+)['"];?\s*$|\bimport\s*\(\s*['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"])/gm,
  );
  return [...found].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** The file a specifier names, or why it names none. */
function resolve(from: string, specifier: string): { file: string } | { problem: string } {
  if (!specifier.startsWith('./') && !specifier.startsWith('../'))
    return { problem: 'not a relative path (the browser has no import map)' };
  if (!specifier.endsWith('.js')) return { problem: 'no .js extension (the browser does not add one)' };
  const file = path.join(path.dirname(path.join(WEB_DIR, from)), specifier);
  if (!file.startsWith(WEB_DIR)) return { problem: 'outside web/ (not served)' };
  if (!existsSync(file)) return { problem: 'no such file' };
  return { file: path.relative(WEB_DIR, file) };
}

describe('web/ modules', () => {
  const modules = webModules();

  it('finds the entry and the modules it is split into', () => {
    expect(modules).toContain('app.js');
    expect(modules.length).toBeGreaterThan(10);
  });

  it(`keeps every module at ${MAX_LINES} lines or fewer`, () => {
    const long = modules
      .map((file) => ({
        file,
        lines: readFileSync(path.join(WEB_DIR, file), 'utf8').split('\n').length - 1,
      }))
      .filter((m) => m.lines > MAX_LINES)
      .map((m) => `${m.file}: ${m.lines} lines`);
    expect(long).toEqual([]);
  });

  it('resolves every import to a file that exists in web/', () => {
    const problems = modules.flatMap((file) =>
      importsOf(readFileSync(path.join(WEB_DIR, file), 'utf8')).flatMap((specifier) => {
        const target = resolve(file, specifier);
        return 'problem' in target ? [`${file} imports '${specifier}': ${target.problem}`] : [];
      }),
    );
    expect(problems).toEqual([]);
  });

  it('reaches every module from the page (no module left behind)', () => {
    const page = readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8');
    const entry = /<script type="module" src="\/([^"]+)"/.exec(page)?.[1];
    expect(entry).toBe('app.js');
    const reached = new Set<string>();
    const visit = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const specifier of importsOf(readFileSync(path.join(WEB_DIR, file), 'utf8'))) {
        const target = resolve(file, specifier);
        if ('file' in target) visit(target.file);
      }
    };
    visit(entry!);
    expect(modules.filter((file) => !reached.has(file))).toEqual([]);
  });

  it('reads imports the way the checks above rely on', () => {
    const source = [
      "import { a } from './lib/a.js';",
      "export { b } from '../b.js';",
      "/** @type {import('./types.js').User} */",
      "const c = await import('./c.js');",
      "import './side-effect.js';",
      "const text = 'not an import from here';",
    ].join('\n');
    expect(importsOf(source)).toEqual(['./lib/a.js', '../b.js', './types.js', './c.js', './side-effect.js']);
    expect(resolve('screens/users.js', '../lib/missing.js')).toEqual({ problem: 'no such file' });
    expect(resolve('app.js', 'lit')).toEqual({
      problem: 'not a relative path (the browser has no import map)',
    });
    expect(resolve('app.js', './lib/dom')).toEqual({
      problem: 'no .js extension (the browser does not add one)',
    });
    expect(resolve('screens/users.js', '../lib/dom.js')).toEqual({ file: 'lib/dom.js' });
  });
});

/** Every stylesheet under web/, relative to it ("styles/fleet.css"). */
function stylesheets(dir = WEB_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return stylesheets(full);
    return entry.name.endsWith('.css') ? [path.relative(WEB_DIR, full)] : [];
  });
}

describe('web/ stylesheets', () => {
  const sheets = stylesheets();
  const page = readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8');
  const linked = [...page.matchAll(/<link rel="stylesheet" href="\/([^"]+)"/g)].map((m) => m[1]!);

  it(`keeps every stylesheet at ${MAX_LINES} lines or fewer`, () => {
    const long = sheets
      .map((file) => ({
        file,
        lines: readFileSync(path.join(WEB_DIR, file), 'utf8').split('\n').length - 1,
      }))
      .filter((s) => s.lines > MAX_LINES)
      .map((s) => `${s.file}: ${s.lines} lines`);
    expect(long).toEqual([]);
  });

  it('links every stylesheet from the page once, the base sheet first (the cascade follows the links)', () => {
    expect(sheets).toContain('styles.css');
    expect([...linked].sort()).toEqual([...sheets].sort());
    expect(linked[0]).toBe('styles.css');
  });
});
