import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { closeHttpAgent } from '../src/clients/http-client.ts';
import { createJasperClient, type JasperCredentials } from '../src/clients/jasper.client.ts';
import { createMemoryRateGate } from '../src/clients/memory-rate-gate.ts';
import { createPostgresRateGate } from '../src/clients/postgres-rate-gate.ts';
import type { RateGate } from '../src/clients/rate-gate.ts';
import { createThingSpaceClient, type ThingSpaceCredentials } from '../src/clients/thingspace.client.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabase, type DatabaseHandle } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { DEMO_SECRETS, DEMO_THINGSPACE_ACCOUNT } from '../src/db/repositories/seed.repository.ts';
import { installQueues, startQueue } from '../src/jobs/queue.ts';
import { startWorker } from '../src/jobs/worker.ts';
import type { Principal } from '../src/services/principal.ts';
import { seedDemoData } from '../src/services/seed.service.ts';
import type { SyncRunView } from '../src/services/sync.service.ts';
import { createServices, type Services } from '../src/wiring.ts';
import { benchDatabase, demoAdmin, ms } from './support.ts';

/**
 * The fleet sync (issue 11): a carrier account of N devices read into simbind by a sync run
 * (queue → worker → page after page, each upserted and counted in one transaction), beside the
 * paging floor: the same pages read from the same simulator by the same client, nothing written.
 * Control Center pages 50 devices (by number), ThingSpace 500 (after the last ICCID seen). Then a
 * second run, with nothing changed at the carrier. Rate limits are raised on both sides: the
 * figure is simbind's own cost. Prints figures; asserts nothing.
 *
 * The carriers run in a process of their own (bench/sync-simulators.ts).
 *
 * BENCH_SYNC_DEVICES (default 100000), BENCH_DATABASE_URL (a server; default: embedded).
 */

const N = Number(process.env.BENCH_SYNC_DEVICES ?? 100_000);
// Far above what one run asks (the shared gate's cost does not depend on the limit: B6, issue 13).
const UNLIMITED = { requests: 2_000, windowMs: 1_000 };

