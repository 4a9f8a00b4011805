import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, type World } from '../helpers/world.ts';
import { readEvents, signIn, type SseEvent } from './sse-client.ts';

/**
 * Issue 15, live progress: a real HTTP client reads `GET /bulk-changes/:id/events` while a real
 * worker processes a Rev.io-path change against the Rev.io simulator, rate limited so that the
 * change takes seconds; and the per-device progress of that path (counts move as devices finish,
 * not once per group). Then the streams' bounds on an app of their own with short limits.
 */

const DEVICES = 20;
let world: World;
let fleet: Fleet;
let admin: { authorization: string };
let cookie: string;
let base: string;

beforeAll(async () => {
  world = await createWorld({ devices: 2000, worker: false });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
  base = `http://127.0.0.1:${world.config.http.port}`;
  cookie = await signIn(world.app, 'admin@northwind.example', 'admin-demo');
}, 120_000);
afterAll(async () => {
  await world?.close();
});

async function submitRevChange(devices: string[]): Promise<number> {
  const res = await postAssignment(world.app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.revCustomer.id,
    devices,
    createRevService: true,
    revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }] },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

const processedOf = async (id: number) =>
  (
    await world.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = $1 AND status = 'PROCESSED'`,
      [id],
    )
  ).rows[0]!.n;

describe('a Rev.io-path change followed live', () => {
  it('moves its processed count device by device, and streams each change, then the final state', async () => {
    // 8 requests a second for the Rev.io account: 20 services and 20 products take about 5 s,
    // all in one chunk and one group of the worker (CHUNK_SIZE 100, groups of 32).
    await world.database.pool.query(
      `UPDATE integration_credentials SET rate_limit_requests = 8, rate_limit_window_ms = 1000 WHERE integration = 'revio'`,
    );
    const id = await submitRevChange(await freeDevices(world.database.pool, fleet.thingspace, DEVICES));
    const stream = readEvents(`${base}/api/v1/bulk-changes/${id}/events`, { cookie });
    await world.startWorker();

    // The database, every 100 ms while the change runs: how the processed count grew.
    const seen: number[] = [];
    let status = 'NEW';
    while (!['PROCESSED', 'PROCESSED_WITH_ERRORS', 'ERROR'].includes(status)) {
      const processed = await processedOf(id);
      if (seen.at(-1) !== processed) seen.push(processed);
      status = (
        await world.database.pool.query<{ status: string }>('SELECT status FROM bulk_change WHERE id = $1', [
          id,
        ])
      ).rows[0]!.status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`processed counts seen while the group ran: ${seen.join(' → ')}`);
    expect(status).toBe('PROCESSED');
    // One group of 20: before, 0 → 20 in one step when the group ended.
    const increments = seen.filter((n) => n > 0);
    expect(increments.length).toBeGreaterThan(2);
    expect(increments.at(-1)).toBe(DEVICES);

    const { events, ended, opening } = await stream;
    expect(opening.status).toBe(200);
    expect(opening.contentType).toMatch(/^text\/event-stream/);
    expect(events[0]).toEqual({ retry: 3000 });
    const progress = events.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data!) as Progress);
    const processed = progress.map((p) => p.counts.processed);
    console.log(`processed counts streamed: ${processed.join(' → ')}`);
    expect(processed).toEqual([...processed].sort((a, b) => a - b));
    // Pushed while it ran, not only at the end (the server looks once a second).
    expect(processed.some((n) => n > 0 && n < DEVICES)).toBe(true);
    expect(progress.every((p) => p.id === id && p.counts.total === DEVICES)).toBe(true);
    // The last event is the final one, the bulk change exactly as GET answers it; then the end.
    const last = events.at(-1)!;
    expect(last.event).toBe('final');
    const get = await world.app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: admin });
    expect(JSON.parse(last.data!)).toEqual(get.json());
    expect(get.json<Progress>().counts).toMatchObject({ processed: DEVICES, cancelled: 0, error: 0 });
    expect(ended).toBe(true);
  });

  it('answers a finished change at once: its state, the final event, the end', async () => {
    const [done] = (
      await world.database.pool.query<{ id: number }>(
        `SELECT id FROM bulk_change WHERE status = 'PROCESSED' ORDER BY id DESC LIMIT 1`,
      )
    ).rows;
    const { events, ended } = await readEvents(`${base}/api/v1/bulk-changes/${done!.id}/events`, { cookie });
    expect(events.map((e) => e.event ?? 'retry')).toEqual(['retry', 'progress', 'final']);
    expect(ended).toBe(true);
  });

  it('refuses without credentials (401), and a bulk change of another tenant (404)', async () => {
    const [id] = (await world.database.pool.query<{ id: number }>('SELECT max(id) AS id FROM bulk_change'))
      .rows;
    const anonymous = await readEvents(`${base}/api/v1/bulk-changes/${id!.id}/events`, {});
    expect(anonymous.opening.status).toBe(401);
    const contoso = await authHeaders(world.database.db, 'admin@contoso.example');
    const foreign = await readEvents(`${base}/api/v1/bulk-changes/${id!.id}/events`, contoso);
    expect(foreign.opening.status).toBe(404);
  });
});

interface Progress {
  id: number;
  status: string;
  counts: { total: number; processed: number; error: number; cancelled: number };
}

describe('the bounds of the streams (an app with short limits over the same services)', () => {
  let app: TypedApp;
  let appBase: string;
  let open: number;

  beforeAll(async () => {
    app = await buildApp({
      services: world.services,
      cookieSecret: 'test-cookie-secret-0123456789abcdef',
      logLevel: 'silent',
      eventStreams: { perUser: 2, maxLifeMs: 1500, heartbeatMs: 200, retryMs: 500 },
    });
    appBase = await app.listen({ port: 0, host: '127.0.0.1' });
    // A change the worker cannot finish during these tests: Rev.io answers after a minute now (the
    // client gives up after 15 s and retries), so the change stays PROCESSING.
    const control = world.simUrls.revio.replace(/\/v1$/, '');
    const fault = await fetch(`${control}/__sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 60_000 }),
    });
    expect(fault.status).toBeLessThan(300);
    open = await submitRevChange(await freeDevices(world.database.pool, fleet.thingspace, 3));
  });
  it('beats every heartbeat, and ends a stream at its maximum life with no final event', async () => {
    const { events, ended } = await readEvents(`${appBase}/api/v1/bulk-changes/${open}/events`, { cookie });
    expect(events[0]).toEqual({ retry: 500 });
    expect(events.filter((e) => e.comment === 'heartbeat').length).toBeGreaterThan(0);
    expect(events.some((e) => e.event === 'final')).toBe(false);
    expect(ended).toBe(true);
  });

  it('refuses a third stream of one user with 429 and Retry-After, and takes one again once one closed', async () => {
    const url = `${appBase}/api/v1/bulk-changes/${open}/events`;
    const first = new AbortController();
    const aborted = readEvents(url, { cookie }, first.signal);
    const kept = readEvents(url, { cookie });
    await Promise.all([aborted.opened, kept.opened]);
    const third = await readEvents(url, { cookie });
    expect(third.opening.status).toBe(429);
    expect(third.opening.retryAfter).toBe('1');
    // The browser goes away: its place is free again (once the server has seen it go).
    first.abort();
    expect((await aborted).ended).toBe(false);
    let again = await readEvents(url, { cookie });
    for (let tries = 0; again.opening.status === 429 && tries < 50; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await readEvents(url, { cookie });
    }
    expect(again.opening.status).toBe(200);
    await kept;
  });

  it('ends every open stream when the server closes, without waiting for them', async () => {
    const stream = readEvents(`${appBase}/api/v1/bulk-changes/${open}/events`, { cookie });
    await stream.opened;
    // A stream left open would hold close() for the keep-alive timeout (72 s): past the test's time.
    await app.close();
    const { ended, events } = await stream;
    expect(ended).toBe(true);
    expect(events.some((e: SseEvent) => e.event === 'final')).toBe(false);
  });
});
