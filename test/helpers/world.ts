import Fastify, { type FastifyInstance } from 'fastify';
import { SMTPServer } from 'smtp-server';
import { buildJasperSimulator } from '../../simulators/jasper.simulator.ts';
import { buildRevioSimulator } from '../../simulators/revio.simulator.ts';
import { buildThingSpaceSimulator } from '../../simulators/thingspace.simulator.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { DEMO_THINGSPACE_ACCOUNT, demoPlansOf } from '../../src/db/repositories/seed.repository.ts';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { startQueue, type JobQueue } from '../../src/jobs/queue.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createServices, type Services } from '../../src/wiring.ts';
import type { SecretBox } from '../../src/services/secret-box.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { freePort } from './ports.ts';

/**
 * Everything a processing test needs, for real: a seeded database, the three simulators on
 * loopback, the app listening (ThingSpace calls it back), a pg-boss worker, a webhook receiver and
 * an SMTP sink. Rate limits are raised on both sides so a 1,000-device run takes seconds.
 */

export interface World {
  database: TestDatabase;
  app: TypedApp;
  services: Services;
  queue: JobQueue;
  sims: { revio: FastifyInstance; thingspace: FastifyInstance; jasper: FastifyInstance };
  simUrls: { revio: string; thingspace: string; jasper: string };
  webhooks: {
    url: string;
    received: { headers: Record<string, string | string[] | undefined>; body: string }[];
  };
  mails: { to: string[]; raw: string }[];
  /** Starts a worker in this process (for worlds created with `worker: false`). */
  startWorker(): Promise<void>;
  /**
   * A worker of its own (queue + services, named `name` in the change log), as a separate
   * `simbind worker` process has; its queue stops with the world.
   */
  startNamedWorker(name: string): Promise<{ queue: JobQueue; services: Services }>;
  config: Config;
  close(): Promise<void>;
}

export interface WorldOptions {
  devices: number;
  today?: string;
  jasperConcurrency?: number;
  /** MAX_ATTEMPTS; default 3. */
  maxAttempts?: number;
  /** false: no worker in this process (a test starts its own, e.g. in a child process). */
  worker?: boolean;
  /** Seal the demo accounts' secrets with this box (and open them with it). */
  secretBox?: SecretBox;
  /** Every log line of the app (level debug) and of the services, for tests that read them. */
  logLines?: string[];
}

