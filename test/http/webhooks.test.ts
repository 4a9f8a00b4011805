import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature, WEBHOOK_HEADERS } from '../../src/clients/webhook.client.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp, buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * Webhook endpoints through the API (issue 11, item 4): the secret shown once and sealed at rest,
 * send test signed and answered with the receiver's own answer, the delivery log, rotation,
 * enable/disable, delete, and the outbound guard deciding on the URL when it is saved. The receiver
 * is a real HTTP server on loopback (which the test app allows, as WEBHOOK_ALLOW_ADDRESSES would).
 */

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let database: TestDatabase;
let app: TestApp;
let receiver: Server;
let base: string;
const received: Received[] = [];
/** The receiver's answer per path; 200 with a short body otherwise. */
const answers = new Map<string, { status: number; body: string }>();
let admin: Record<string, string>;
let operator: Record<string, string>;
let contoso: Record<string, string>;

const SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 20 });
  app = await buildTestAppWithServices(database, { SECRETS_KEY });
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  contoso = await authHeaders(database.db, 'admin@contoso.example');
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const answer = answers.get(req.url ?? '') ?? { status: 200, body: '{"thanks":true}' };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => receiver?.close(resolve));
  await database?.drop();
});

const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
const counts = async () =>
  (
    await sql<{ endpoints: number; deliveries: number }>(
      `SELECT (SELECT count(*)::int FROM webhook_endpoint) AS endpoints,
              (SELECT count(*)::int FROM notification_delivery) AS deliveries`,
    )
  )[0]!;

interface Endpoint {
  id: number;
  url: string;
  events: string[];
  active: boolean;
  secret: { setAt: string; setBy: { id: number; name: string } | null };
}
interface Delivery {
  id: number;
  event: string;
  status: string;
  attempts: number;
  statusCode: number | null;
  error: string | null;
  response: string | null;
  bulkChangeId: number | null;
}

async function create(payload: Record<string, unknown>, headers = admin) {
  return app.inject({ method: 'POST', url: '/api/v1/webhooks', headers, payload });
}

