import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgent } from '../../src/clients/http-client.ts';
import { createWebhookClient, verifySignature } from '../../src/clients/webhook.client.ts';
import { loadConfig } from '../../src/config.ts';
import { RetryableError } from '../../src/errors.ts';
import { registerNotificationTask } from '../../src/jobs/notification-deliver.task.ts';
import { startQueue, type JobQueue } from '../../src/jobs/queue.ts';
import {
  createNotificationService,
  type CompletionEvent,
  type NotificationService,
} from '../../src/services/notification.service.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * Completion notifications against a real PostgreSQL (rows + pg-boss jobs), a real HTTP receiver
 * on loopback and a real SMTP server (`smtp-server`) collecting what it is sent. No mocks.
 */

interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Answer {
  status: number;
  delayMs?: number;
  location?: string;
}

/** A webhook receiver: per path, a script of answers (status, optional delay); 200 once it runs out. */
async function startReceiver() {
  const hits: Hit[] = [];
  const scripts = new Map<string, Answer[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
      const answer = scripts.get(path)?.shift() ?? { status: 200 };
      setTimeout(() => {
        res.writeHead(answer.status, {
          'content-type': 'application/json',
          ...(answer.location ? { location: answer.location } : {}),
        });
        res.end(JSON.stringify({ answer: answer.status }));
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    hits,
    url: (path: string) => base + path,
    to: (path: string) => hits.filter((h) => h.path === path),
    script: (path: string, ...answers: (number | Answer)[]) =>
      scripts.set(
        path,
        answers.map((a) => (typeof a === 'number' ? { status: a } : a)),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Mail {
  to: string[];
  raw: string;
}

async function startSmtpSink(options: ConstructorParameters<typeof SMTPServer>[0] = {}) {
  const messages: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        messages.push({ to, raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { messages, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let database: TestDatabase;
let queue: JobQueue;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let service: NotificationService;
let northwind: { tenantId: number; providerId: number; customerId: number };
let contosoTenantId: number;
let admin: { id: number; name: string; email: string };

// The receiver listens on loopback, which webhooks may reach only when allowed.
const configOf = (env: Record<string, string>) =>
  loadConfig({ LOG_LEVEL: 'silent', HTTP_TIMEOUT_MS: '2000', WEBHOOK_ALLOW_ADDRESSES: 'loopback', ...env });
const serviceWith = (env: Record<string, string>, maxAttempts?: number) => {
  const config = configOf(env);
  const webhooks = createWebhookClient({
    timeoutMs: config.integrations.httpTimeoutMs,
    allow: config.webhooks.allowAddresses,
  });
  return createNotificationService({ db: database.db, queue, config, webhooks, maxAttempts });
};

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 50 });
  queue = await startQueue({ connectionString: database.url, pollSeconds: 1, supervise: false });
  receiver = await startReceiver();
  sink = await startSmtpSink();
  service = serviceWith({
    SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
    MAIL_FROM: 'simbind <noreply@simbind.example>',
    PUBLIC_URL: 'https://simbind.example.com/',
  });
  const one = async <T>(text: string, values: unknown[]) =>
    (await database.pool.query(text, values)).rows[0] as T;
  const tenantOf = async (slug: string) =>
    (await one<{ id: number }>('SELECT id FROM tenant WHERE slug = $1', [slug])).id;
  const tenantId = await tenantOf('northwind');
  contosoTenantId = await tenantOf('contoso');
  admin = await one('SELECT id, name, email FROM app_user WHERE email = $1', ['admin@northwind.example']);
  northwind = {
    tenantId,
    providerId: (
      await one<{ id: number }>('SELECT min(id) AS id FROM service_provider WHERE tenant_id = $1', [tenantId])
    ).id,
    customerId: (
      await one<{ id: number }>('SELECT min(id) AS id FROM customer WHERE tenant_id = $1', [tenantId])
    ).id,
  };
});
afterAll(async () => {
  await queue?.stop();
  await receiver?.close();
  await sink?.close();
  await closeHttpAgent();
  await database?.drop();
});

const rows = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
const count = async (from: string, values: unknown[] = []) =>
  (await rows<{ n: number }>(`SELECT count(*)::int AS n FROM ${from}`, values))[0]!.n;

async function newBulkChange(): Promise<number> {
  const [row] = await rows<{ id: number }>(
    `INSERT INTO bulk_change (tenant_id, change_type, service_provider_id, portal_type, customer_id, created_by, options)
     SELECT $1, 'customer_assignment', sp.id, sp.portal_type, $3, $4, '{}' FROM service_provider sp WHERE sp.id = $2
     RETURNING id`,
    [northwind.tenantId, northwind.providerId, northwind.customerId, admin.id],
  );
  return row!.id;
}

const completion = (bulkChangeId: number): CompletionEvent => ({
  tenantId: northwind.tenantId,
  bulkChangeId,
  status: 'PROCESSED_WITH_ERRORS',
  counts: { total: 10, pending: 0, processing: 0, waiting: 0, processed: 8, error: 2, cancelled: 0 },
  startedAt: '2025-03-04T10:00:00.000Z',
  completedAt: '2025-03-04T10:05:00.000Z',
  submitter: admin,
});

async function newEndpoint(
  path: string,
  init: { tenantId?: number; active?: boolean; events?: string[] } = {},
) {
  const secret = `whsec_${randomBytes(12).toString('hex')}`;
  const [row] = await rows<{ id: number; url: string }>(
    `INSERT INTO webhook_endpoint (tenant_id, url, secret, events, active) VALUES ($1, $2, $3, $4, $5)
     RETURNING id, url`,
    [
      init.tenantId ?? northwind.tenantId,
      receiver.url(path),
      secret,
      init.events ?? ['bulk_change.completed'],
      init.active ?? true,
    ],
  );
  return { ...row!, secret };
}

interface DeliveryRow {
  id: number;
  channel: string;
  recipient: string;
  webhook_endpoint_id: number | null;
  payload: Record<string, unknown>;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
}

const deliveriesOf = (bulkChangeId: number) =>
  rows<DeliveryRow>('SELECT * FROM notification_delivery WHERE bulk_change_id = $1 ORDER BY id', [
    bulkChangeId,
  ]);
const delivery = async (id: number) =>
  (await rows<DeliveryRow>('SELECT * FROM notification_delivery WHERE id = $1', [id]))[0]!;
const attemptsOf = (id: number) =>
  rows<{ attempt: number; status_code: number | null; error: string | null; duration_ms: number | null }>(
    'SELECT attempt, status_code, error, duration_ms FROM notification_attempt WHERE notification_delivery_id = $1 ORDER BY attempt',
    [id],
  );

/** Only these endpoints active for northwind; a fresh finished bulk change notified (committed). */
async function completedWith(paths: string[], notifications = service) {
  await database.pool.query('UPDATE webhook_endpoint SET active = false WHERE tenant_id = $1', [
    northwind.tenantId,
  ]);
  const endpoints = await Promise.all(paths.map((p) => newEndpoint(p)));
  const bulkChangeId = await newBulkChange();
  await notifications.enqueueCompletion(database.db, completion(bulkChangeId));
  const deliveries = await deliveriesOf(bulkChangeId);
  const webhookTo = (path: string) => deliveries.find((d) => d.recipient === receiver.url(path))!;
  return {
    bulkChangeId,
    deliveries,
    endpoints,
    webhookTo,
    email: deliveries.find((d) => d.channel === 'email'),
  };
}

describe('enqueueCompletion', () => {
  it('writes one delivery per subscribed active endpoint of the tenant plus an e-mail, with its jobs, in the caller transaction', async () => {
    const a = await newEndpoint('/t1/a');
    const b = await newEndpoint('/t1/b');
    await newEndpoint('/t1/inactive', { active: false });
    await newEndpoint('/t1/contoso', { tenantId: contosoTenantId });
    await newEndpoint('/t1/other-event', { events: ['device.updated'] });
    const bulkChangeId = await newBulkChange();
    const jobs = () => count(`pgboss.job WHERE name = 'notification.deliver'`);
    const jobsBefore = await jobs();

    // Rolled back: the rows existed inside the transaction, and nothing survives it.
    let seenInside = 0;
    await expect(
      database.db.transaction().execute(async (trx) => {
        await service.enqueueCompletion(trx, completion(bulkChangeId));
        seenInside = (
          await trx
            .selectFrom('notification_delivery')
            .select('id')
            .where('bulk_change_id', '=', bulkChangeId)
            .execute()
        ).length;
        throw new Error('finish failed');
      }),
    ).rejects.toThrow('finish failed');
    expect(seenInside).toBe(3);
    expect(await deliveriesOf(bulkChangeId)).toHaveLength(0);
    expect(await jobs()).toBe(jobsBefore);

    await database.db
      .transaction()
      .execute((trx) => service.enqueueCompletion(trx, completion(bulkChangeId)));
    const written = await deliveriesOf(bulkChangeId);
    expect(written.map((d) => [d.channel, d.recipient, d.webhook_endpoint_id, d.status, d.attempts])).toEqual(
      [
        ['webhook', a.url, a.id, 'pending', 0],
        ['webhook', b.url, b.id, 'pending', 0],
        ['email', 'admin@northwind.example', null, 'pending', 0],
      ],
    );
    const self = `https://simbind.example.com/api/v1/bulk-changes/${bulkChangeId}`;
    expect(written[0]!.payload).toEqual({
      event: 'bulk_change.completed',
      deliveryId: written[0]!.id,
      occurredAt: '2025-03-04T10:05:00.000Z',
      data: {
        id: bulkChangeId,
        status: 'PROCESSED_WITH_ERRORS',
        counts: { total: 10, pending: 0, processing: 0, waiting: 0, processed: 8, error: 2, cancelled: 0 },
        startedAt: '2025-03-04T10:00:00.000Z',
        completedAt: '2025-03-04T10:05:00.000Z',
        links: { self, devices: `${self}/devices`, logs: `${self}/logs` },
      },
    });
    expect(written.map((d) => d.payload.deliveryId)).toEqual(written.map((d) => d.id));

    const queued = await rows<{ id: number }>(
      `SELECT (data->>'deliveryId')::bigint AS id FROM pgboss.job WHERE name = 'notification.deliver'
       AND (data->>'deliveryId')::bigint = ANY ($1::bigint[]) ORDER BY 1`,
      [written.map((d) => d.id)],
    );
    expect(queued.map((j) => j.id)).toEqual(written.map((d) => d.id));
    expect(await jobs()).toBe(jobsBefore + 3);

    // Finishing twice (a retried finish job) adds no row and no job.
    await service.enqueueCompletion(database.db, completion(bulkChangeId));
    await database.db
      .transaction()
      .execute((trx) => service.enqueueCompletion(trx, completion(bulkChangeId)));
    expect(await deliveriesOf(bulkChangeId)).toHaveLength(3);
    expect(await jobs()).toBe(jobsBefore + 3);
  });
});

describe('deliver: webhooks', () => {
  it('posts the stored payload signed with the endpoint secret, and records one delivered attempt', async () => {
    const { webhookTo, endpoints } = await completedWith(['/t2/ok']);
    const row = webhookTo('/t2/ok');
    await service.deliver(row.id);

    const [hit, ...more] = receiver.to('/t2/ok');
    expect(more).toHaveLength(0);
    expect(hit!.headers['content-type']).toBe('application/json');
    expect(hit!.headers['x-simbind-event']).toBe('bulk_change.completed');
    expect(hit!.headers['x-simbind-delivery']).toBe(String(row.id));
    expect(JSON.parse(hit!.body.toString('utf8'))).toEqual(row.payload);
    const signature = hit!.headers['x-simbind-signature'] as string;
    expect(signature).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    expect(Math.abs(Number(/^t=(\d+)/.exec(signature)![1]) - Date.now() / 1000)).toBeLessThan(60);
    const secret = endpoints[0]!.secret;
    expect(verifySignature(secret, hit!.body, signature)).toBe(true);
    expect(verifySignature(`${secret}x`, hit!.body, signature)).toBe(false);
    const tampered = Buffer.from(hit!.body.toString('utf8').replace('"error":2', '"error":0'));
    expect(tampered.equals(hit!.body)).toBe(false);
    expect(verifySignature(secret, tampered, signature)).toBe(false);
    expect(verifySignature(secret, hit!.body, undefined)).toBe(false);
    expect(verifySignature(secret, hit!.body, signature.replace(/v1=.*/, 'v1=abc'))).toBe(false);
    // The timestamp is signed too: moving it (to replay an old delivery as new) breaks the signature.
    const moved = signature.replace(/^t=(\d+)/, (_all, t: string) => `t=${Number(t) + 1}`);
    expect(verifySignature(secret, hit!.body, moved)).toBe(false);

    expect(await delivery(row.id)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      last_status_code: 200,
      last_error: null,
    });
    expect((await delivery(row.id)).delivered_at).toBeInstanceOf(Date);
    const attempts = await attemptsOf(row.id);
    expect(attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([[1, 200, null]]);
    expect(attempts[0]!.duration_ms).toBeGreaterThanOrEqual(0);

    // At-least-once queue, exactly-once delivery: a second run sends nothing and records nothing.
    await service.deliver(row.id);
    expect(receiver.to('/t2/ok')).toHaveLength(1);
    expect(await attemptsOf(row.id)).toHaveLength(1);
  });

  it('throws on 5xx so the queue retries, records each attempt, then delivers the same bytes', async () => {
    const { webhookTo, endpoints } = await completedWith(['/t3/flaky']);
    receiver.script('/t3/flaky', 500, 503);
    const id = webhookTo('/t3/flaky').id;

    await expect(service.deliver(id)).rejects.toBeInstanceOf(RetryableError);
    expect(await delivery(id)).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 500 });
    await expect(service.deliver(id)).rejects.toThrow(/webhook 503/);
    await service.deliver(id);

    expect(await delivery(id)).toMatchObject({
      status: 'delivered',
      attempts: 3,
      last_status_code: 200,
      last_error: null,
    });
    const attempts = await attemptsOf(id);
    expect(attempts.map((a) => [a.attempt, a.status_code])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);
    expect(attempts[0]!.error).toMatch(/^webhook 500: /);
    const hits = receiver.to('/t3/flaky');
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.body.toString('hex'))).size).toBe(1);
    // Each attempt is signed when sent (a fresh timestamp), and each signature holds.
    const secret = endpoints[0]!.secret;
    for (const hit of hits) {
      expect(verifySignature(secret, hit.body, hit.headers['x-simbind-signature'] as string)).toBe(true);
    }
  });

  it('fails a permanent refusal (410) at once, without throwing and without sending again', async () => {
    const { webhookTo } = await completedWith(['/t3/gone']);
    receiver.script('/t3/gone', 410);
    const id = webhookTo('/t3/gone').id;
    await service.deliver(id);
    expect(await delivery(id)).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 410 });
    expect((await delivery(id)).last_error).toMatch(/^webhook 410/);
    await service.deliver(id);
    expect(receiver.to('/t3/gone')).toHaveLength(1);
  });

  it('fails an endpoint on an address not allowed at once, sending nothing, with the reason recorded', async () => {
    const guarded = serviceWith({ WEBHOOK_ALLOW_ADDRESSES: '' });
    const { webhookTo } = await completedWith(['/t7/local'], guarded);
    const id = webhookTo('/t7/local').id;
    await guarded.deliver(id);
    expect(await delivery(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_status_code: null,
      last_error: 'webhook: 127.0.0.1 is a loopback address, not an allowed destination',
    });
    expect(receiver.to('/t7/local')).toHaveLength(0);
  });

  it('fails a delivery redirected to an address not allowed, recording the redirect', async () => {
    const narrow = serviceWith({ WEBHOOK_ALLOW_ADDRESSES: '127.0.0.1/32' });
    const { webhookTo } = await completedWith(['/t7/moved'], narrow);
    receiver.script('/t7/moved', { status: 302, location: `http://127.0.0.2:${await freePort()}/hook` });
    const id = webhookTo('/t7/moved').id;
    await narrow.deliver(id);
    expect(await delivery(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_status_code: 302,
      last_error:
        'webhook 302: redirect refused: 127.0.0.2 is a loopback address, not an allowed destination',
    });
    expect(receiver.to('/t7/moved')).toHaveLength(1);
  });

  it('fails a transient failure on the last allowed attempt, without throwing', async () => {
    const twice = serviceWith({}, 2);
    const { webhookTo } = await completedWith(['/t3/down'], twice);
    receiver.script('/t3/down', 503, 502, 500);
    const id = webhookTo('/t3/down').id;
    await expect(twice.deliver(id)).rejects.toBeInstanceOf(RetryableError);
    await twice.deliver(id);
    expect(await delivery(id)).toMatchObject({ status: 'failed', attempts: 2, last_status_code: 502 });
    await twice.deliver(id);
    expect(receiver.to('/t3/down')).toHaveLength(2);
  });

  it('treats a refused connection and a timeout as transient', async () => {
    const impatient = serviceWith({ HTTP_TIMEOUT_MS: '200' });
    const { webhookTo, endpoints } = await completedWith(['/t3/slow', '/t3/closed'], impatient);
    await database.pool.query('UPDATE webhook_endpoint SET url = $1 WHERE id = $2', [
      `http://127.0.0.1:${await freePort()}/closed`,
      endpoints[1]!.id,
    ]);
    receiver.script('/t3/slow', { status: 200, delayMs: 1000 });

    await expect(impatient.deliver(webhookTo('/t3/slow').id)).rejects.toThrow(/timed out after 200 ms/);
    await expect(impatient.deliver(webhookTo('/t3/closed').id)).rejects.toThrow(/ECONNREFUSED/);
    const [slow] = await attemptsOf(webhookTo('/t3/slow').id);
    expect(slow).toMatchObject({ attempt: 1, status_code: null, error: 'webhook: timed out after 200 ms' });
    expect((await delivery(webhookTo('/t3/closed').id)).status).toBe('pending');
  });

  it('sends once when two runs of the same job overlap', async () => {
    const { webhookTo } = await completedWith(['/t5/slow']);
    receiver.script('/t5/slow', { status: 200, delayMs: 300 });
    const id = webhookTo('/t5/slow').id;
    await Promise.all([service.deliver(id), service.deliver(id)]);
    expect(receiver.to('/t5/slow')).toHaveLength(1);
    expect(await attemptsOf(id)).toHaveLength(1);
  });

  it('gives up without sending when the endpoint was switched off after the bulk change finished', async () => {
    const { webhookTo, endpoints } = await completedWith(['/t5/off']);
    await database.pool.query('UPDATE webhook_endpoint SET active = false WHERE id = $1', [endpoints[0]!.id]);
    await service.deliver(webhookTo('/t5/off').id);
    expect(await delivery(webhookTo('/t5/off').id)).toMatchObject({
      status: 'failed',
      attempts: 0,
      last_error: 'webhook endpoint is inactive',
    });
    expect(receiver.to('/t5/off')).toHaveLength(0);
  });

  it('never stores an endpoint secret in a delivery or an attempt', async () => {
    const secrets = await rows<{ secret: string }>('SELECT secret FROM webhook_endpoint');
    expect(secrets.length).toBeGreaterThan(5);
    expect(await count('notification_attempt')).toBeGreaterThan(5);
    const leaks = await count(
      `notification_delivery d LEFT JOIN notification_attempt a ON a.notification_delivery_id = d.id, webhook_endpoint e
       WHERE strpos(d::text, e.secret) > 0 OR strpos(coalesce(a::text, ''), e.secret) > 0`,
    );
    expect(leaks).toBe(0);
  });
});

