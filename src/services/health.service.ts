import { createHash, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { migrationState } from '../db/migrate.ts';
import * as figures from '../db/repositories/metrics.repository.ts';
import type { Database } from '../db/database.ts';
import type { DatabaseFigures, Metrics } from '../metrics.ts';

export interface Readiness {
  ready: boolean;
  database: 'ok' | 'unreachable';
  /** `pending`: the code has migrations the database lacks; `ahead`: the database has ones the code lacks. */
  migrations: 'current' | 'pending' | 'ahead' | 'unknown';
  pending?: string[];
  unknown?: string[];
  /** Why not ready, in a sentence (no connection details: the probe is public). */
  reason?: string;
}

/**
 * Who may read `/metrics`, which counts every tenant's bulk changes: `allowed`; `unauthenticated`
 * (METRICS_TOKEN is set and this is not it); `hidden` (no METRICS_TOKEN, and the server can be
 * reached from elsewhere: the route is answered as absent).
 */
export type MetricsAccess = 'allowed' | 'unauthenticated' | 'hidden';

export interface HealthService {
  readiness(): Promise<Readiness>;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  metricsAccess(request: { authorization: string | undefined; forwarded: boolean }): MetricsAccess;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function createHealthService(deps: {
  db: Database;
  pool: pg.Pool;
  config: Pick<Config, 'http' | 'metrics'>;
  metrics: Metrics;
}): HealthService {
  const token = deps.config.metrics.token;
  // Digests have one length whatever was sent, so the comparison takes the same time for any guess.
  const expected = token === undefined ? undefined : digest(token);
  // A server listening on loopback is reached only from this machine, unless a proxy on it
  // forwards requests from elsewhere: TRUST_PROXY says one is there, and its requests say so too
  // (X-Forwarded-For, Forwarded).
  const loopbackOnly =
    LOOPBACK_HOSTS.has(deps.config.http.host.toLowerCase()) && deps.config.http.trustProxy === false;

  return {
    metricsAccess({ authorization, forwarded }) {
      if (expected === undefined) return loopbackOnly && !forwarded ? 'allowed' : 'hidden';
      const presented = /^bearer +(\S+) *$/i.exec(authorization ?? '')?.[1] ?? '';
      return timingSafeEqual(digest(presented), expected) ? 'allowed' : 'unauthenticated';
    },

    async readiness() {
      try {
        await deps.pool.query('SELECT 1');
      } catch {
        return {
          ready: false,
          database: 'unreachable',
          migrations: 'unknown',
          reason: 'database unreachable',
        };
      }
      const { pending, unknown } = await migrationState(deps.pool);
      if (pending.length > 0) {
        return {
          ready: false,
          database: 'ok',
          migrations: 'pending',
          pending,
          reason: `migrations behind: ${pending.join(', ')} not applied (run simbind migrate)`,
        };
      }
      if (unknown.length > 0) {
        return {
          ready: false,
          database: 'ok',
          migrations: 'ahead',
          unknown,
          reason: `migrations ahead: ${unknown.join(', ')} applied by a newer simbind, unknown to this one`,
        };
      }
      return { ready: true, database: 'ok', migrations: 'current' };
    },

    async metrics() {
      // A database that cannot be read leaves its gauges out (simbind_scrape_database_ok 0): the
      // process's own counters still answer, which is when they matter most.
      deps.metrics.setDatabaseFigures(await readFigures(deps.db, deps.pool).catch(() => undefined));
      return deps.metrics.render();
    },
  };
}

/** The scrape-time figures: four set-based statements, run side by side. */
async function readFigures(db: Database, pool: pg.Pool): Promise<DatabaseFigures> {
  const [bulkChanges, workOrders, queues, thingspaceWaiting] = await Promise.all([
    figures.countBulkChangesByStatus(db),
    figures.countWorkOrdersByStatus(db),
    figures.queueFigures(db),
    figures.countThingSpaceWaiting(db),
  ]);
  const { totalCount: total, idleCount: idle, waitingCount: waiting } = pool;
  return { bulkChanges, workOrders, queues, thingspaceWaiting, pool: { total, idle, waiting } };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
