import closeWithGrace from 'close-with-grace';
import { hostname } from 'node:os';
import { UsageError } from './cli-errors.ts';
import { printLogins, secretBoxOrExit } from './cli-support.ts';
import type { Config } from './config.ts';
import { countUnsealed } from './db/repositories/credentials.repository.ts';
import { isDatabaseUnavailable } from './db/database-unavailable.ts';
import { buildApp } from './http/app.ts';
import { buildMetricsApp } from './http/metrics-app.ts';
import { webRoutes } from './http/routes/web.routes.ts';
import { startQueue, type JobQueue } from './jobs/queue.ts';
import { startWorker } from './jobs/worker.ts';
import { openDatabase, sessionSecret, type DatabaseRuntime } from './runtime.ts';
import { isEmpty, seedDemoData } from './services/seed.service.ts';
import { issueSetupCode } from './services/setup.service.ts';
import { resolveBaseUrl, SIMULATED_SYSTEMS, startSimulators, type SimulatorHost } from './simulator-host.ts';
import { createServices } from './wiring.ts';

/**
 * `simbind serve|api|worker`: the long-running roles. `serve` is API + worker + UI in one process
 * (and seeds an empty database); `api` the HTTP API only; `worker` a queue worker only. Every role
 * drains on SIGTERM/SIGINT within SHUTDOWN_GRACE_SECONDS.
 */

export type ServeRole = 'serve' | 'api' | 'worker';

export async function serveCommand(config: Config, role: ServeRole): Promise<void> {
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
  let settleRateGate: (() => Promise<void>) | undefined;

  const graceMs = config.shutdownGraceSeconds * 1000;
  const shutdown = async () => {
    // Drain: running chunks claim no more devices and hand the rest back to the queue; pg-boss
    // takes no new job and waits for the running ones, leaving time to close within the grace.
    processing?.drain();
    await app?.close();
    await queue?.stop(Math.max(1000, Math.floor(graceMs * 0.8)));
    // The last jobs' rate-gate releases, sent while the database is still open.
    await settleRateGate?.();
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
    settleRateGate = services.settleRateGate;
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
