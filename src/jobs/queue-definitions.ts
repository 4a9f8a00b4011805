/**
 * Every queue with its policy, so later work only adds a name and a task file. Created (and brought
 * to today's policy) by `installQueues` / `startQueue` in queue.ts.
 */

export interface QueueDefinition {
  /** Attempts after the first; the job's own code decides what is retryable before that. */
  retryLimit: number;
  retryDelaySeconds: number;
  retryBackoff: boolean;
  /** A job active longer than this is presumed dead (its worker crashed) and is retried. */
  expireInSeconds: number;
  /** `short`: at most one job per singleton key waits in the queue (further sends are dropped). */
  policy?: 'standard' | 'short';
  /** Where a job goes once its last retry failed (with its data and last error), to end its work. */
  deadLetter?: QueueName;
}

/** Declared in creation order: a dead-letter queue before the queue that names it. */
export const QUEUES = {
  /** A chunk job that ran out of retries: its open work orders end in error, saying why. */
  'bulk-change.chunk-failed': {
    retryLimit: 100,
    retryDelaySeconds: 5,
    retryBackoff: true,
    expireInSeconds: 300,
  },
  /**
   * Process one chunk of a bulk change's work orders. A dead worker's job is handed back within
   * seconds through its released chunk lock (`resumeAbandonedChunks`), so the expiry is only a
   * backstop, and long: pg-boss abandons a handler at its expiry while the chunk still runs, so a
   * short one let a live worker run more chunks than its concurrency (measured: 4 with 3).
   */
  'bulk-change.process-chunk': {
    retryLimit: 20,
    retryDelaySeconds: 2,
    retryBackoff: true,
    expireInSeconds: 3600,
    deadLetter: 'bulk-change.chunk-failed',
  },
  /** Finish a bulk change once nothing is open: status, history/link sync, notifications. */
  'bulk-change.finish': { retryLimit: 20, retryDelaySeconds: 5, retryBackoff: true, expireInSeconds: 300 },
  /** Deliver one notification (webhook or e-mail) with backoff. */
  'notification.deliver': { retryLimit: 8, retryDelaySeconds: 5, retryBackoff: true, expireInSeconds: 120 },
  /**
   * Poll a carrier for asynchronous results nobody called back about. Each poll queues the next
   * one while results are pending (so retries are for failures only); one queued per bulk change.
   */
  'carrier.poll': {
    retryLimit: 20,
    retryDelaySeconds: 10,
    retryBackoff: true,
    expireInSeconds: 120,
    policy: 'short',
  },
  /** A sync run whose last retry failed: it ends FAILED with the last error. */
  'sync.failed': { retryLimit: 20, retryDelaySeconds: 10, retryBackoff: true, expireInSeconds: 120 },
  /**
   * One sync run (devices of a provider, customers of a Rev.io account), page by page. A failed
   * attempt starts again from the first page: its upserts are idempotent.
   */
  'sync.run': {
    retryLimit: 5,
    retryDelaySeconds: 30,
    retryBackoff: true,
    expireInSeconds: 3600,
    deadLetter: 'sync.failed',
  },
  /** Hourly: end sync runs past their deadline, queue an incremental run of every synced target. */
  'sync.tick': {
    retryLimit: 2,
    retryDelaySeconds: 60,
    retryBackoff: false,
    expireInSeconds: 300,
    policy: 'short',
  },
  /** Apply customer rate plan changes whose effective date has come. */
  'rate-plan.apply-scheduled': {
    retryLimit: 5,
    retryDelaySeconds: 30,
    retryBackoff: true,
    expireInSeconds: 600,
  },
} as const satisfies Record<string, QueueDefinition>;

// Spelled out (not `keyof typeof QUEUES`): QueueDefinition names a queue itself (deadLetter).
export type QueueName =
  | 'bulk-change.chunk-failed'
  | 'bulk-change.process-chunk'
  | 'bulk-change.finish'
  | 'notification.deliver'
  | 'carrier.poll'
  | 'rate-plan.apply-scheduled'
  | 'sync.failed'
  | 'sync.run'
  | 'sync.tick';
