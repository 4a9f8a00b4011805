import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { DatabaseHandle } from '../src/db/database.ts';
import { insertApiToken } from '../src/db/repositories/auth.repository.ts';
import { generateApiToken } from '../src/services/api-tokens.ts';
import { generateSecretKey } from '../src/services/secret-box.ts';
import { freePort } from '../test/helpers/ports.ts';

/**
 * `simbind serve` (API + worker in one process, as `npm start` runs it, with its Node.js flags) as a
 * process of its own over a benchmark's database, and a token of the demo's northwind administrator. Its memory is its own:
 * what the benchmark holds (seed, device lists, the request body it sends) is not counted.
 */
export interface ServingProcess {
  /** `http://127.0.0.1:PORT/api/v1` */
  api: string;
  headers: Record<string, string>;
  pid: number;
  /** The process's resident set now, and its peak so far (VmRSS, VmHWM), in MB. */
  memory(): Promise<{ rssMb: number; peakMb: number }>;
  stop(): Promise<void>;
}

const BIN = fileURLToPath(new URL('../bin/simbind.js', import.meta.url));

/** The Node.js flags `npm start` runs simbind with (package.json), so the process measured is the one users run. */
async function startFlags(): Promise<string[]> {
  const pkg = JSON.parse(await fs.readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const flags = /^node((?: --\S+)*) bin\/simbind\.js serve$/.exec(pkg.scripts.start);
  if (!flags) throw new Error(`package.json's start script is not "node [--flags] bin/simbind.js serve"`);
  return flags[1]!.trim().split(' ').filter(Boolean);
}

export async function startServingProcess(
  handle: DatabaseHandle,
  url: string,
  env: Record<string, string> = {},
): Promise<ServingProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(await startFlags()), BIN, 'serve'], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      HOST: '127.0.0.1',
      PORT: String(port),
      SEED_ON_START: 'false',
      // The AMOP path calls no partner: no simulator in the measured process.
      SIMULATORS: 'off',
      LOG_LEVEL: 'warn',
      // Required with DATABASE_URL; the demo's secrets are stored before any key exists.
      SECRETS_KEY: generateSecretKey(),
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilReady(child, `${base}/readyz`);
  const admin = await handle.db
    .selectFrom('app_user')
    .select(['id', 'tenant_id'])
    .where('email', '=', 'admin@northwind.example')
    .executeTakeFirstOrThrow();
  const { token, hash, prefix } = generateApiToken();
  await insertApiToken(handle.db, {
    tenantId: admin.tenant_id,
    userId: admin.id,
    name: 'bench',
    tokenHash: hash,
    tokenPrefix: prefix,
  });
  const pid = child.pid!;
  return {
    api: `${base}/api/v1`,
    headers: { authorization: `Bearer ${token}` },
    pid,
    memory: () => memoryOf(pid),
    stop: () => stop(child),
  };
}

async function waitUntilReady(child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`simbind serve exited with ${child.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error('simbind serve was not ready within 120 s');
}

async function memoryOf(pid: number): Promise<{ rssMb: number; peakMb: number }> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  await exited;
  clearTimeout(timer);
}
