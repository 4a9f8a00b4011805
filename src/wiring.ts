import type { Config } from './config.ts';
import type { DatabaseHandle } from './db/database.ts';
import { createAuthService, type AuthService } from './services/auth.service.ts';
import { createHealthService, type HealthService } from './services/health.service.ts';
import { createReferenceService, type ReferenceService } from './services/reference.service.ts';

/**
 * Composition root: the one place that knows every concrete implementation. Routes, job tasks and
 * the CLI receive `Services` and never construct anything themselves.
 */

export interface Services {
  health: HealthService;
  auth: AuthService;
  reference: ReferenceService;
}

export interface ServiceDeps {
  config: Config;
  database: DatabaseHandle;
}

export function createServices(deps: ServiceDeps): Services {
  const { db, pool } = deps.database;
  return {
    health: createHealthService({ db, pool }),
    auth: createAuthService({ db, config: deps.config }),
    reference: createReferenceService({ db }),
  };
}
