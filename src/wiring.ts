import { createJasperClient } from './clients/jasper.client.ts';
import { meteredGate } from './clients/metered-rate-gate.ts';
import { createPostgresRateGate } from './clients/postgres-rate-gate.ts';
import type { RateGate } from './clients/rate-gate.ts';
import { createRevioClient } from './clients/revio.client.ts';
import { createThingSpaceClient } from './clients/thingspace.client.ts';
import { createOutboundGuard } from './clients/outbound-guard.ts';
import { createWebhookClient } from './clients/webhook.client.ts';
import type { Config } from './config.ts';
import type { DatabaseHandle } from './db/database.ts';
import { sessionLocks } from './db/session-lock.ts';
import type { JobQueue } from './jobs/queue.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createAssignmentService, type AssignmentService } from './services/assignment.service.ts';
import { createAuditService, type AuditService } from './services/audit.service.ts';
import { createAuthService, type AuthService } from './services/auth.service.ts';
import { createBulkChangeService, type BulkChangeService } from './services/bulk-change.service.ts';
import {
  createBulkChangeEventsService,
  type BulkChangeEventsService,
} from './services/bulk-change-events.service.ts';
import {
  createCarrierCallbackService,
  type CarrierCallbackService,
} from './services/carrier-callback.service.ts';
import { createHealthService, type HealthService } from './services/health.service.ts';
import { createIntegrationAccounts } from './services/integration-accounts.ts';
import { secretBoxOf, type SecretBox } from './services/secret-box.ts';
import { createUsersService, type UsersService } from './services/users.service.ts';
import { createIntegrationsService, type IntegrationsService } from './services/integrations.service.ts';
import { createCatalogueService, type CatalogueService } from './services/catalogue.service.ts';
import { createCustomersService, type CustomersService } from './services/customers.service.ts';
import {
  createCustomerImportService,
  type CustomerImportService,
} from './services/customer-import.service.ts';
import { createDeviceImportService, type DeviceImportService } from './services/device-import.service.ts';
import { createLegacyService, type LegacyService } from './services/legacy.service.ts';
import { createLifecycleService, type LifecycleService } from './services/lifecycle.service.ts';
import { createNotificationService, type NotificationService } from './services/notification.service.ts';
import { createProcessingService, type ProcessingService } from './services/processing.service.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './services/processing/retry-policy.ts';
import {
  createRatePlanScheduleService,
  type RatePlanScheduleService,
} from './services/rate-plan-schedule.service.ts';
import { createReferenceService, type ReferenceService } from './services/reference.service.ts';
import { createSetupService, type SetupService } from './services/setup.service.ts';
import { createSyncService, type SyncService } from './services/sync.service.ts';
import { createUndoService, type UndoService } from './services/undo.service.ts';
import { createWebhooksService, type WebhooksService } from './services/webhooks.service.ts';
import { resolveBaseUrl as resolveWithoutSimulators } from './simulator-host.ts';

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
  /** Live progress for the screens' event streams (one per process). */
  bulkChangeEvents: BulkChangeEventsService;
  legacy: LegacyService;
  processing: ProcessingService;
  lifecycle: LifecycleService;
  notifications: NotificationService;
  ratePlanSchedule: RatePlanScheduleService;
  carrierCallbacks: CarrierCallbackService;
  audit: AuditService;
  users: UsersService;
  setup: SetupService;
  integrations: IntegrationsService;
  catalogue: CatalogueService;
  customers: CustomersService;
  webhooks: WebhooksService;
  sync: SyncService;
  customerImport: CustomerImportService;
  deviceImport: DeviceImportService;
  undos: UndoService;
  /** The process's registry (one per process): `/metrics` renders it, clients and workers count into it. */
  metrics: Metrics;
  /** The process's log outside HTTP requests (job tasks take child loggers of it). */
  logger: Logger;
  /** Sends the rate gate's releases not yet sent; at shutdown, after the last job, before the database closes. */
  settleRateGate: () => Promise<void>;
}

export interface ServiceDeps {
  config: Config;
  database: DatabaseHandle;
  queue: JobQueue;
  /** Resolves `simulator://…` credentials to the running simulators; real URLs pass through. */
  resolveBaseUrl?: (baseUrl: string) => string;
  /** Opens integration secrets; default: the configured keys (see `resolveSecretBox` for the embedded key file). */
  secretBox?: SecretBox;
  /** Overrides for tests: a faster retry policy, a pinned "today". */
  retryPolicy?: Partial<RetryPolicy>;
  today?: () => string;
  gate?: RateGate;
  log?: (message: string) => void;
  /** Added to `WEBHOOK_ALLOW_ADDRESSES`: the demo lets webhooks reach receivers on this machine. */
  webhookAllow?: readonly string[];
  /** This worker's name in the change log (`processedBy`); default `simbind-worker`. */
  workerName?: string;
  /** Default: a new registry (main makes one per process); tests read the one they pass. */
  metrics?: Metrics;
  /** Default: pino JSON on stdout at LOG_LEVEL. */
  logger?: Logger;
}

