import type { Config } from './config.ts';
import type { DatabaseHandle } from './db/database.ts';
import { findIdentifiersMatching } from './db/repositories/device.repository.ts';
import type { JobQueue } from './jobs/queue.ts';
import { createAssignmentService, type AssignmentService } from './services/assignment.service.ts';
import { createAuthService, type AuthService } from './services/auth.service.ts';
import { createBulkChangeService, type BulkChangeService } from './services/bulk-change.service.ts';
import { createHealthService, type HealthService } from './services/health.service.ts';
import { createLegacyService, type LegacyService } from './services/legacy.service.ts';
import { createReferenceService, type ReferenceService } from './services/reference.service.ts';

/**
 * Composition root: the one place that knows every concrete implementation. Routes, job tasks and
 * the CLI receive `Services` and never construct anything themselves.
 */

export interface Services {
  health: HealthService;
  auth: AuthService;
  reference: ReferenceService;
  assignments: AssignmentService;
  bulkChanges: BulkChangeService;
  legacy: LegacyService;
}

export interface ServiceDeps {
  config: Config;
  database: DatabaseHandle;
  queue: JobQueue;
}

export function createServices(deps: ServiceDeps): Services {
  const { db, pool } = deps.database;
  const reference = createReferenceService({ db });
  const assignments = createAssignmentService({
    db,
    queue: deps.queue,
    config: deps.config,
    async resolveFilter(principal, { serviceProviderId, kind, filter, limit }) {
      const deviceFilter = { ...filter, serviceProviderId };
      await reference.assertDeviceFilterAllowed(principal, deviceFilter);
      return findIdentifiersMatching(db, { tenantId: principal.tenantId, filter: deviceFilter, kind, limit });
    },
  });
  return {
    health: createHealthService({ db, pool }),
    auth: createAuthService({ db, config: deps.config }),
    reference,
    assignments,
    bulkChanges: createBulkChangeService({ db }),
    legacy: createLegacyService({ db, assignments }),
  };
}
