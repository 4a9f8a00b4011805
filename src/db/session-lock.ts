import pg from 'pg';

/**
 * Session-level advisory locks held for minutes (a chunk in flight), each on a connection of its own
 * outside the pool. Held on a pool connection, every running chunk took one connection away from the
 * work it does: with WORKER_CONCURRENCY ≥ DATABASE_POOL_SIZE a worker deadlocked (measured: 10
 * chunks locked, 1,500 devices still PENDING after 60 s). If the process dies, the server ends the
 * session and releases the lock at once; that release is how other workers see a chunk abandoned.
 */

export interface SessionLock {
  /** False once the lock's connection is gone (the server released the lock with it). */
  held(): boolean;
  release(): Promise<void>;
}

/** Takes the lock `(key1, key2)` if free; undefined when another session holds it. */
export type SessionLockTaker = (key1: number, key2: number) => Promise<SessionLock | undefined>;

export function sessionLocks(pool: pg.Pool): SessionLockTaker {
  return async (key1, key2) => {
    const client = new pg.Client({ ...pool.options });
    let lost = false;
    // A lost connection is reported through held(); it must not crash the process.
    client.on('error', () => {
      lost = true;
    });
    client.on('end', () => {
      lost = true;
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1::int, $2::int) AS locked',
        [key1, key2],
      );
      if (!rows[0]?.locked) {
        await client.end();
        return undefined;
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return {
      held: () => !lost,
      async release() {
        // Ending the session releases its locks; no unlock round trip needed.
        await client.end().catch(() => undefined);
      },
    };
  };
}
