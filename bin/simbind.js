#!/usr/bin/env node
// Runs simbind from its TypeScript sources, with no build step between a clone and `npm start`:
// on the first run, and whenever a source file changed since, the sources are bundled to plain
// JavaScript (esbuild, about a second) into .build/<fingerprint of the sources>/ and run from there.
// Running them through a loader instead (tsx) kept a second JavaScript heap alive in the loader's
// thread, with every module's transformed text: the serving process sat at ~210 MB idle instead of
// ~150 MB (issue 13, B4). SIMBIND_FROM_SOURCE=1 runs the sources through tsx as before (stack
// traces then point at TypeScript lines).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// What the bundle is made of: the server's sources and the simulators they start.
const SOURCE_DIRS = ['src', 'simulators'];
const BUILD_DIR = path.join(ROOT, '.build');
// Bundles of older sources are removed once they are this old (a process started from one may
// still be running; it has loaded what it needs within a day).
const KEEP_OLD_MS = 24 * 60 * 60 * 1000;

const entry = process.env.SIMBIND_FROM_SOURCE === '1' ? undefined : await bundledOrWhyNot();
if (entry) await import(pathToFileURL(entry).href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}

/** The bundle; or, where the checkout cannot be written (a read-only image), none: run the sources. */
async function bundledOrWhyNot() {
  try {
    return await bundled();
  } catch (error) {
    if (!['EACCES', 'EPERM', 'EROFS'].includes(error?.code)) throw error;
    console.error(`simbind: cannot write ${BUILD_DIR} (${error.code}): running the sources through tsx`);
    return undefined;
  }
}

/** The bundle of the sources as they are now: built unless it already exists. */
async function bundled() {
  const dir = path.join(BUILD_DIR, fingerprint());
  const entry = path.join(dir, 'main.mjs');
  if (fs.existsSync(entry)) return entry;
  // Built aside and renamed into place: processes starting together (a worker and an api, a test
  // suite) each build, the first rename wins, and nobody runs a half-written bundle.
  const building = `${dir}.${process.pid}.tmp`;
  const esbuild = await import('esbuild');
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { main: 'src/main.ts' },
    bundle: true,
    // The commands main.ts imports on demand stay separate files, loaded only by the command run.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir: building,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'error',
  });
  try {
    fs.renameSync(building, dir);
  } catch (error) {
    fs.rmSync(building, { recursive: true, force: true });
    if (!fs.existsSync(entry)) throw error;
  }
  removeOldBundles(dir);
  return entry;
}

/** A hash of every source file's path, size and modification time (stat only: a few ms). */
function fingerprint() {
  const hash = createHash('sha256');
  const visit = (dir) => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else {
        const { size, mtimeMs } = fs.statSync(full);
        hash.update(`${path.relative(ROOT, full)}\0${size}\0${mtimeMs}\n`);
      }
    }
  };
  for (const dir of SOURCE_DIRS) visit(path.join(ROOT, dir));
  hash.update(fs.readFileSync(path.join(ROOT, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

function removeOldBundles(current) {
  for (const name of fs.readdirSync(BUILD_DIR)) {
    const full = path.join(BUILD_DIR, name);
    if (full === current) continue;
    const { mtimeMs } = fs.statSync(full, { throwIfNoEntry: false }) ?? { mtimeMs: Date.now() };
    if (Date.now() - mtimeMs > KEEP_OLD_MS) fs.rmSync(full, { recursive: true, force: true });
  }
}