/** The carriers in a child process (bench/sync-simulators.ts), as the real ones are elsewhere. */
async function startSimulators(n: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/sync-simulators.ts', String(n)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const urls = JSON.parse(line) as { jasper: string; thingspace: string; firstThingSpaceIccid: string };
  return {
    ...urls,
    stop: async () => {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

export async function benchSync(): Promise<void> {
  const { url, cleanup } = await benchDatabase('bench_sync');
  const handle = createDatabase(url, 10, 'simbind-bench-sync');
  let stopSimulators = async () => {};
  try {
    await migrate(handle.pool);
    await installQueues(url);
    await seedDemoData(handle.db, { devices: 100 });

    const started = performance.now();
    const sims = await startSimulators(N);
    stopSimulators = sims.stop;
    const simUrls = { jasper: sims.jasper, thingspace: sims.thingspace, revio: 'http://127.0.0.1:9/v1' };
    console.log(`simulators with ${N.toLocaleString('en')} devices each: ${ms(started)} ms`);
    await handle.pool.query(
      'UPDATE integration_credentials SET rate_limit_requests = $1, rate_limit_window_ms = $2, rate_limit_concurrency = NULL',
      [UNLIMITED.requests, UNLIMITED.windowMs],
    );

    // The floor: the same pages through the same clients, nothing written; in memory, and
    // through the shared gate the workers use (two statements per request).
    const memory = createMemoryRateGate();
    const shared = createPostgresRateGate({ db: handle.db });
    const floors = {
      jasper: await jasperFloor(simUrls.jasper, memory),
      jasperGated: await jasperFloor(simUrls.jasper, shared),
      thingspace: await thingspaceFloor(simUrls.thingspace, sims.firstThingSpaceIccid, memory),
      thingspaceGated: await thingspaceFloor(simUrls.thingspace, sims.firstThingSpaceIccid, shared),
    };

    const config = loadConfig({ LOG_LEVEL: 'silent', WORKER_CONCURRENCY: '2' });
    const queue = await startQueue({ connectionString: url, pollSeconds: 1, supervise: true });
    const services = createServices({
      config,
      database: handle,
      queue,
      resolveBaseUrl: (base) =>
        base.startsWith('simulator://') ? simUrls[base.slice(12) as keyof typeof simUrls] : base,
    });
    await startWorker(queue, services, config);
    const principal = await demoAdmin(handle);
    const provider = async (integration: string) =>
      (
        await handle.pool.query<{ id: number }>(
          `SELECT id::int FROM service_provider WHERE tenant_id = $1 AND integration = $2 AND portal_type = 'm2m' ORDER BY id LIMIT 1`,
          [principal.tenantId, integration],
        )
      ).rows[0]!.id;

    const report = async (
      label: string,
      providerId: number,
      floor: { ms: number; pages: number },
      gated: { ms: number },
    ): Promise<void> => {
      const first = await timedRun(services, handle, principal, providerId);
      const second = await timedRun(services, handle, principal, providerId);
      console.log(`${label}: ${N.toLocaleString('en')} devices, ${floor.pages} pages`);
      console.log(`  paging floor (same client and pages, nothing written): ${floor.ms} ms`);
      console.log(`  the same through the shared PostgreSQL rate gate: ${gated.ms} ms`);
      console.log(
        `  first sync (${first.run.mode}): ${first.ms} ms — ${(first.ms / floor.ms).toFixed(2)}× the floor, ` +
          `${Math.round((first.run.counts.created / first.ms) * 1000).toLocaleString('en')} devices/s; ` +
          `created ${first.run.counts.created}, pages ${first.run.counts.pages}`,
      );
      console.log(
        `  again, nothing changed (${second.run.mode}): ${second.ms} ms; seen ${second.run.counts.seen}, ` +
          `changed ${second.run.counts.changed}, created ${second.run.counts.created}`,
      );
    };
    await report('Control Center (Jasper)', await provider('jasper'), floors.jasper, floors.jasperGated);
    await report('ThingSpace', await provider('thingspace'), floors.thingspace, floors.thingspaceGated);
    await queue.stop();
  } finally {
    await stopSimulators();
    await closeHttpAgent();
    await handle.close();
    await cleanup();
  }
}

async function jasperFloor(baseUrl: string, gate: RateGate): Promise<{ ms: number; pages: number }> {
  const client = createJasperClient({ gate, timeoutMs: 30_000 });
  const creds: JasperCredentials = {
    id: `floor-jasper-${Math.random()}`,
    baseUrl,
    username: 'simbind',
    apiKey: DEMO_SECRETS.jasper.apiKey,
    rateLimit: UNLIMITED,
  };
  const started = performance.now();
  const since = new Date(Date.now() - 3_600_000);
  for (let pageNumber = 1; ; pageNumber++) {
    const { value } = await client.listDevices(creds, { modifiedSince: since, pageNumber });
    if (value.lastPage) return { ms: ms(started), pages: pageNumber };
  }
}

async function thingspaceFloor(
  baseUrl: string,
  anyIccid: string,
  gate: RateGate,
): Promise<{ ms: number; pages: number }> {
  const client = createThingSpaceClient({ gate, timeoutMs: 30_000 });
  const creds: ThingSpaceCredentials = {
    id: `floor-thingspace-${Math.random()}`,
    baseUrl,
    ...DEMO_SECRETS.thingspace,
    username: 'simbind',
    accountName: DEMO_THINGSPACE_ACCOUNT,
    rateLimit: UNLIMITED,
  };
  await client.findDevice(creds, anyIccid); // tokens and session, as a run has them
  const started = performance.now();
  let after: { lastSeenIccid: string } | undefined;
  for (let pages = 1; ; pages++) {
    const { value } = await client.listAccountDevices(creds, after);
    if (!value.hasMoreData) return { ms: ms(started), pages };
    after = { lastSeenIccid: value.lastSeenIccid! };
  }
}

async function timedRun(
  services: Services,
  handle: DatabaseHandle,
  principal: Principal,
  providerId: number,
): Promise<{ ms: number; run: SyncRunView }> {
  const started = performance.now();
  const queued = await services.sync.requestDeviceSync(principal, providerId);
  for (;;) {
    const run = await services.sync.get(principal, queued.id);
    if (run.status === 'SUCCEEDED') return { ms: ms(started), run };
    if (run.status === 'FAILED') throw new Error(`sync run ${run.id} failed: ${run.error}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