export function createServices(deps: ServiceDeps): Services {
  const { config, queue } = deps;
  const { db, pool } = deps.database;
  const timeoutMs = config.integrations.httpTimeoutMs;

  const metrics = deps.metrics ?? createMetrics();
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const gate = meteredGate(deps.gate ?? createPostgresRateGate({ db }), metrics.gateWait);
  const observe = metrics.externalCall;
  const revio = createRevioClient({ gate, timeoutMs, observe });
  const thingspace = createThingSpaceClient({ gate, timeoutMs, observe });
  const jasper = createJasperClient({ gate, timeoutMs, observe });
  const secretBox = deps.secretBox ?? secretBoxOf(config);
  const accounts = createIntegrationAccounts({
    db,
    resolveBaseUrl:
      deps.resolveBaseUrl ??
      ((url) => resolveWithoutSimulators(url, undefined, config.integrations.simulatorUrls)),
    secretBox,
  });
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    maxAttempts: config.worker.maxAttempts,
    ...deps.retryPolicy,
  };
  const publicUrl = config.http.publicUrl ?? `http://localhost:${config.http.port}`;

  const users = createUsersService({ db });
  const reference = createReferenceService({ db });
  const bulkChanges = createBulkChangeService({ db });
  const audit = createAuditService({ db, log: deps.log });
  const assignments = createAssignmentService({
    db,
    queue,
    config,
    audit,
    today: deps.today,
    // The device list's access rule: a restricted operator's filter matches only what they may see.
    resolveFilter: (principal, params) => reference.findMatchingIdentifiers(principal, params),
  });
  const webhookAllow = [...config.webhooks.allowAddresses, ...(deps.webhookAllow ?? [])];
  const webhookClient = createWebhookClient({ timeoutMs, allow: webhookAllow, observe });
  const notifications = createNotificationService({
    db,
    queue,
    config,
    webhooks: webhookClient,
    box: secretBox,
  });
  const carrierCallbacks = createCarrierCallbackService({
    db,
    publicUrl,
    thingspace,
    accounts,
    processing: () => processing,
    log: deps.log,
  });
  const processing: ProcessingService = createProcessingService({
    db,
    queue,
    accounts,
    thingspace,
    carrierConfirmMinutes: config.worker.carrierConfirmMinutes,
    chunkLock: sessionLocks(deps.database.pool),
    ...(deps.workerName ? { workerName: deps.workerName } : {}),
    logger,
    countDevices: metrics.devicesProcessed,
    today: deps.today,
    // Per chunk, calls in flight; the shared gate keeps each account within its limit.
    rev: { revio, accounts, policy, concurrency: 8, lateCreateGraceMs: timeoutMs },
    carrier: {
      jasper,
      thingspace,
      accounts,
      policy,
      concurrency: 4,
      ensureCallback: (credentialsId) => carrierCallbacks.ensureRegistered(credentialsId),
    },
  });

  const catalogue = createCatalogueService({
    db,
    accounts,
    revio,
    thingspace,
    jasper,
    ttlMinutes: config.integrations.catalogueTtlMinutes,
  });

  return {
    health: createHealthService({ db, pool, config, metrics }),
    metrics,
    logger,
    settleRateGate: async () => gate.settle?.(),
    auth: createAuthService({ db, config }),
    users,
    setup: createSetupService({ db, users }),
    integrations: createIntegrationsService({
      db,
      box: secretBox,
      accounts,
      revio,
      thingspace,
      jasper,
      publicUrl,
      onConnected: (tenantId, id) => catalogue.refreshIfNeverFetched(tenantId, id),
    }),
    catalogue,
    customers: createCustomersService({ db, accounts, revio }),
    sync: createSyncService({ db, queue, accounts, jasper, thingspace, revio }),
    webhooks: createWebhooksService({
      db,
      box: secretBox,
      guard: createOutboundGuard({ allow: webhookAllow, system: 'webhook' }),
      notifications,
    }),
    customerImport: createCustomerImportService({ db }),
    deviceImport: createDeviceImportService({ db }),
    reference,
    assignments,
    bulkChanges,
    bulkChangeEvents: createBulkChangeEventsService({ db, bulkChanges, logger }),
    legacy: createLegacyService({ db, assignments }),
    processing,
    lifecycle: createLifecycleService({ db, queue, config, notifications, audit }),
    audit,
    notifications,
    ratePlanSchedule: createRatePlanScheduleService({ db }),
    carrierCallbacks,
    undos: createUndoService({ db, queue, config, audit, today: deps.today }),
  };
}
