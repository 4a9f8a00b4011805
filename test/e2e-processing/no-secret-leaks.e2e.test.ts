import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SECRETS } from '../../src/db/repositories/seed.repository.ts';
import { createSecretBox, generateSecretKey, parseSecretKey } from '../../src/services/secret-box.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';

/**
 * Issue 10, item 6: nothing secret leaks. A full run — Rev.io services with products, Jasper and
 * ThingSpace plan changes (a ThingSpace session, a callback), a failing partner call, webhooks and
 * e-mails — with every output captured: the app's and the services' log lines at debug level,
 * every API answer a user can ask for (JSON pages and CSV), the webhooks and e-mails sent, and every
 * row simbind wrote outside the credentials table. None may hold a seeded secret, the HTTP
 * `Authorization` values built from them, the webhook secret or the key that seals them.
 */

const KEY = generateSecretKey();
const WEBHOOK_SECRET = 'whsec-test-secret';
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Every string that must never appear in an output. */
const FORBIDDEN = [
  ...Object.values(DEMO_SECRETS).flatMap((s) => Object.values(s)),
  b64(`simbind@demo:${DEMO_SECRETS.revio.password}`),
  b64(`${DEMO_SECRETS.thingspace.appKey}:${DEMO_SECRETS.thingspace.appSecret}`),
  b64(`simbind:${DEMO_SECRETS.jasper.apiKey}`),
  WEBHOOK_SECRET,
  KEY,
  parseSecretKey(KEY).toString('hex'),
];

let world: World;
let fleet: Fleet;
let admin: { authorization: string };
const logLines: string[] = [];
/** Every output captured, labelled by where it came from. */
const outputs: { where: string; text: string }[] = [];

beforeAll(async () => {
  world = await createWorld({
    devices: 2000,
    secretBox: createSecretBox({ current: parseSecretKey(KEY) }),
    logLines,
  });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
}, 120_000);
afterAll(async () => {
  await world?.close();
});

async function get(url: string, accept = 'application/json') {
  const res = await world.app.inject({ method: 'GET', url, headers: { ...admin, accept } });
  expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBe(200);
  outputs.push({ where: `GET ${url}`, text: `${JSON.stringify(res.headers)}\n${res.body}` });
  return res;
}

