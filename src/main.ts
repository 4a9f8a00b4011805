import closeWithGrace from 'close-with-grace';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError, describeVariables, loadConfig, type Config } from './config.ts';
import { isDatabaseUnavailable } from './db/database-unavailable.ts';
import { buildApp } from './http/app.ts';
import { buildMetricsApp } from './http/metrics-app.ts';
import { openApiDocument } from './http/openapi.ts';
import { webRoutes } from './http/routes/web.routes.ts';
import { startQueue, type JobQueue } from './jobs/queue.ts';
import { countUnsealed, rekeySecrets } from './db/repositories/credentials.repository.ts';
import { openDatabase, resolveSecretBox, sessionSecret, type DatabaseRuntime } from './runtime.ts';
import { generateSecretKey, SecretKeyError, type SecretBox } from './services/secret-box.ts';
import { DomainError } from './errors.ts';
import { createAuthService } from './services/auth.service.ts';
import { DEMO_LOGINS, isEmpty, seedDemoData } from './services/seed.service.ts';
import { issueSetupCode } from './services/setup.service.ts';
import { startWorker } from './jobs/worker.ts';
import {
  planSimulator,
  SIMULATE_USAGE,
  SimulateUsageError,
  startSimulator,
  type SimulateFlags,
} from './simulate-command.ts';
import { resolveBaseUrl, SIMULATED_SYSTEMS, startSimulators, type SimulatorHost } from './simulator-host.ts';
import { createServices } from './wiring.ts';
import { createUsersService } from './services/users.service.ts';

const USAGE = `simbind — bulk assignment of IoT/M2M devices to customers

Usage: simbind <command> [options]

Commands:
  serve                 API + worker + UI in one process (migrates; seeds an empty database)
  api                   the HTTP API only
  worker                a queue worker only (start as many as you like, on any machine)
  migrate               apply database migrations and exit
  init --tenant NAME --admin EMAIL [--name NAME]
                        a production start: create a tenant and its first admin (prints a one-time
                        password), no demo data; then \`serve\` with SEED_ON_START=false
  seed [--devices N] [--reset]
                        load the demo data set (N devices, default SEED_DEVICES)
  ${SIMULATE_USAGE}
  config                print the configuration variables as a Markdown table
  openapi               print the API's OpenAPI document (JSON), as served at /docs/json
  token create --user EMAIL [--name NAME]
                        create an API token for that user; prints it once, alone on stdout
  token revoke --id N   revoke the API token with that id
  user list --tenant SLUG
                        the tenant's people: id, e-mail, role, status
  user add --tenant SLUG --email EMAIL --role admin|operator|viewer [--name NAME]
                        add a person; prints a one-time password
  user disable|enable --email EMAIL
                        disabling ends the person's sessions and stops their API tokens at once
  user reset-password --email EMAIL
                        a new one-time password (for a locked-out admin too); sessions end
  secrets keygen        print a new random SECRETS_KEY
  secrets rekey         seal every secret at rest with SECRETS_KEY (plain ones and those
                        sealed with a key listed in SECRETS_KEY_PREVIOUS); all or nothing

Configuration comes from environment variables: see README.md or 'simbind config'.`;

