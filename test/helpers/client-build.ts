import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Importing this module builds `simbind/client` (client/dist, normally built by `npm install`'s
 * `prepare`) when it is missing or older than its sources (the client's files, and src/http whose routes and schemas make its types), so a test can import the package by
 * name exactly as its users do. Import it before 'simbind/client': modules run in import order.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const built = path.join(root, 'client/dist/index.js');
// The client's own files and the routes and schemas its types come from.
const sources = [
  'client/index.ts',
  'client/build.ts',
  ...fs
    .readdirSync(path.join(root, 'src/http'), { recursive: true, encoding: 'utf8' })
    .map((f) => `src/http/${f}`),
].map((file) => path.join(root, file));

const mtime = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (sources.some((source) => mtime(source) > mtime(built))) {
  execFileSync(process.execPath, ['--import', 'tsx', 'client/build.ts'], { cwd: root, stdio: 'inherit' });
}
