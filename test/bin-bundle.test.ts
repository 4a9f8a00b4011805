import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * bin/simbind.js runs a bundle of the sources (.build/<fingerprint>/), built on the first run and
 * whenever a source changed. Tried on a copy of the checkout (its own .build, the same node_modules),
 * so that touching a source here rebuilds nothing for the other tests.
 */

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');
let copy: string;

beforeAll(() => {
  copy = fs.mkdtempSync(path.join(os.tmpdir(), 'simbind-bin-'));
  for (const entry of ['bin', 'src', 'simulators', 'migrations', 'package.json', 'package-lock.json']) {
    fs.cpSync(path.join(REPO, entry), path.join(copy, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'));
});
afterAll(() => {
  if (copy) fs.rmSync(copy, { recursive: true, force: true });
});

const simbind = (...args: string[]) =>
  run(process.execPath, [path.join(copy, 'bin/simbind.js'), ...args], { cwd: copy });
const bundles = () => fs.readdirSync(path.join(copy, '.build')).sort();

describe('bin/simbind.js', () => {
  it('builds one bundle for processes started together, and runs it', async () => {
    const outputs = await Promise.all([simbind('--help'), simbind('--help'), simbind('--help')]);
    for (const { stdout } of outputs) expect(stdout).toContain('Usage: simbind <command>');
    expect(bundles()).toHaveLength(1);
    expect(fs.readdirSync(path.join(copy, '.build', bundles()[0]!))).toContain('main.mjs');
  });

  it('runs the same bundle again, and a new one once a source changed', async () => {
    const [first] = bundles();
    await simbind('--help');
    expect(bundles()).toEqual([first]);

    const source = path.join(copy, 'src/main.ts');
    fs.appendFileSync(source, '\n// changed\n');
    const { stdout } = await simbind('--help');
    expect(stdout).toContain('Usage: simbind <command>');
    expect(bundles()).toHaveLength(2);
    expect(bundles()).toContain(first);
  });

  it('runs the TypeScript sources through tsx with SIMBIND_FROM_SOURCE=1, building nothing', async () => {
    const before = bundles();
    fs.appendFileSync(path.join(copy, 'src/main.ts'), '\n// changed again\n');
    const { stdout } = await run(process.execPath, [path.join(copy, 'bin/simbind.js'), '--help'], {
      cwd: copy,
      env: { ...process.env, SIMBIND_FROM_SOURCE: '1' },
    });
    expect(stdout).toContain('Usage: simbind <command>');
    expect(bundles()).toEqual(before);
  });
});
