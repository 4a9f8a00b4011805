import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeHttpAgent } from '../../src/clients/http-client.ts';
import { createJasperClient } from '../../src/clients/jasper.client.ts';
import { createMemoryRateGate } from '../../src/clients/memory-rate-gate.ts';
import { createRevioClient, type RevioCredentials } from '../../src/clients/revio.client.ts';
import { createThingSpaceClient } from '../../src/clients/thingspace.client.ts';
import { createWebhookClient } from '../../src/clients/webhook.client.ts';
import type { WorkItem } from '../../src/db/repositories/processing.repository.ts';
import { isIntegrationError, type Exchange, type IntegrationError } from '../../src/errors.ts';
import { integrationFailure, logOf } from '../../src/services/processing/step-kit.ts';

/**
 * A remote that answers errors carrying our secrets back: the way a debugging proxy, a gateway that
 * echoes the request, or an OAuth server quoting the refused client_secret does. None of the
 * simulators echoes a credential (their error bodies are fixed texts), so this is a small Fastify
 * server over loopback; the clients under test are the real ones, through the real `send`.
 */

const SECRETS = {
  revioPassword: 'rv-pass-"quoted"-9F2k',
  subscriptionKey: 'sub-key-7Hq2mX91',
  appKey: 'ts-app-key-41Lz0',
  appSecret: 'ts-app-secret-Qm83',
  refreshToken: 'rt-Zx81-refresh',
  jasperApiKey: 'jasper-api-key-5Kp',
  webhookToken: 'hook-token-Wq7u2',
  webhookSecret: 'hmac-secret-Lp04n',
};

let remote: FastifyInstance;
let base: string;
const seen: { path: string; headers: FastifyRequest['headers'] }[] = [];

beforeAll(async () => {
  remote = Fastify();
  remote.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, body, done) =>
    done(null, body),
  );
  remote.addHook('onRequest', async (request) => {
    seen.push({ path: request.url, headers: request.headers });
  });

  // Rev.io's gateway, echoing what it refused: the key in its sentence, the headers as received.
  remote.get('/revio/v1/Customers/:id', async (request, reply) =>
    reply.code(401).send({
      statusCode: 401,
      message: `Access denied due to invalid subscription key ${String(request.headers['ocp-apim-subscription-key'])}.`,
      request: { headers: request.headers },
    }),
  );
  // A proxy in front of Rev.io answering a 500 in plain text that quotes the upstream's JSON.
  remote.post('/revio/v1/Services', async (_request, reply) =>
    reply
      .code(500)
      .type('text/plain')
      .send(
        `upstream billing-core failed: {"subscriptionKey":"${SECRETS.subscriptionKey}",` +
          `"password":"${SECRETS.revioPassword.replace(/"/g, '\\"')}","refresh_token":"${SECRETS.refreshToken}"}`,
      ),
  );
  // ThingSpace's OAuth endpoint quoting the refused client credentials.
  remote.post('/ts/ts/v1/oauth2/token', async (request, reply) => {
    const [appKey, appSecret] = Buffer.from(String(request.headers.authorization).slice(6), 'base64')
      .toString()
      .split(':');
    return reply.code(400).send({
      error: 'invalid_client',
      error_description: `client_secret ${appSecret} does not match appKey ${appKey}`,
      client_secret: appSecret,
      appKey,
      refresh_token: SECRETS.refreshToken,
    });
  });
  // Jasper answering a 400 whose message repeats the API key and names it as a header.
  remote.put('/jasper/devices/:iccid', async (request, reply) => {
    const apiKey = Buffer.from(String(request.headers.authorization).slice(6), 'base64')
      .toString()
      .split(':')[1];
    return reply.code(400).send({
      errorCode: '10000024',
      errorMessage: `Invalid apiKey. Sent x-api-key: ${apiKey}`,
      'x-api-key': apiKey,
    });
  });
  // A webhook receiver whose 502 page repeats the URL (and its token).
  remote.post('/hook', async (request, reply) =>
    reply.code(502).type('text/html').send(`<html><body>Bad gateway for ${request.url}</body></html>`),
  );

  await remote.listen({ port: 0, host: '127.0.0.1' });
  const address = remote.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await remote.close();
  await closeHttpAgent();
});

beforeEach(() => {
  seen.length = 0;
});

async function failure(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(
    () => expect.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  if (!isIntegrationError(error)) throw error;
  return error;
}

const ITEM: WorkItem = {
  id: 1,
  deviceId: 2,
  iccid: '8901260000000000001',
  msisdn: null,
  request: {
    customerId: 3,
    siteId: null,
    revCustomerId: 4,
    revCredentialsId: 5,
    effectiveDate: '2025-01-01',
    activatedDate: '2025-01-01',
  },
  stepsDone: [],
  attempts: 1,
};

/**
 * Everything recorded about a failed call: the error message, the exchange, the change-log entry
 * (`logOf`) and the work-order message the CSV export shows (`integrationFailure`).
 */
function recorded(error: IntegrationError): string {
  return JSON.stringify({
    message: error.message,
    exchange: error.exchange,
    changeLog: logOf(ITEM, 'test', error.exchange, error),
    csv: integrationFailure(ITEM, error, false, 'test').message,
  });
}

/** The secret in each form it could be recorded in. */
function leaked(text: string): string[] {
  return Object.values(SECRETS).flatMap((secret) =>
    [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)].filter((form) =>
      text.includes(form),
    ),
  );
}