type Role = 'serve' | 'api' | 'worker';

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      devices: { type: 'string' },
      reset: { type: 'boolean', default: false },
      port: { type: 'string' },
      host: { type: 'string' },
      'limit-per-minute': { type: 'string' },
      'limit-per-second': { type: 'string' },
      concurrency: { type: 'string' },
      'fail-rate': { type: 'string' },
      'fail-status': { type: 'string' },
      'latency-ms': { type: 'string' },
      user: { type: 'string' },
      name: { type: 'string' },
      id: { type: 'string' },
      tenant: { type: 'string' },
      admin: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }

  switch (command) {
    case 'config':
      console.log(describeVariables());
      return;
    case 'openapi':
      console.log(JSON.stringify(await openApiDocument(loadConfig()), null, 2));
      return;
    case 'simulate':
      return simulate(rest[0], values);
    case 'migrate':
      return migrateOnly(loadConfig());
    case 'seed':
      return seed(loadConfig(), values.devices, values.reset);
    case 'token':
      return token(loadConfig(), rest[0], values);
    case 'secrets':
      return secrets(rest[0]);
    case 'init':
      return init(loadConfig(), values);
    case 'user':
      return user(loadConfig(), rest[0], values);
    case 'serve':
    case 'api':
    case 'worker':
      return run(loadConfig(), command);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

/** The key problem as a start-up failure (no stack): the operator fixes it in the configuration. */
async function secretBoxOrExit(config: Config): Promise<SecretBox> {
  try {
    return await resolveSecretBox(config);
  } catch (error) {
    if (error instanceof SecretKeyError) throw new StartupError(error.message);
    throw error;
  }
}

async function init(
  config: Config,
  options: { tenant?: string; admin?: string; name?: string },
): Promise<void> {
  if (!options.tenant || !options.admin) throw new UsageError('init needs --tenant NAME and --admin EMAIL');
  const runtime = await openDatabase(config, {
    migrate: true,
    applicationName: 'simbind-init',
    log: console.error,
  });
  try {
    const users = createUsersService({ db: runtime.database.db });
    const created = await users
      .initTenant({ tenantName: options.tenant, adminEmail: options.admin, adminName: options.name })
      .catch((error: unknown) => {
        if (error instanceof DomainError) throw new StartupError(error.message);
        throw error;
      });
    console.log(`tenant "${created.tenant.name}" (${created.tenant.slug}) created, no demo data.`);
    console.log(`admin: ${created.admin.email}`);
    console.log(`one-time password: ${created.initialPassword}`);
    console.log('Sign in and change it (POST /api/v1/auth/password, or the screen); it is not shown again.');
  } finally {
    await runtime.close();
  }
}

async function secrets(action: string | undefined): Promise<void> {
  if (action === 'keygen') {
    console.log(generateSecretKey());
    return;
  }
  if (action !== 'rekey') throw new UsageError('secrets needs keygen or rekey');
  const config = loadConfig();
  const box = await secretBoxOrExit(config);
  const runtime = await openDatabase(config, {
    migrate: true,
    applicationName: 'simbind-secrets',
    log: console.error,
  });
  try {
    const result = await rekeySecrets(runtime.database.db, box).catch((error: unknown) => {
      if (error instanceof SecretKeyError) throw new StartupError(`nothing changed: ${error.message}`);
      throw error;
    });
    const { webhooks } = result;
    console.log(
      `${result.rows} integration account(s): ${result.plain} plain and ${result.previous} under a previous key now sealed with key ${box.keyId}; ${result.current} already were`,
    );
    console.log(
      `${webhooks.rows} webhook endpoint(s): ${webhooks.plain} plain and ${webhooks.previous} under a previous key now sealed; ${webhooks.current} already were`,
    );
  } finally {
    await runtime.close();
  }
}
/** A start-up failure the operator can fix; printed without a stack or the usage text. */
class StartupError extends Error {}

async function migrateOnly(config: Config): Promise<void> {
  const runtime = await openDatabase(config, {
    migrate: true,
    applicationName: 'simbind-migrate',
    log: console.log,
  });
  console.log(runtime.applied.length ? `applied: ${runtime.applied.join(', ')}` : 'migrations are current');
  await runtime.close();
}

async function seed(config: Config, devicesArg: string | undefined, reset: boolean): Promise<void> {
  const devices = devicesArg === undefined ? config.seed.devices : Number(devicesArg);
  if (!Number.isInteger(devices) || devices < 0 || devices > 1_000_000) {
    throw new UsageError('--devices must be an integer from 0 to 1,000,000');
  }
  const secretBox = await secretBoxOrExit(config);
  const runtime = await openDatabase(config, {
    migrate: true,
    applicationName: 'simbind-seed',
    log: console.log,
  });
  try {
    const result = await seedDemoData(runtime.database.db, { devices, reset, secretBox });
    console.log(
      `seeded ${result.devices.toLocaleString('en')} devices in ${(result.durationMs / 1000).toFixed(1)} s`,
    );
    printLogins();
  } finally {
    await runtime.close();
  }
}

const ROLES = ['admin', 'operator', 'viewer'] as const;

/** People from the command line, for a server with no one left to sign in (or scripts). */
async function user(
  config: Config,
  action: string | undefined,
  options: { tenant?: string; email?: string; role?: string; name?: string },
): Promise<void> {
  const actions = ['list', 'add', 'disable', 'enable', 'reset-password'];
  if (!action || !actions.includes(action)) throw new UsageError(`user needs one of: ${actions.join(', ')}`);
  if ((action === 'list' || action === 'add') && !options.tenant) {
    throw new UsageError(`user ${action} needs --tenant SLUG`);
  }
  if (action !== 'list' && !options.email) throw new UsageError(`user ${action} needs --email EMAIL`);
  const role = options.role as (typeof ROLES)[number] | undefined;
  if (action === 'add' && !(role && ROLES.includes(role))) {
    throw new UsageError('user add needs --role admin, operator or viewer');
  }
  const runtime = await openDatabase(config, {
    migrate: true,
    applicationName: 'simbind-user',
    log: console.error,
  });
  try {
    const users = createUsersService({ db: runtime.database.db });
    if (action === 'list' || action === 'add') {
      const { principal } = await users.cliPrincipal({ tenantSlug: options.tenant! });
      if (action === 'add') {
        const created = await users.create(principal, {
          email: options.email!,
          name: options.name ?? '',
          role: role!,
        });
        console.log(`${created.user.email} added (${created.user.role}, id ${created.user.id}).`);
        console.log(`one-time password: ${created.initialPassword}`);
        return;
      }
      for (let afterId: number | undefined; ;) {
        const page = await users.list(principal, { limit: 500, afterId });
        for (const u of page) {
          console.log(`${u.id}\t${u.email}\t${u.role}\t${u.active ? 'active' : 'disabled'}\t${u.name}`);
        }
        if (page.length < 500) return;
        afterId = page[page.length - 1]!.id;
      }
    }
    const { principal, userId } = await users.cliPrincipal({ email: options.email! });
    if (action === 'reset-password') {
      const reset = await users.resetPassword(principal, userId!);
      console.log(`${reset.user.email}: every session ended; the old password no longer works.`);
      console.log(`one-time password: ${reset.initialPassword}`);
    } else {
      const changed = await users.update(principal, userId!, { active: action === 'enable' });
      console.log(
        `${changed.email} ${changed.active ? 'enabled' : 'disabled: its sessions ended and its API tokens stopped'}.`,
      );
    }
  } catch (error) {
    if (error instanceof DomainError) throw new StartupError(error.message);
    throw error;
  } finally {
    await runtime.close();
  }
}

async function token(
  config: Config,
  action: string | undefined,
  options: { user?: string; name?: string; id?: string },
): Promise<void> {
  if (action !== 'create' && action !== 'revoke') throw new UsageError('token needs create or revoke');
  if (action === 'create' && !options.user) throw new UsageError('token create needs --user EMAIL');
  const id = Number(options.id);
  if (action === 'revoke' && !(Number.isInteger(id) && id > 0)) {
    throw new UsageError('token revoke needs --id N (a token id)');
  }
  // stdout carries only the token, so `TOKEN=$(simbind token create …)` works; the rest goes to stderr.
  const runtime = await openDatabase(config, {
    migrate: true,
    applicationName: 'simbind-token',
    log: console.error,
  });
  try {
    // The auth service alone: a token needs neither the queue nor the other services.
    const auth = createAuthService({ db: runtime.database.db, config });
    if (action === 'create') {
      const created = await auth.issueApiToken({ email: options.user!, name: options.name ?? 'cli' });
      const days = config.auth.apiTokenDays;
      const expiry = created.expiresAt
        ? `expires ${created.expiresAt.toISOString()} (in ${days} days, API_TOKEN_DAYS)`
        : 'never expires (API_TOKEN_DAYS=0)';
      console.error(
        `API token ${created.id} "${created.name}" for ${options.user!}, ${expiry}; it is shown only this once:`,
      );
      console.log(created.token);
    } else {
      await auth.revokeApiTokenById(id);
      console.error(`API token ${id} revoked.`);
    }
  } catch (error) {
    if (error instanceof DomainError) throw new StartupError(error.message);
    throw error;
  } finally {
    await runtime.close();
  }
}

async function simulate(system: string | undefined, flags: SimulateFlags): Promise<void> {
  let plan;
  try {
    plan = planSimulator(system, flags);
  } catch (error) {
    if (error instanceof SimulateUsageError) throw new UsageError(error.message);
    throw error;
  }
  const { app, baseUrl } = await startSimulator(plan);
  const { devices, limitPerMinute, limitPerSecond, concurrency } = plan.settings;
  const facts = [
    devices ? `${devices.toLocaleString('en')} ${plan.system === 'revio' ? 'customers' : 'devices'}` : '',
    limitPerMinute ? `${limitPerMinute.toLocaleString('en')} requests/min` : '',
    limitPerSecond ? `${limitPerSecond.toLocaleString('en')} requests/s` : '',
    concurrency ? `${concurrency} at once` : '',
    ...plan.faults.map((f) =>
      f.latencyMs ? `+${f.latencyMs} ms` : `${f.rate! * 100} % answered ${f.status}`,
    ),
  ].filter(Boolean);
  console.log(`${plan.system} simulator (demo accounts${facts.map((f) => `, ${f}`).join('')}) listening`);
  // The line to copy into simbind's environment (every api/worker process of a multi-process run).
  console.log(`SIMULATOR_URL_${plan.system.toUpperCase()}=${baseUrl}`);
  closeWithGrace({ delay: 5000 }, async () => app.close());
}

async function run(config: Config, role: Role): Promise<void> {
  const log = (line: string) => console.log(line);
  const secretBox = await secretBoxOrExit(config);
  // Names this worker in the change log and in pg_stat_activity (so its chunk locks can be told apart).
  const workerName = config.worker.name ?? `simbind-worker@${hostname()}:${process.pid}`;
  const runtime: DatabaseRuntime = await openDatabase(config, {
    migrate: true,
    applicationName: role === 'worker' ? workerName.slice(0, 63) : `simbind-${role}`,
    log,
  });
  let queue: JobQueue | undefined;
  let simulators: SimulatorHost | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let processing: { drain(): void } | undefined;

  const graceMs = config.shutdownGraceSeconds * 1000;
  const shutdown = async () => {
    // Drain: running chunks claim no more devices and hand the rest back to the queue; pg-boss
    // takes no new job and waits for the running ones, leaving time to close within the grace.
    processing?.drain();
    await app?.close();
    await queue?.stop(Math.max(1000, Math.floor(graceMs * 0.8)));
    await simulators?.close();
    await runtime.close();
  };
  // Registered before anything else starts, so a Ctrl-C during start-up still cleans up.
  const grace = closeWithGrace({ delay: graceMs, skip: ['unhandledRejection'] }, async ({ signal, err }) => {
    if (err) console.error(err);
    if (signal) {
      console.log(
        `\n${signal}: stopping within ${config.shutdownGraceSeconds} s: no new work; running chunks finish the devices in hand and hand the rest back…`,
      );
    }
    await shutdown();
    console.log('stopped.');
  });
  // pg-boss 10 calls fail()/complete() without awaiting them, so while the database restarts those
  // reject unhandled: an outage is waited out (the pools and pg-boss reconnect on their own; a
  // worker used to exit 6 s into a 10 s restart). Anything else stops the process, as before.
  process.on('unhandledRejection', (reason) => {
    if (isDatabaseUnavailable(reason)) {
      console.error(
        `database unavailable, waiting for it: ${reason instanceof Error ? reason.message : String(reason)}`,
      );
      return;
    }
    console.error(reason);
    process.exitCode = 1;
    void grace.close();
  });

  try {
    await start();
  } catch (error) {
    await shutdown();
    throw error;
  }

  async function start() {
    if (runtime.applied.length) log(`migrations applied: ${runtime.applied.join(', ')}`);
    const { db } = runtime.database;

    if (role === 'serve' && config.seed.onStart && (await isEmpty(db))) {
      log(`empty database: loading the demo data (${config.seed.devices.toLocaleString('en')} devices)…`);
      const result = await seedDemoData(db, { devices: config.seed.devices, secretBox });
      log(`demo data loaded in ${(result.durationMs / 1000).toFixed(1)} s`);
    } else if (role !== 'worker') {
      // Printed here only, never logged elsewhere nor stored in clear; a new one at each start.
      const setupCode = await issueSetupCode(db);
      if (setupCode) {
        log('The database has no tenant yet. Create yours either way:');
        log('  - on the command line: `npx simbind init --tenant NAME --admin EMAIL`, or');
        log(`  - in the web app (first-run screen), with this setup code: ${setupCode}`);
      }
    }

    const simulatorUrls = config.integrations.simulatorUrls;
    const inProcess = SIMULATED_SYSTEMS.filter((system) => !simulatorUrls[system]);
    if (role === 'serve' && inProcess.length > 0 && (await wantsSimulators(config, runtime))) {
      simulators = await startSimulators('127.0.0.1', {}, inProcess);
      log('No real Rev.io / ThingSpace / Jasper endpoints configured: using the built-in simulators:');
      for (const [system, url] of Object.entries(simulators.baseUrls)) log(`  ${system.padEnd(10)} ${url}`);
      log('Webhooks may reach receivers on this machine (loopback) while the simulators run.');
    }
    for (const [system, url] of Object.entries(simulatorUrls)) {
      log(
        `simulator://${system} credentials use the simulator at ${url} (SIMULATOR_URL_${system.toUpperCase()})`,
      );
    }

    queue = await startQueue({
      connectionString: runtime.url,
      pollSeconds: config.worker.pollSeconds,
      supervise: role !== 'api',
      onError: (error) => console.error('queue error:', error.message),
    });
    const host = simulators;
    const services = createServices({
      config,
      database: runtime.database,
      queue,
      resolveBaseUrl: (url) => resolveBaseUrl(url, host, simulatorUrls),
      secretBox,
      log,
      // The demo (built-in simulators) may send its webhooks to a receiver on this machine; a real
      // deployment reaches loopback only through WEBHOOK_ALLOW_ADDRESSES.
      ...(host ? { webhookAllow: ['loopback'] } : {}),
      workerName,
    });
    processing = services.processing;
    const unsealed = await countUnsealed(db, secretBox);
    if (unsealed > 0) {
      log(
        `warning: ${unsealed} integration account(s) or webhook endpoint(s) hold secrets not sealed with SECRETS_KEY: run \`npx simbind secrets rekey\``,
      );
    }
    if (role !== 'api') await startWorker(queue, services, config);

    if (role !== 'worker') {
      app = await buildApp({
        services,
        cookieSecret: await sessionSecret(config, runtime.database),
        logLevel: config.logLevel,
        publicUrl: config.http.publicUrl ?? `http://localhost:${config.http.port}`,
        extraRoutes: [webRoutes],
      });
      await app
        .listen({ host: config.http.host, port: config.http.port })
        .catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EADDRINUSE') throw error;
          throw new UsageError(
            `port ${config.http.port} is in use (is simbind already running?); set PORT to use another`,
          );
        });
      const url = `http://${config.http.host === '0.0.0.0' ? 'localhost' : config.http.host}:${config.http.port}`;
      log('');
      log(`simbind is running at ${url}  (API docs: ${url}/docs)`);
      if (role === 'serve' && config.seed.onStart) printLogins();
      log('Press Ctrl-C to stop.');
    } else {
      log(`simbind worker running (concurrency ${config.worker.concurrency}). Ctrl-C to stop.`);
      if (config.metrics.port !== undefined) {
        // This worker's own counters (each process counts its own work): scrape every worker.
        app = await buildMetricsApp({ services, logLevel: config.logLevel });
        await app.listen({ host: config.http.host, port: config.metrics.port });
        log(`metrics: http://${config.http.host}:${config.metrics.port}/metrics`);
      }
    }
  }
}

async function wantsSimulators(config: Config, runtime: DatabaseRuntime): Promise<boolean> {
  if (config.integrations.simulators === 'on') return true;
  if (config.integrations.simulators === 'off') return false;
  const { rowCount } = await runtime.database.pool.query(
    "SELECT 1 FROM integration_credentials WHERE base_url LIKE 'simulator://%' LIMIT 1",
  );
  return (rowCount ?? 0) > 0;
}

function printLogins(): void {
  const rows = DEMO_LOGINS.map((l) => [l.tenant, l.role, l.email, l.password]);
  const header = ['tenant', 'role', 'e-mail', 'password'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`;
  console.log('\nDemo logins:');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log('');
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof StartupError) {
    console.error(error.message);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
