import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConflictError, RetryableError } from '../../src/errors.ts';
import { isDatabaseUnavailable } from '../../src/db/database-unavailable.ts';
import { freePort } from '../helpers/ports.ts';

/** Which errors make the API answer 503 (database unreachable for now) instead of 500. */

function serverError(code: string, message: string): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error');
  error.code = code;
  error.severity = 'FATAL';
  return error;
}

/** What node-postgres really throws when connecting to `port`. */
async function connectError(port: number): Promise<unknown> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'nobody', database: 'nothing' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error(`connecting to ${port} succeeded`);
}

describe('isDatabaseUnavailable', () => {
  it('is true for a refused connection, as node-postgres reports it', async () => {
    const error = await connectError(await freePort());
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('is true for a server that hangs up mid-handshake ("Connection terminated unexpectedly")', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const error = await connectError((server.address() as net.AddressInfo).port);
      expect((error as Error).message).toMatch(/Connection terminated unexpectedly/);
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['57P03', 'the database system is starting up'],
    ['57P03', 'the database system is shutting down'],
    ['08006', 'connection failure'],
    ['08001', 'could not establish connection'],
    ['53300', 'sorry, too many clients already'],
  ])('is true for SQLSTATE %s (%s)', (code, message) => {
    expect(isDatabaseUnavailable(serverError(code, message))).toBe(true);
  });

  it.each(['ECONNRESET', 'ETIMEDOUT', 'EPIPE'])('is true for a socket error %s', (code) => {
    expect(isDatabaseUnavailable(Object.assign(new Error(`read ${code}`), { code }))).toBe(true);
  });

  it('recognises the messages node-postgres raises without a code', () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
      'the database system is shutting down',
    ]) {
      expect(isDatabaseUnavailable(new Error(message)), message).toBe(true);
    }
  });

  it('looks through causes and aggregated connect errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new Error('loading the bulk change failed', { cause: refused }))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([new Error('other'), refused], 'connect failed'))).toBe(
      true,
    );
  });

  it.each([
    ['a unique violation', serverError('23505', 'duplicate key value violates unique constraint')],
    ['a syntax error', serverError('42601', 'syntax error at or near "SELEC"')],
    ['a serialization failure', serverError('40001', 'could not serialize access')],
    ['a cancelled statement', serverError('57014', 'canceling statement due to statement timeout')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a domain error', new ConflictError('Nothing left to cancel.')],
    ['a code that only starts like class 08', Object.assign(new Error('x'), { code: '0800' })],
    ['a string', 'ECONNREFUSED'],
    ['null', null],
    ['undefined', undefined],
  ])('is false for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('stops on a cause cycle', () => {
    const error = new Error('loop') as Error & { cause?: unknown };
    error.cause = error;
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('classifies what it is given: an external call wrapping a refused connect is still "unavailable"', () => {
    // The error handler maps DomainErrors (RetryableError included) before it asks this function,
    // so a partner's refused connection never reaches it; this documents the function's contract.
    const wrapped = new RetryableError('revio: ECONNREFUSED', {
      system: 'revio',
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
  });
});
