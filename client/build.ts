import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';
import ts from 'typescript';
import { loadConfig } from '../src/config.ts';
import { openApiDocument } from '../src/http/openapi.ts';

/**
 * Builds `simbind/client` into client/dist: the server's OpenAPI document → schema.d.ts, then
 * index.ts → index.js + index.d.ts. Runs on every `npm install` (the `prepare` script), so it
 * prints one line, and any failure exits non-zero with the reason.
 */

const clientDir = path.dirname(fileURLToPath(import.meta.url));
const distDir = path.join(clientDir, 'dist');

/** A failure whose message says it all (no stack trace needed). */
class BuildError extends Error {}

async function build(): Promise<void> {
  // The environment is ignored on purpose: a developer's .env must not change the published types.
  const document = await openApiDocument(loadConfig({ LOG_LEVEL: 'silent' }));
  const paths = Object.keys(document.paths ?? {}).length;
  if (paths === 0) throw new BuildError('the OpenAPI document has no paths');

  // defaultNonNullable off: a property with a default that the schema does not list as required
  // stays optional, in shared components too (request bodies alone are exempt by default).
  const ast = await openapiTS(document as unknown as OpenAPI3, { silent: true, defaultNonNullable: false });
  await fs.rm(distDir, { recursive: true, force: true });
  await fs.mkdir(distDir, { recursive: true });
  await fs.writeFile(path.join(distDir, 'schema.d.ts'), COMMENT_HEADER + astToString(ast));

  compile();
  // performance.now() counts from the process's start: the time a developer waits, imports included.
  const seconds = (performance.now() / 1000).toFixed(1);
  console.log(`simbind/client: client/dist built from ${paths} API paths in ${seconds} s`);
}

function compile(): void {
  const configPath = path.join(clientDir, 'tsconfig.json');
  const file = ts.readConfigFile(configPath, (name) => ts.sys.readFile(name));
  if (file.error) throw new BuildError(formatDiagnostics([file.error]));
  const { options, errors } = ts.parseJsonConfigFileContent(file.config, ts.sys, clientDir, {
    noEmit: false,
    allowImportingTsExtensions: false,
    rootDir: clientDir,
    outDir: distDir,
    declaration: true,
    // No @types/node: the client must run wherever fetch does (Node, Deno, browsers); without
    // them the type check also takes about half the time.
    types: [],
  });
  if (errors.length > 0) throw new BuildError(formatDiagnostics(errors));

  // index.ts alone: build.ts (this file) pulls in the server and is never shipped.
  const program = ts.createProgram({ rootNames: [path.join(clientDir, 'index.ts')], options });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    throw new BuildError(
      `client/index.ts does not compile against the API:\n${formatDiagnostics(diagnostics)}`,
    );
  }
  const emitted = program.emit();
  if (emitted.emitSkipped) throw new BuildError(formatDiagnostics(emitted.diagnostics));
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => '\n',
  });
}

build().catch((error: unknown) => {
  // A stack trace only helps for the unexpected: the server failing to start, a bug in here.
  console.error('simbind/client build failed:', error instanceof BuildError ? error.message : error);
  process.exit(1);
});
