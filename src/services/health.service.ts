import { createHash, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { countBulkChangesByStatus, countWorkOrdersByStatus } from '../db/repositories/metrics.repository.ts';
import type { Database } from '../db/database.ts';

export interface Readiness {
  ready: boolean;
  database: 'ok' | 'unreachable';
  migrations: 'current' | 'pending';
  pending?: string[];
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
        return { ready: false, database: 'unreachable', migrations: 'pending' };
      }
      const pending = await pendingMigrations(deps.pool);
      return pending.length === 0
        ? { ready: true, database: 'ok', migrations: 'current' }
        : { ready: false, database: 'ok', migrations: 'pending', pending };
    },

    async metrics() {
      const [bulkChanges, workOrders] = await Promise.all([
        countBulkChangesByStatus(deps.db),
        countWorkOrdersByStatus(deps.db),
      ]);
      const lines = [
        '# HELP simbind_bulk_changes Bulk changes by status.',
        '# TYPE simbind_bulk_changes gauge',
        ...bulkChanges.map((r) => `simbind_bulk_changes{status="${r.status}"} ${r.count}`),
        '# HELP simbind_work_orders Work orders by status.',
        '# TYPE simbind_work_orders gauge',
        ...workOrders.map((r) => `simbind_work_orders{status="${r.status}"} ${r.count}`),
        '# HELP simbind_db_pool_connections Database pool connections.',
        '# TYPE simbind_db_pool_connections gauge',
        `simbind_db_pool_connections{state="total"} ${deps.pool.totalCount}`,
        `simbind_db_pool_connections{state="idle"} ${deps.pool.idleCount}`,
        `simbind_db_pool_connections{state="waiting"} ${deps.pool.waitingCount}`,
      ];
      return `${lines.join('\n')}\n`;
    },
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
