import type pg from 'pg';
import { pendingMigrations } from '../db/migrate.ts';
import { countBulkChangesByStatus, countWorkOrdersByStatus } from '../db/repositories/metrics.repository.ts';
import type { Database } from '../db/database.ts';

export interface Readiness {
  ready: boolean;
  database: 'ok' | 'unreachable';
  migrations: 'current' | 'pending';
  pending?: string[];
}

export interface HealthService {
  readiness(): Promise<Readiness>;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
}

export function createHealthService(deps: { db: Database; pool: pg.Pool }): HealthService {
  return {
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