describe('deliver: e-mail', () => {
  it('mails the submitter with the bulk change id and status in the subject, and counts and links in the body', async () => {
    const { bulkChangeId, email } = await completedWith([]);
    expect(email).toMatchObject({ recipient: 'admin@northwind.example', status: 'pending' });
    const before = sink.messages.length;
    await service.deliver(email!.id);

    const mails = sink.messages.slice(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['admin@northwind.example']);
    expect(mails[0]!.raw).toContain(`Subject: simbind: bulk change ${bulkChangeId} processed with errors`);
    expect(mails[0]!.raw).toMatch(/^From: simbind <noreply@simbind\.example>/m);
    expect(mails[0]!.raw).toContain(
      `https://simbind.example.com/api/v1/bulk-changes/${bulkChangeId}/devices`,
    );
    expect(mails[0]!.raw).toMatch(/errors: +2/);
    expect(await delivery(email!.id)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      last_status_code: 250,
    });

    await service.deliver(email!.id);
    expect(sink.messages).toHaveLength(before + 1);
  });

  it('writes no e-mail row when SMTP is not configured, and links to http://localhost:PORT', async () => {
    const { deliveries, bulkChangeId } = await completedWith(['/t4/hook'], serviceWith({ PORT: '3999' }));
    expect(deliveries.map((d) => d.channel)).toEqual(['webhook']);
    expect((deliveries[0]!.payload.data as { links: { self: string } }).links.self).toBe(
      `http://localhost:3999/api/v1/bulk-changes/${bulkChangeId}`,
    );
  });

  it('keeps the SMTP password out of the delivery log when the server echoes it back', async () => {
    const password = 'p@ss:w0rd/Sekr1t';
    const echoing = await startSmtpSink({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        callback(new Error(`Unknown user ${auth.username} with password ${auth.password ?? ''}`));
      },
    });
    try {
      const smtpUrl = `smtp://mailer:${encodeURIComponent(password)}@127.0.0.1:${echoing.port}`;
      const mailer = serviceWith({ SMTP_URL: smtpUrl });
      const { email } = await completedWith([], mailer);
      await mailer.deliver(email!.id); // 535: permanent, no throw
      const row = await delivery(email!.id);
      expect(row).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 535 });
      expect(row.last_error).toContain('Unknown user mailer with password [REDACTED]');
      const [attempt] = await attemptsOf(email!.id);
      for (const text of [row.last_error!, attempt!.error!]) {
        expect(text).not.toContain(password);
        expect(text).not.toContain(encodeURIComponent(password));
      }
    } finally {
      await echoing.close();
    }
  });

  it('treats an unreachable SMTP server as transient, a refused recipient as permanent', async () => {
    const unreachable = serviceWith({ SMTP_URL: `smtp://u:secretpw@127.0.0.1:${await freePort()}` });
    const { email } = await completedWith([], unreachable);
    const error: unknown = await unreachable.deliver(email!.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).not.toContain('secretpw');
    expect((await delivery(email!.id)).status).toBe('pending');

    const refusing = await startSmtpSink({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
      },
    });
    try {
      const strict = serviceWith({ SMTP_URL: `smtp://127.0.0.1:${refusing.port}` });
      const refused = await completedWith([], strict);
      await strict.deliver(refused.email!.id);
      expect(await delivery(refused.email!.id)).toMatchObject({ status: 'failed', last_status_code: 550 });
    } finally {
      await refusing.close();
    }
  });
});

