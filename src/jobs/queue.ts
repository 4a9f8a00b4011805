import { CompiledQuery } from 'kysely';
import PgBoss from 'pg-boss';
import type { Executor } from '../db/database.ts';

/**
 * The job queue: pg-boss 10 in the same PostgreSQL (schema `pgboss`).
 *
 * Why pg-boss: jobs are rows in our database, so a bulk change, its work orders and its jobs are
 * committed in ONE transaction (`enqueue` runs pg-boss's insert through the caller's transaction);
 * a crashed worker's active jobs come back after `expireInSeconds` instead of staying locked for
 * hours; retries with backoff and `startAfter` are built in. 10.4 is the newest line on Node 20.
 *
 * Every queue is declared here with its policy, so later work only adds a name and a task file.
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

export interface EnqueueOptions {
  startAfter?: Date | number;
  /** Overrides the queue's retry limit for this job (tests drive a job to its last retry). */
  retryLimit?: number;
  /** pg-boss singleton key: at most one queued job per key. */
  singletonKey?: string;
  priority?: number;
}

export interface JobContext<T> {
  id: string;
  data: T;
  /** What the job's last failure left (a dead-letter job carries its original's last error). */
  output?: unknown;
}

export interface JobQueue {
  /** Adds a job inside the caller's transaction (or on its own when given the root database). */
  enqueue<T extends object>(
    executor: Executor,
    name: QueueName,
    data: T,
    options?: EnqueueOptions,
  ): Promise<void>;
  /** Adds many jobs of one queue in ONE statement, inside the caller's transaction. */
  enqueueMany<T extends object>(executor: Executor, name: QueueName, items: T[]): Promise<void>;
  /** Runs `handler` for jobs of `name`; a throw fails the attempt and pg-boss retries per policy. */
  work<T>(
    name: QueueName,
    concurrency: number,
    handler: (job: JobContext<T>) => Promise<void>,
  ): Promise<void>;
  /**
   * Enqueues a job of `name` with `data` on a cron (UTC). One schedule per queue name: calling it
   * again (every worker does at start) replaces the cron instead of adding another. Jobs are sent
   * by a supervising process's pg-boss clock, once per tick whatever the number of workers.
   */
  schedule(name: QueueName, cron: string, data: object): Promise<void>;
  /**
   * Runs `task` every `seconds` in this process until `stop()`; for upkeep that must react in
   * seconds (pg-boss's cron ticks once a minute). A failure is reported, and the next tick runs.
   */
  repeat(seconds: number, task: () => Promise<unknown>): void;
  /** Fails these active jobs now (pg-boss retries them per the queue's policy). */
  fail(name: QueueName, ids: string[], reason: string): Promise<void>;
  /**
   * Takes no more jobs, waits up to `timeoutMs` (default 30 s) for the running ones, fails those
   * still running then (pg-boss retries them per policy), and closes.
   */
  stop(timeoutMs?: number): Promise<void>;
}

export interface QueueOptions {
  connectionString: string;
  pollSeconds: number;
  /**
   * Run pg-boss's maintenance (expiring jobs of crashed workers, retention). Workers do; an
   * API-only process that just enqueues does not need to.
   */
  supervise: boolean;
  maintenanceIntervalSeconds?: number;
  onError?: (error: Error) => void;
}

const SCHEMA = 'pgboss';

