import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/ports.ts';
import { ROOT, SHOTS, stopProcess } from './harness.ts';

/**
 * `simbind serve` as a child process, the one way the browser tests start the product: the shared
 * instance of a run (global-setup.ts) and first-run.e2e.ts's empty one both come from here.
 */

/** The built-in simulators' origins, as `simbind serve` prints them (their control routes are at the root). */
export type Simulators = { jasper: string; thingspace: string; revio: string };

/** What a test file needs of a running simbind; plain data, so vitest can hand it over (`provide`). */
export type SimbindAddress = {
  baseUrl: string;
  /** Its DATA_DIR: the embedded PostgreSQL's files, which commands such as `token create` open. */
  dataDir: string;
  simulators: Simulators;
  /** Where its output goes, for a failure message to point at. */
  logFile: string;
};

export type Simbind = SimbindAddress & {
  /** The last 20,000 characters it printed. */
  log: () => string;
  stop: () => Promise<void>;
};

/**
 * A fresh database takes a while to create, migrate and seed on a busy machine (about 6 s on a quiet
 * one); below the 90 s hook timeout, so that this error, with the server's output, is the one seen.
 */
const READY_WITHIN_MS = 75_000;

const simulatorAt = (log: string, name: string, apiPath: string) =>
  new RegExp(`^\\s*${name}\\s+(http:\\/\\/\\S+?)${apiPath}\\s*$`, 'm').exec(log)?.[1] ?? '';

/**
 * Starts `simbind serve` on a fresh DATA_DIR and free ports, and resolves once /readyz answers.
 * `env` is given the base URL (PUBLIC_URL needs it) and adds to or overrides the defaults.
 */
export async function startSimbind(
  name: string,
  env: (baseUrl: string) => Record<string, string> = () => ({}),
): Promise<Simbind> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), `simbind-e2e-${name}-`));
  // The embedded PostgreSQL may run as another user than the test (root → postgres).
  await fs.chmod(dataDir, 0o755);
  // Beside the screenshots: scratch, overwritten by the next run.
  await fs.mkdir(SHOTS, { recursive: true });
  const logFile = path.join(SHOTS, `serve-${name}.log`);
  const logStream = createWriteStream(logFile);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['bin/simbind.js', 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      EMBEDDED_PG_PORT: String(await freePort()),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SMTP_URL: '',
      ...env(baseUrl),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-20_000);
    logStream.write(chunk);
  };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  const stop = async () => {
    await stopProcess(server);
    await new Promise((resolve) => logStream.end(resolve));
    await fs.rm(dataDir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + READY_WITHIN_MS;
    for (;;) {
      if (server.exitCode !== null || server.signalCode !== null)
        throw new Error(`simbind exited early:\n${tail}`);
      const ready = await fetch(`${baseUrl}/readyz`).then(
        (res) => res.ok,
        () => false, // not listening yet
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`simbind not ready after ${READY_WITHIN_MS} ms:\n${tail}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const simulators = {
    jasper: simulatorAt(tail, 'jasper', '/rws/api/v1'),
    thingspace: simulatorAt(tail, 'thingspace', '/api'),
    revio: simulatorAt(tail, 'revio', '/v1'),
  };
  return { baseUrl, dataDir, simulators, logFile, log: () => tail, stop };
}