/** Every page of a paged list. */
async function allPages(url: string) {
  let cursor: string | null = null;
  do {
    const page = await get(
      `${url}${url.includes('?') ? '&' : '?'}limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
    );
    cursor = page.json<{ nextCursor: string | null }>().nextCursor;
  } while (cursor);
}

describe('a full run', () => {
  it('leaves no secret in any log line, answer, CSV, webhook, e-mail or row', async () => {
    const submit = async (body: Record<string, unknown>) => {
      const res = await postAssignment(world.app, admin, body);
      outputs.push({ where: 'POST /api/v1/bulk-changes', text: res.body });
      expect(res.statusCode, res.body).toBe(202);
      return res.json<{ id: number }>().id;
    };
    // Rev.io services with products on Jasper devices, with a Jasper plan change; one Rev.io
    // customer that answers 500 (magic data) so that partner errors are recorded too.
    const failing = (
      await world.database.pool.query<{ id: number }>(
        `SELECT id FROM customer WHERE tenant_id = $1 AND kind = 'rev' AND rev_customer_id = 999500`,
        [fleet.tenantId],
      )
    ).rows[0];
    const ids = [
      await submit({
        serviceProviderId: fleet.jasper,
        customerId: fleet.revCustomer.id,
        devices: await freeDevices(world.database.pool, fleet.jasper, 20),
        createRevService: true,
        revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }] },
        addCarrierRatePlan: true,
        carrierRatePlan: {
          ratePlan: fleet.jasperPlan.code,
          communicationPlan: fleet.jasperPlan.communicationPlan,
        },
      }),
      // A ThingSpace plan change: token, session login, callback.
      await submit({
        serviceProviderId: fleet.thingspace,
        customerId: fleet.amopCustomer.id,
        devices: await freeDevices(world.database.pool, fleet.thingspace, 10),
        addCarrierRatePlan: true,
        carrierRatePlan: { ratePlan: fleet.thingspacePlan },
      }),
    ];
    if (failing) {
      ids.push(
        await submit({
          serviceProviderId: fleet.thingspace,
          customerId: failing.id,
          devices: (await freeDevices(world.database.pool, fleet.thingspace, 15)).slice(10),
          createRevService: true,
          revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 1 }] },
        }),
      );
    }
    for (const id of ids) expect(await waitForFinish(world, id)).toMatch(/^PROCESSED|ERROR/);
    // Notifications are sent after the finish: wait for one webhook and one e-mail per change.
    await expect
      .poll(() => world.webhooks.received.length, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(ids.length);
    await expect.poll(() => world.mails.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(ids.length);

    for (const id of ids) {
      await get(`/api/v1/bulk-changes/${id}`);
      await allPages(`/api/v1/bulk-changes/${id}/devices`);
      await allPages(`/api/v1/bulk-changes/${id}/logs`);
      await get(`/api/v1/bulk-changes/${id}/devices`, 'text/csv');
    }
    await allPages('/api/v1/bulk-changes');
    await get('/api/v1/service-providers');
    await allPages('/api/v1/customers');
    await allPages(`/api/v1/devices?serviceProviderId=${fleet.jasper}`);
    await get('/api/v1/audit-events');
    await get('/docs/json');

    for (const hook of world.webhooks.received) {
      outputs.push({ where: 'webhook', text: `${JSON.stringify(hook.headers)}\n${hook.body}` });
    }
    for (const mail of world.mails) outputs.push({ where: 'e-mail', text: mail.raw });
    outputs.push({ where: 'logs', text: logLines.join('\n') });
    // Every row simbind wrote, of every table but the one that holds the (sealed) secrets.
    const tables = (
      await world.database.pool.query<{ name: string }>(
        `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
         WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'
           AND table_name NOT IN ('integration_credentials', 'webhook_endpoint')`,
      )
    ).rows.map((r) => r.name);
    for (const table of tables) {
      const { rows } = await world.database.pool.query<{ t: string | null }>(
        `SELECT string_agg(row_to_json(x)::text, E'\\n') AS t FROM ${table} x`,
      );
      outputs.push({ where: `table ${table}`, text: rows[0]?.t ?? '' });
    }
    const sealed = (
      await world.database.pool.query<{ t: string }>(
        `SELECT string_agg(secrets::text, ' ') AS t FROM integration_credentials`,
      )
    ).rows[0]!.t;
    outputs.push({ where: 'integration_credentials.secrets (sealed)', text: sealed });

    // The run did what it should: partner calls were made and recorded, so there was something to leak.
    const calls = await world.database.pool.query<{ system: string; n: number }>(
      `SELECT system, count(*)::int AS n FROM change_log WHERE bulk_change_id = ANY($1) AND system IS NOT NULL GROUP BY 1`,
      [ids],
    );
    expect(calls.rows.map((r) => r.system).sort()).toEqual(['jasper', 'revio', 'thingspace']);
    // One line per request (at debug here) and the services' own: something to scan.
    expect(logLines.filter((line) => line.includes('"request completed"')).length).toBeGreaterThan(10);
    expect(logLines.length).toBeGreaterThan(20);

    const leaks = outputs.flatMap(({ where, text }) =>
      FORBIDDEN.filter((secret) => text.includes(secret)).map((secret) => `${where}: ${secret.slice(0, 6)}…`),
    );
    console.log(
      `secret-leak scan: ${outputs.length} outputs, ${(outputs.reduce((n, o) => n + o.text.length, 0) / 1e6).toFixed(1)} MB, ` +
        `${FORBIDDEN.length} forbidden strings, ${logLines.length} log lines, ${tables.length} tables: ${leaks.length} leaks`,
    );
    expect(leaks).toEqual([]);
  });
});
