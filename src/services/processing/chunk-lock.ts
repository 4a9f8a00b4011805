import type { SessionLock, SessionLockTaker } from '../../db/session-lock.ts';
import { RetryableError } from '../../errors.ts';

/**
 * Runs `fn` holding the chunk's session lock (its own connection, outside the pool): if this
 * worker dies, the server releases the lock, so another run can take over.
 */
export async function withChunkLock<T>(
  takeLock: SessionLockTaker,
  bulkChangeId: number,
  chunk: number,
  fn: (lock: SessionLock) => Promise<T>,
): Promise<T> {
  const lock = await takeLock(bulkChangeId, chunk);
  if (!lock) {
    throw new RetryableError(`chunk ${chunk} of bulk change ${bulkChangeId} is being processed elsewhere`, {
      system: 'worker',
    });
  }
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