describe('the notification.deliver worker', () => {
  it('delivers queued notifications end to end, retrying a 503 through pg-boss', async () => {
    // Earlier tests' jobs would otherwise run against their scripted endpoints too.
    await database.pool.query(`DELETE FROM pgboss.job WHERE name = 'notification.deliver'`);
    const worker = await startQueue({ connectionString: database.url, pollSeconds: 1, supervise: true });
    try {
      await registerNotificationTask(worker, service, 2);
      receiver.script('/t6/hook', 503);
      const before = sink.messages.length;
      const { webhookTo, email, bulkChangeId } = await completedWith(['/t6/hook']);
      const id = webhookTo('/t6/hook').id;

      await waitFor(async () => receiver.to('/t6/hook').length === 1 && (await delivery(id)).attempts === 1);
      await waitFor(async () => (await delivery(email!.id)).status === 'delivered');
      expect(sink.messages.slice(before).map((m) => m.to)).toEqual([['admin@northwind.example']]);
      expect(sink.messages.at(-1)!.raw).toContain(`bulk change ${bulkChangeId}`);

      // pg-boss holds the failed job for a backoff of 5-10 s; bring it forward rather than wait.
      await waitFor(
        async () => (await count(`pgboss.job WHERE name = 'notification.deliver' AND state = 'retry'`)) === 1,
      );
      const [retry] = await rows<{ data: { deliveryId: number }; wait: number }>(
        `SELECT data, extract(epoch FROM start_after - now()) AS wait FROM pgboss.job
         WHERE name = 'notification.deliver' AND state = 'retry'`,
      );
      expect(retry!.data.deliveryId).toBe(id);
      expect(Number(retry!.wait)).toBeGreaterThan(2);
      await database.pool.query(
        `UPDATE pgboss.job SET start_after = now() WHERE name = 'notification.deliver' AND state = 'retry'`,
      );

      await waitFor(async () => (await delivery(id)).status === 'delivered');
      expect((await attemptsOf(id)).map((a) => a.status_code)).toEqual([503, 200]);
      expect(receiver.to('/t6/hook')).toHaveLength(2);
    } finally {
      await worker.stop();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
