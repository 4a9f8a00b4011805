import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The simbind checkout's directories that the running code reads files from. Found from the
 * running module by walking up to the directory that holds package.json and migrations/: the same
 * answer whether the code runs from its TypeScript sources (tests, SIMBIND_FROM_SOURCE) or from
 * the bundle bin/simbind.js builds (.build/…), which sit at different depths.
 */
export const ROOT_DIR = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const MIGRATIONS_DIR = path.join(ROOT_DIR, 'migrations') + path.sep;
export const WEB_DIR = path.join(ROOT_DIR, 'web') + path.sep;

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'migrations')))
      return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`simbind: no checkout (package.json, migrations/) above ${from}`);
  }
}
