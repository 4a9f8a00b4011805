import Fastify from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeHttpAgent, send } from '../../src/clients/http-client.ts';

/**
 * Closing the shared keep-alive pool (tests, shutdown, a benchmark between two runs) leaves the
 * clients usable: the next call gets a new pool. Before, every later call failed with "The client
 * is destroyed", and a second close threw.
 */

const server = Fastify();
server.get('/ping', () => ({ pong: true }));
let url = '';
beforeAll(async () => {
  url = `${await server.listen({ port: 0, host: '127.0.0.1' })}/ping`;
});
afterAll(async () => {
  await closeHttpAgent();
  await server.close();
});

const ping = () => send<{ pong: boolean }>({ system: 'test', method: 'GET', url, timeoutMs: 5_000 });

it('calls again after the shared pool was closed, and closes twice without failing', async () => {
  expect((await ping()).body).toEqual({ pong: true });
  await closeHttpAgent();
  expect((await ping()).body).toEqual({ pong: true });
  await closeHttpAgent();
  await closeHttpAgent();
  expect((await ping()).body).toEqual({ pong: true });
});
