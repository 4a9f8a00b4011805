import { CompiledQuery } from 'kysely';
import PgBoss from 'pg-boss';
import type { Executor } from '../db/database.ts';
import { QUEUES, type QueueDefinition, type QueueName } from './queue-definitions.ts';
import { announceJob, listenForJobs, type WakeListener } from './queue-wake.ts';

export { QUEUES, type QueueDefinition, type QueueName } from './queue-definitions.ts';

/**
 * The job queue: pg-boss 10 in the same PostgreSQL (schema `pgboss`).
 *
 * Why pg-boss: jobs are rows in our database, so a bulk change, its work orders and its jobs are
 * committed in ONE transaction (`enqueue` runs pg-boss's insert through the caller's transaction);
 * a crashed worker's active jobs come back after `expireInSeconds` instead of staying locked for
 * hours; retries with backoff and `startAfter` are built in. 10.4 is the newest line on Node 20.
 * The queues and their policies are in queue-definitions.ts; a worker is woken by a notification
 * at commit rather than by its next poll (queue-wake.ts).
 */

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

  // Per queue, this process's pg-boss workers (one per slot): woken when a job of it is committed.
  const workerIds = new Map<QueueName, string[]>();
  const wakeAll = () => {
    for (const ids of workerIds.values()) for (const id of ids) boss.notifyWorker(id);
  };
  // Opened by the first `work`: a process that only enqueues (the API) holds no listening connection.
  let listener: WakeListener | undefined;
  const listen = () =>
    (listener ??= listenForJobs({
      connectionString: options.connectionString,
      onJob: (name) => {
        for (const id of workerIds.get(name as QueueName) ?? []) boss.notifyWorker(id);
      },
      onConnected: wakeAll,
      ...(options.onError ? { onError: options.onError } : {}),
    }));
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
      // A delayed job would wake workers to find nothing: its start is left to polling.
      if (enqueueOptions.startAfter === undefined) await announceJob(executor, name);
    },

    async enqueueMany(executor, name, items) {
      if (items.length === 0) return;
      // Retry, backoff and expiry come from the queue's row (createQueue), as for `enqueue`.
      await boss.insert(
        items.map((data) => ({ name, data })),
        { db: through(executor) },
      );
      await announceJob(executor, name);
    },

    async work(name, concurrency, handler) {
      // Before the first fetch: a job committed from now on wakes this worker.
      await listen().ready;
      const ids = workerIds.get(name) ?? [];
      workerIds.set(name, ids);
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
        ids.push(id);
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
      await listener?.stop();
      await boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
    },
  };
}