async function createEndpoint(path: string): Promise<{ endpoint: Endpoint; secret: string }> {
  const res = await create({ url: `${base}${path}`, description: 'ERP' });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const sendTest = (id: number, headers = admin) =>
  app.inject({ method: 'POST', url: `/api/v1/webhooks/${id}/test`, headers });

describe('a webhook endpoint', () => {
  it('is created with its secret shown once, sealed at rest, and listed without it', async () => {
    const { endpoint, secret } = await createEndpoint('/erp');
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(endpoint).toMatchObject({ url: `${base}/erp`, events: ['bulk_change.completed'], active: true });
    expect(endpoint.secret.setBy?.name).toBeTruthy();

    const [row] = await sql<{ secret: string | null; sealed: string }>(
      'SELECT secret, sealed_secret::text AS sealed FROM webhook_endpoint WHERE id = $1',
      [endpoint.id],
    );
    expect(row!.secret).toBeNull();
    expect(row!.sealed).toContain('aes-256-gcm');
    expect(row!.sealed).not.toContain(secret);
    expect(row!.sealed).not.toContain(secret.slice(6));

    for (const url of ['/api/v1/webhooks', `/api/v1/webhooks/${endpoint.id}`]) {
      const res = await app.inject({ method: 'GET', url, headers: admin });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(`${base}/erp`);
      expect(res.body).not.toContain(secret.slice(6));
    }
  });

  it('sends a signed test now and logs it, with what the receiver answered', async () => {
    const { endpoint, secret } = await createEndpoint('/signed');
    received.length = 0;
    const res = await sendTest(endpoint.id);
    expect(res.statusCode, res.body).toBe(200);
    const delivery = res.json<Delivery>();
    expect(delivery).toMatchObject({
      event: 'webhook.test',
      status: 'delivered',
      attempts: 1,
      statusCode: 200,
      response: '{"thanks":true}',
      bulkChangeId: null,
    });

    expect(received).toHaveLength(1);
    const got = received[0]!;
    expect(got.path).toBe('/signed');
    expect(got.headers[WEBHOOK_HEADERS.event.toLowerCase()]).toBe('webhook.test');
    expect(got.headers[WEBHOOK_HEADERS.delivery.toLowerCase()]).toBe(String(delivery.id));
    const signature = got.headers[WEBHOOK_HEADERS.signature.toLowerCase()] as string;
    expect(verifySignature(secret, got.body, signature)).toBe(true);
    expect(verifySignature(`${secret}x`, got.body, signature)).toBe(false);
    expect(JSON.parse(got.body)).toMatchObject({ event: 'webhook.test', deliveryId: delivery.id });

    const log = await app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${endpoint.id}/deliveries`,
      headers: admin,
    });
    expect(log.json<{ items: Delivery[] }>().items).toEqual([delivery]);
  });

  it("records a refusal once, with the receiver's status and answer, and lists newest first", async () => {
    const { endpoint } = await createEndpoint('/broken');
    answers.set('/broken', { status: 500, body: 'database is down' });
    const failed = (await sendTest(endpoint.id)).json<Delivery>();
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      statusCode: 500,
      response: 'database is down',
    });
    expect(failed.error).toMatch(/500/);

    answers.set('/broken', { status: 204, body: '' });
    const fixed = (await sendTest(endpoint.id)).json<Delivery>();
    expect(fixed).toMatchObject({ status: 'delivered', statusCode: 204 });

    const page1 = await app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${endpoint.id}/deliveries?limit=1`,
      headers: admin,
    });
    const first = page1.json<{ items: Delivery[]; nextCursor: string }>();
    expect(first.items.map((d) => d.id)).toEqual([fixed.id]);
    const page2 = await app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${endpoint.id}/deliveries?limit=1&cursor=${first.nextCursor}`,
      headers: admin,
    });
    expect(page2.json<{ items: Delivery[] }>().items.map((d) => d.id)).toEqual([failed.id]);
  });

  it('gets a new secret on rotation: the old one signs nothing more', async () => {
    const { endpoint, secret: old } = await createEndpoint('/rotated');
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${endpoint.id}/secret`,
      headers: admin,
    });
    expect(res.statusCode, res.body).toBe(200);
    const { secret } = res.json<{ secret: string }>();
    expect(secret).not.toBe(old);

    received.length = 0;
    await sendTest(endpoint.id);
    const got = received[0]!;
    const signature = got.headers[WEBHOOK_HEADERS.signature.toLowerCase()] as string;
    expect(verifySignature(secret, got.body, signature)).toBe(true);
    expect(verifySignature(old, got.body, signature)).toBe(false);
  });

  it('is disabled and enabled, changed, and deleted with its log kept', async () => {
    const { endpoint } = await createEndpoint('/changing');
    const patch = (payload: Record<string, unknown>) =>
      app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${endpoint.id}`, headers: admin, payload });
    expect((await patch({ active: false })).json<Endpoint>().active).toBe(false);
    const moved = await patch({ url: `${base}/moved`, active: true, description: 'ERP (new)' });
    expect(moved.json<Endpoint>()).toMatchObject({ url: `${base}/moved`, active: true });
    const { id: deliveryId } = (await sendTest(endpoint.id)).json<Delivery>();

    const gone = await app.inject({
      method: 'DELETE',
      url: `/api/v1/webhooks/${endpoint.id}`,
      headers: admin,
    });
    expect(gone.statusCode).toBe(204);
    expect(
      (await app.inject({ method: 'GET', url: `/api/v1/webhooks/${endpoint.id}`, headers: admin }))
        .statusCode,
    ).toBe(404);
    const [kept] = await sql<{ recipient: string; webhook_endpoint_id: number | null }>(
      'SELECT recipient, webhook_endpoint_id FROM notification_delivery WHERE id = $1',
      [deliveryId],
    );
    expect(kept).toEqual({ recipient: `${base}/moved`, webhook_endpoint_id: null });
  });
});

describe('what is refused, changing nothing', () => {
  it('refuses URLs the outbound guard would not call, saying why, at the field', async () => {
    const cases: [string, RegExp][] = [
      ['http://10.0.0.7/hook', /private/],
      ['http://169.254.169.254/latest/meta-data', /link-local|metadata/],
      ['http://[fd00::1]/hook', /private|unique/],
      ['ftp://127.0.0.1/hook', /http and https/],
      [`http://user:pw@127.0.0.1/hook`, /credentials/],
      ['not a url', /not a valid URL/],
    ];
    const before = await counts();
    for (const [url, why] of cases) {
      const res = await create({ url });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(422);
      const { details } = res.json<{ error: { details: { path: string; message: string }[] } }>().error;
      expect(details[0]!.path).toBe('/url');
      expect(details[0]!.message, url).toMatch(why);
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses loopback where WEBHOOK_ALLOW_ADDRESSES does not allow it (the production default)', async () => {
    const strict = await buildTestApp(database, { SECRETS_KEY, WEBHOOK_ALLOW_ADDRESSES: '' });
    try {
      const before = await counts();
      const res = await strict.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        headers: admin,
        payload: { url: `${base}/local` },
      });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.body).toMatch(/loopback address, not an allowed destination/);
      expect(await counts()).toEqual(before);
    } finally {
      await strict.close();
    }
  });

  it('refuses wrong types, unknown events and fields, and a body on actions', async () => {
    const { endpoint } = await createEndpoint('/strict');
    const before = await counts();
    const bad: [string, string, Record<string, unknown>][] = [
      ['POST', '/api/v1/webhooks', { url: 42 }],
      ['POST', '/api/v1/webhooks', { url: `${base}/x`, events: ['device.stolen'] }],
      ['POST', '/api/v1/webhooks', { url: `${base}/x`, events: [] }],
      ['POST', '/api/v1/webhooks', { url: `${base}/x`, secret: 'mine' }],
      ['POST', '/api/v1/webhooks', { url: `${base}/\u0000` }],
      ['PATCH', `/api/v1/webhooks/${endpoint.id}`, {}],
      ['PATCH', `/api/v1/webhooks/${endpoint.id}`, { active: 'false' }],
      ['POST', `/api/v1/webhooks/${endpoint.id}/test`, { force: true }],
      ['POST', `/api/v1/webhooks/${endpoint.id}/secret`, { secret: 'mine' }],
    ];
    for (const [method, url, payload] of bad) {
      const res = await app.inject({ method: method as 'POST', url, headers: admin, payload });
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`).toBe(400);
      expect(res.json<{ error: { details: unknown[] } }>().error.details.length).toBeGreaterThan(0);
    }
    expect(await counts()).toEqual(before);
  });

  it('keeps webhooks to administrators, and to their own tenant', async () => {
    const { endpoint } = await createEndpoint('/mine');
    const before = await counts();
    expect((await create({ url: `${base}/op` }, operator)).statusCode).toBe(403);
    expect((await sendTest(endpoint.id, operator)).statusCode).toBe(403);
    for (const [method, url] of [
      ['GET', `/api/v1/webhooks/${endpoint.id}`],
      ['POST', `/api/v1/webhooks/${endpoint.id}/test`],
      ['POST', `/api/v1/webhooks/${endpoint.id}/secret`],
      ['GET', `/api/v1/webhooks/${endpoint.id}/deliveries`],
      ['DELETE', `/api/v1/webhooks/${endpoint.id}`],
    ] as const) {
      expect((await app.inject({ method, url, headers: contoso })).statusCode, `${method} ${url}`).toBe(404);
    }
    const list = await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: contoso });
    expect(list.json<{ items: unknown[] }>().items).toEqual([]);
    expect(await counts()).toEqual(before);
  });
});