export async function createWorld(options: WorldOptions): Promise<World> {
  const database = await createTestDatabase(20);
  await seedDemoData(database.db, { devices: options.devices, secretBox: options.secretBox });

  const revio = buildRevioSimulator({ rateLimit: { requestsPerWindow: 1_000_000, windowMs: 1000 } });
  const thingspace = buildThingSpaceSimulator({
    appKey: 'demo-app-key',
    appSecret: 'demo-app-secret',
    users: [{ username: 'simbind', password: 'demo-password' }],
    autoCreateAccount: DEMO_THINGSPACE_ACCOUNT,
    knownPlans: demoPlansOf('thingspace').ratePlans,
    asyncDelayMs: 100,
  });
  const jasper = buildJasperSimulator({
    ...demoPlansOf('jasper'),
    limits: { requests: 100, windowMs: 1000, concurrency: options.jasperConcurrency ?? 1 },
  });
  const simUrls = {
    revio: `${await revio.listen({ port: 0, host: '127.0.0.1' })}/v1`,
    thingspace: `${await thingspace.listen({ port: 0, host: '127.0.0.1' })}/api`,
    jasper: `${await jasper.listen({ port: 0, host: '127.0.0.1' })}/rws/api/v1`,
  };
  await database.pool.query(
    `UPDATE integration_credentials SET rate_limit_requests = CASE integration WHEN 'jasper' THEN 90 ELSE 1000 END,
                                        rate_limit_window_ms = 1000,
                                        rate_limit_concurrency = CASE integration WHEN 'jasper' THEN 1 END`,
  );

  const received: World['webhooks']['received'] = [];
  const receiver = Fastify();
  receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  receiver.post('/hook', async (request) => {
    received.push({ headers: request.headers, body: request.body as string });
    return { ok: true };
  });
  const hookUrl = `${await receiver.listen({ port: 0, host: '127.0.0.1' })}/hook`;
  await database.pool.query(
    `INSERT INTO webhook_endpoint (tenant_id, url, secret) SELECT id, $1, 'whsec-test-secret' FROM tenant WHERE slug = 'northwind'`,
    [hookUrl],
  );

  const mails: World['mails'] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  const smtpPort = await freePort();
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));

  const port = await freePort();
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    CHUNK_SIZE: '100',
    WORKER_CONCURRENCY: '2',
    MAX_ATTEMPTS: String(options.maxAttempts ?? 3),
    // The webhook receiver above listens on 127.0.0.1.
    WEBHOOK_ALLOW_ADDRESSES: 'loopback',
  });
  const queue = await startQueue({
    connectionString: database.url,
    pollSeconds: 1,
    supervise: options.worker !== false,
    maintenanceIntervalSeconds: 1,
  });
  const resolveBaseUrl = (url: string) =>
    url.startsWith('simulator://') ? simUrls[url.slice(12) as keyof typeof simUrls] : url;
  const retryPolicy = { baseDelayMs: 20, maxDelayMs: 200 };
  const services = createServices({
    config,
    database,
    queue,
    resolveBaseUrl,
    retryPolicy,
    ...(options.today ? { today: () => options.today! } : {}),
    ...(options.secretBox ? { secretBox: options.secretBox } : {}),
    ...(options.logLines
      ? {
          log: (line: string) => void options.logLines!.push(line),
          logger: createLogger({
            level: 'debug',
            stream: { write: (line: string) => void options.logLines!.push(line) },
          }),
        }
      : {}),
  });
  const extraQueues: JobQueue[] = [];
  const app = await buildApp({
    services,
    cookieSecret: 'test-cookie-secret-0123456789abcdef',
    logLevel: options.logLines ? 'debug' : 'silent',
    ...(options.logLines
      ? { logStream: { write: (line: string) => void options.logLines!.push(line) } }
      : {}),
  });
  await app.listen({ port, host: '127.0.0.1' });
  if (options.worker !== false) await startWorker(queue, services, config);
  const workerQueue = async () => {
    const extra = await startQueue({
      connectionString: database.url,
      pollSeconds: 1,
      supervise: true,
      maintenanceIntervalSeconds: 1,
    });
    extraQueues.push(extra);
    return extra;
  };

  return {
    database,
    app,
    services,
    queue,
    config,
    sims: { revio, thingspace, jasper },
    simUrls,
    webhooks: { url: hookUrl, received },
    mails,
    startWorker: async () => {
      await startWorker(await workerQueue(), services, config);
    },
    startNamedWorker: async (name) => {
      const ownQueue = await workerQueue();
      const own = createServices({
        config,
        database,
        queue: ownQueue,
        resolveBaseUrl,
        retryPolicy,
        workerName: name,
      });
      await startWorker(ownQueue, own, config);
      return { queue: ownQueue, services: own };
    },
    async close() {
      for (const extra of extraQueues) await extra.stop();
      await queue.stop();
      await app.close();
      await Promise.all([revio.close(), thingspace.close(), jasper.close(), receiver.close()]);
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      await database.drop();
    },
  };
}

/** Waits until the bulk change reaches a final status (or fails the test after `timeoutMs`). */
export async function waitForFinish(world: World, id: number, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await world.database.pool.query<{ status: string }>(
      'SELECT status FROM bulk_change WHERE id = $1',
      [id],
    );
    const status = rows[0]?.status;
    if (status && !['NEW', 'PROCESSING'].includes(status)) return status;
    if (Date.now() > deadline) {
      const orders = await world.database.pool.query(
        'SELECT status, chunk, count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = $1 GROUP BY 1, 2 ORDER BY 2',
        [id],
      );
      const jobs = await world.database.pool.query(
        "SELECT name, state, retry_count, output::text FROM pgboss.job WHERE data->>'bulkChangeId' = $1 ORDER BY created_on",
        [String(id)],
      );
      throw new Error(
        `bulk change ${id} still ${status} after ${timeoutMs} ms\n${JSON.stringify(orders.rows)}\n${JSON.stringify(jobs.rows).slice(0, 3000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
