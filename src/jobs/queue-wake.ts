import { CompiledQuery } from 'kysely';
import pg from 'pg';
import type { Executor } from '../db/database.ts';

/**
 * Wakes a worker the moment a job of its queue is committed, instead of at its next poll.
 *
 * Why: pg-boss 10 finds new jobs only by polling (WORKER_POLL_SECONDS, 1 s), so a bulk change
 * waited up to a second for its chunk jobs and again for its finish job. Every enqueue now also runs
 * `pg_notify` through the caller's executor: PostgreSQL delivers a notification when its transaction
 * commits (never on a rollback), so a woken worker finds the job. Measured on a 100,000-device AMOP
 * change (2 cores; the timeline `npm run bench -- assignment` prints): the first chunk job claimed
 * within 5 ms of the submission's answer, the finish job 4 ms after the last chunk created it.
 * Polling stays the fallback: a notification lost while the listening connection is down costs at
 * most one poll. (A NOTIFY serialises its transaction's commit with other notifying ones: enqueues
 * are a few per bulk change, never per device.)
 */

export const WAKE_CHANNEL = 'simbind_job_ready';

/** Tells listening workers that a job of `queue` is ready, when the executor's transaction commits. */
export async function announceJob(executor: Executor, queue: string): Promise<void> {
  await executor.executeQuery(CompiledQuery.raw('SELECT pg_notify($1, $2)', [WAKE_CHANNEL, queue]));
}

export interface WakeListenerOptions {
  connectionString: string;
  /** A job of `queue` was committed. */
  onJob: (queue: string) => void;
  /** (Re)connected: notifications sent while the connection was down are lost, so look once now. */
  onConnected: () => void;
  onError?: (error: Error) => void;
  /** The first wait before reconnecting, doubled up to MAX_RETRY_MS while it keeps failing. */
  retryMs?: number;
}

export interface WakeListener {
  /** Settles once the first connection attempt has (LISTEN in place) or has not succeeded. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const MAX_RETRY_MS = 30_000;

/**
 * LISTENs on one dedicated connection (a pooled one would drop its LISTEN when returned). A lost
 * connection (database restart, terminated backend) is reported, never thrown, and re-opened with
 * backoff; the workers keep polling meanwhile.
 */
export function listenForJobs(options: WakeListenerOptions): WakeListener {
  const baseRetryMs = options.retryMs ?? 500;
  let retryMs = baseRetryMs;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const reconnectLater = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    const current = new pg.Client({
      connectionString: options.connectionString,
      application_name: 'simbind-queue-wake',
      keepAlive: true,
      // `work` waits for the first attempt: an unreachable server must not hold the start for minutes.
      connectionTimeoutMillis: 10_000,
    });
    client = current;
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (client === current) client = undefined;
      if (error && !stopped) options.onError?.(new Error(`job wake-up listener: ${error.message}`));
      current.end().catch(() => undefined);
      reconnectLater();
    };
    current.on('error', onLost);
    current.on('end', () => onLost());
    current.on('notification', (message) => {
      if (message.channel === WAKE_CHANNEL && message.payload) options.onJob(message.payload);
    });
    try {
      await current.connect();
      await current.query(`LISTEN ${WAKE_CHANNEL}`);
      if (lost || stopped) return;
      retryMs = baseRetryMs;
      options.onConnected();
    } catch (error) {
      onLost(error instanceof Error ? error : new Error(String(error)));
    }
  }

  return {
    ready: connect(),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