/** Installs pg-boss's schema and our queues; safe to run from several processes at once. */
export async function installQueues(connectionString: string): Promise<void> {
  const boss = new PgBoss({ connectionString, schema: SCHEMA, max: 2, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    await createQueues(boss);
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

async function createQueues(boss: PgBoss): Promise<void> {
  for (const [name, def] of Object.entries(QUEUES) as [QueueName, QueueDefinition][]) {
    const policy = {
      retryLimit: def.retryLimit,
      retryDelay: def.retryDelaySeconds,
      retryBackoff: def.retryBackoff,
      expireInSeconds: def.expireInSeconds,
      policy: def.policy ?? 'standard',
      ...(def.deadLetter ? { deadLetter: def.deadLetter } : {}),
    };
    // create_queue is ON CONFLICT DO NOTHING: idempotent across processes. The update brings a
    // queue created by an older simbind to today's policy (dead letter, singleton policy).
    await boss.createQueue(name, { name, ...policy });
    await boss.updateQueue(name, { name, ...policy });
  }
}

export async function startQueue(options: QueueOptions): Promise<JobQueue> {
  const boss = new PgBoss({
    connectionString: options.connectionString,
    schema: SCHEMA,
    max: 4,
    application_name: 'simbind-queue',
    // The defaults poll every 2 s; a second is the cost of feeling instant in the UI.
    pollingIntervalSeconds: options.pollSeconds,
    // How soon a crashed worker's expired job is noticed and retried, among other upkeep.
    maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 30,
    supervise: options.supervise,
    // The cron clock runs where maintenance does: an API-only process neither supervises nor sends.
    schedule: options.supervise,
  });
  boss.on('error', (error) => options.onError?.(error));
  await boss.start();
  await createQueues(boss);

  const workerIds: string[] = [];
  const timers: NodeJS.Timeout[] = [];
  const through = (executor: Executor) => ({
    async executeSql(text: string, values: unknown[]) {
      const result = await executor.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows };
    },
  });

  return {
    async enqueue(executor, name, data, enqueueOptions = {}) {
      const def: QueueDefinition = QUEUES[name];
      await boss.send(name, data, {
        retryLimit: def.retryLimit,
        retryDelay: def.retryDelaySeconds,
        retryBackoff: def.retryBackoff,
        expireInSeconds: def.expireInSeconds,
        ...(enqueueOptions.startAfter !== undefined ? { startAfter: enqueueOptions.startAfter } : {}),
        ...(enqueueOptions.retryLimit !== undefined ? { retryLimit: enqueueOptions.retryLimit } : {}),
        ...(enqueueOptions.singletonKey !== undefined ? { singletonKey: enqueueOptions.singletonKey } : {}),
        ...(enqueueOptions.priority !== undefined ? { priority: enqueueOptions.priority } : {}),
        db: through(executor),
      });
    },

    async enqueueMany(executor, name, items) {
      if (items.length === 0) return;
      // Retry, backoff and expiry come from the queue's row (createQueue), as for `enqueue`.
      await boss.insert(
        items.map((data) => ({ name, data })),
        { db: through(executor) },
      );
    },

    async work(name, concurrency, handler) {
      // One fetch per slot, one job each: a chunk takes seconds to minutes, so batching jobs would
      // only hold them hostage from other workers.
      for (let slot = 0; slot < concurrency; slot += 1) {
        const id = await boss.work<object>(
          name,
          { batchSize: 1, pollingIntervalSeconds: options.pollSeconds, includeMetadata: true },
          async (jobs) => {
            for (const job of jobs)
              await handler({ id: job.id, data: job.data as never, output: job.output });
          },
        );
        workerIds.push(id);
      }
    },

    async schedule(name, cron, data) {
      await boss.schedule(name, cron, data, { tz: 'UTC' });
    },

    repeat(seconds, task) {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        task()
          .catch((error: unknown) =>
            options.onError?.(error instanceof Error ? error : new Error(String(error))),
          )
          .finally(() => {
            running = false;
          });
      }, seconds * 1000);
      timer.unref();
      timers.push(timer);
    },

    async fail(name, ids, reason) {
      // One call per job: pg-boss's typings take a reason only for a single id. Few jobs, never devices.
      for (const id of ids) await boss.fail(name, id, { message: reason });
    },

    async stop(timeoutMs = 30_000) {
      for (const timer of timers.splice(0)) clearInterval(timer);
      // graceful: wait for running handlers to finish their current job before closing.
      await boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
    },
  };
}