const revioCreds: () => RevioCredentials = () => ({
  id: 'cred-1',
  baseUrl: `${base}/revio/v1`,
  username: 'api-user',
  clientCode: 'ACME',
  password: SECRETS.revioPassword,
  subscriptionKey: SECRETS.subscriptionKey,
});

describe('secrets a remote sends back are not recorded', () => {
  it('Rev.io: a 401 quoting the subscription key and echoing the request headers', async () => {
    const revio = createRevioClient({ gate: createMemoryRateGate(), timeoutMs: 2_000 });
    const error = await failure(revio.getCustomer(revioCreds(), 42));

    expect(seen[0]?.headers['ocp-apim-subscription-key']).toBe(SECRETS.subscriptionKey);
    expect(error.status).toBe(401);
    expect(leaked(recorded(error))).toEqual([]);
    expect(error.message).toMatch(
      /^revio 401: Access denied due to invalid subscription key \[REDACTED\]\.$/,
    );
    const body = JSON.parse(error.exchange!.responseBody!) as {
      request: { headers: Record<string, string> };
    };
    expect(body.request.headers['ocp-apim-subscription-key']).toBe('[REDACTED]');
    expect(body.request.headers.authorization).toBe('[REDACTED]');
    expect(body.request.headers.host).toBe(base.slice('http://'.length));
  });

  it('Rev.io: a 500 in plain text quoting JSON with an escaped quote in the password', async () => {
    const revio = createRevioClient({ gate: createMemoryRateGate(), timeoutMs: 2_000 });
    const error = await failure(revio.createService(revioCreds(), { customerId: 42, number: '5550001' }));

    expect(error.status).toBe(500);
    expect(leaked(recorded(error))).toEqual([]);
    expect(error.message).toBe(
      'revio 500: upstream billing-core failed: {"subscriptionKey":"[REDACTED]","password":"[REDACTED]","refresh_token":"[REDACTED]"}',
    );
    expect(error.exchange?.requestBody).toContain('"number":"5550001"');
  });

  it('ThingSpace: an OAuth 400 quoting client_secret, appKey and a refresh_token', async () => {
    const exchanges: Exchange[] = [];
    const thingspace = createThingSpaceClient({
      gate: createMemoryRateGate(),
      timeoutMs: 2_000,
      onExchange: (exchange) => exchanges.push(exchange),
    });
    const creds = {
      id: 'ts-1',
      baseUrl: `${base}/ts`,
      appKey: SECRETS.appKey,
      appSecret: SECRETS.appSecret,
      username: 'ts-user',
      password: 'ts-password-0000',
      accountName: '0000123456-00001',
    };
    const error = await failure(thingspace.findDevice(creds, ITEM.iccid));

    expect(error.status).toBe(400);
    expect(error.remoteCode).toBe('invalid_client');
    expect(leaked(recorded(error))).toEqual([]);
    expect(leaked(JSON.stringify(exchanges))).toEqual([]);
    expect(exchanges).toHaveLength(1);
    expect(error.message).toBe('thingspace 400: client_secret [REDACTED] does not match appKey [REDACTED]');
  });

  it('Jasper: a 400 repeating the API key in its message and as a field', async () => {
    const jasper = createJasperClient({ gate: createMemoryRateGate(), timeoutMs: 2_000 });
    const creds = { id: 'j-1', baseUrl: `${base}/jasper`, username: 'j-user', apiKey: SECRETS.jasperApiKey };
    const error = await failure(jasper.editDevice(creds, ITEM.iccid, { ratePlan: 'IOT-1GB' }));

    expect(error.remoteCode).toBe('10000024');
    expect(leaked(recorded(error))).toEqual([]);
    expect(error.message).toBe('jasper 400: Invalid apiKey. Sent x-api-key: [REDACTED]');
  });

  it('webhook: a token in the query string, repeated by the receiver’s error page', async () => {
    const webhooks = createWebhookClient({ timeoutMs: 2_000, allow: ['loopback'] });
    const error = await failure(
      webhooks.post({
        url: `${base}/hook?token=${SECRETS.webhookToken}&tenant=7`,
        secret: SECRETS.webhookSecret,
        event: 'bulk_change.completed',
        deliveryId: 1,
        body: '{"id":1}',
      }),
    );

    expect(seen[0]?.path).toBe(`/hook?token=${SECRETS.webhookToken}&tenant=7`);
    expect(leaked(recorded(error))).toEqual([]);
    expect(error.exchange?.url).toBe(`${base}/hook?token=[REDACTED]&tenant=7`);
    expect(error.message).toBe(
      'webhook 502: <html><body>Bad gateway for /hook?token=[REDACTED]&tenant=7</body></html>',
    );
  });
});
