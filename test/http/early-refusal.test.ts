import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import {
  expectFieldRefused,
  JSON_TYPE,
  post,
  snapshot,
  submission,
  useInputWorld,
} from './strict-input.world.ts';

/**
 * Security review: nobody signed in is refused before the body is read (8 parallel 15 MB anonymous
 * POSTs used to be read and parsed in full, stalling `/healthz`), and each route reads only a body
 * of the size it needs.
 */

const w = useInputWorld();
const BULK = '/api/v1/bulk-changes';
const body = (change: Record<string, unknown>) => submission(w, change);
const send = (url: string, payload: unknown, headers: Record<string, string> = w.admin) =>
  post(url, payload, headers);

/**
 * A body of `size` bytes that is not JSON (`{xxxx…`), produced only as the server reads it:
 * `pulled()` says how much of it the server asked for.
 */
function meteredBody(size: number) {
  let pulled = 0;
  const stream = new Readable({
    read() {
      if (pulled >= size) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(64 * 1024, size - pulled), 'x');
      if (pulled === 0) chunk[0] = 0x7b;
      pulled += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, pulled: () => pulled };
}

const MB = 1024 * 1024;
const unauthenticatedPost = (url: string, size: number) => {
  const body = meteredBody(size);
  const request: InjectOptions = {
    method: 'POST',
    url,
    headers: { ...JSON_TYPE, 'content-length': String(size) },
    payload: body.stream,
  };
  return { request, pulled: body.pulled };
};

describe('nobody signed in: refused before the body is read', () => {
  it('a 10 MB body that is not even JSON answers 401, and the server read (almost) none of it', async () => {
    const before = await snapshot(w);
    const { request, pulled } = unauthenticatedPost(BULK, 10 * MB);
    const res = await w.app.inject(request);
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('unauthenticated');
    expect(pulled()).toBeLessThan(256 * 1024);
    expect(await snapshot(w)).toEqual(before);
  });

  it('8 parallel 15 MB bodies answer 401 unread while /healthz answers', async () => {
    const posts = Array.from({ length: 8 }, () => unauthenticatedPost(BULK, 15 * MB));
    const [health, ...answers] = await Promise.all([
      w.app.inject({ method: 'GET', url: '/healthz' }),
      ...posts.map((p) => w.app.inject(p.request)),
    ]);
    expect(health.statusCode).toBe(200);
    expect(answers.map((r) => r.statusCode)).toEqual(Array(8).fill(401));
    expect(posts.reduce((sum, p) => sum + p.pulled(), 0)).toBeLessThan(8 * 256 * 1024);
  });

  it.each([`${BULK}/1/cancel`, `${BULK}/1/retry`, '/api/v1/auth/tokens'])(
    'POST %s with a malformed body answers 401, not 400',
    async (url) => {
      const res = await w.app.inject(send(url, '{"oops', {}));
      expect(res.statusCode, res.body).toBe(401);
    },
  );

  it('public routes still answer without a principal', async () => {
    const login = await w.app.inject(
      send('/api/v1/auth/login', { email: 'nobody@northwind.example', password: 'x' }, {}),
    );
    expect(login.statusCode).toBe(401);
    expect(login.json()).toMatchObject({ error: { message: 'The e-mail or password is incorrect.' } });
    expect((await w.app.inject(send('/api/v1/auth/logout', undefined, {}))).statusCode).toBe(204);
    const callback = await w.app.inject(
      send('/api/v1/carrier-callbacks/thingspace/not-the-token', { requestId: 'r' }, {}),
    );
    expect(callback.statusCode).toBe(404);
    expect((await w.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('each route reads a body of the size it needs', () => {
  const big = (kb: number) => 'x'.repeat(kb * 1024);
  it.each([
    ['login', () => send('/api/v1/auth/login', { email: big(16), password: 'x' }, {})],
    ['token creation', () => send('/api/v1/auth/tokens', { name: big(100) }, w.session)],
    ['cancel', () => send(`${BULK}/1/cancel`, { note: big(100) })],
    [
      'carrier callback',
      () => send('/api/v1/carrier-callbacks/thingspace/not-the-token', { pad: big(100) }, {}),
    ],
    ['submission over 16 MB', () => send(BULK, body({ colour: big(17 * 1024) }))],
  ])('%s: an oversized body answers 413', async (_name, request) => {
    const before = await snapshot(w);
    const res = await w.app.inject(request());
    expect(res.statusCode, res.body.slice(0, 300)).toBe(413);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('payload_too_large');
    expect(await snapshot(w)).toEqual(before);
  });

  it('a 12 MB submission is still read (and judged on its content)', async () => {
    const res = await w.app.inject(send(BULK, body({ colour: big(12 * 1024) })));
    expectFieldRefused(res, '/colour', 'body');
  });
});
