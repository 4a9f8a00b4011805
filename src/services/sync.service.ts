import type { JasperClient } from '../clients/jasper.client.ts';
import type { RevioClient } from '../clients/revio.client.ts';
import type { ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import { findServiceProvider } from '../db/repositories/assignment.repository.ts';
import * as repo from '../db/repositories/sync.repository.ts';
import type { SyncKind, SyncMode, SyncStatus } from '../db/schema.ts';
import { DomainError, ForbiddenError, NotFoundError, RetryableError, UnprocessableError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import type { Principal } from './principal.ts';
import { createSyncRunners } from './sync/runners.ts';

/**
 * The fleet and the customers, synced from the partners (issue 11, item 5): a service provider's
 * devices from its carrier account (Control Center's inventory of devices changed since a time;
 * ThingSpace's whole account inventory, which has no "changed since"), and a Rev.io account's
 * customers (`GET /Customers`). A run is a queue job like a bulk change
 * chunk: page by page, each page upserted in one statement and counted in the same transaction, so
 * the counts always say what was written; a failed attempt is retried by the queue from the start
 * (the upserts are idempotent), and a run past its deadline ends FAILED. The first run of a target
 * is full; later ones are incremental from the last run's high-water mark, on demand or every hour.
 * Reading the partners is in sync/runners.ts; this module holds the runs' rules.
 */

export interface SyncRunView {
  id: number;
  kind: SyncKind;
  serviceProviderId: number | null;
  credentialsId: number;
  mode: SyncMode;
  status: SyncStatus;
  /** Devices: changes since this time were asked for. */
  since: string | null;
  counts: {
    pages: number;
    seen: number;
    created: number;
    changed: number;
    /** Known to simbind but not in a full list; null where the partner's list cannot tell. */
    gone: number | null;
    skipped: number;
  };
  attempts: number;
  error: string | null;
  requestedBy: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  deadlineAt: string;
}

export interface SyncService {
  /** Queues a device sync of the provider (or answers its open run); the first is full. */
  requestDeviceSync(principal: Principal, serviceProviderId: number, mode?: SyncMode): Promise<SyncRunView>;
  /** Queues a customer sync of the Rev.io account (or answers its open run). */
  requestCustomerSync(principal: Principal, credentialsId: number, mode?: SyncMode): Promise<SyncRunView>;
  get(principal: Principal, id: number): Promise<SyncRunView>;
  list(principal: Principal, page: { limit: number; beforeId?: number }): Promise<SyncRunView[]>;
  /** The job: one attempt of the run. Throws a `RetryableError` for the queue to try again. */
  run(runId: number): Promise<void>;
  /** The dead letter: the run's last retry failed. */
  giveUp(runId: number, error: string): Promise<void>;
  /** The hourly tick: ends runs past their deadline, queues an incremental run of every synced target. */
  tick(): Promise<{ expired: number; queued: number }>;
}

export interface SyncServiceDeps {
  db: Database;
  queue: JobQueue;
  accounts: IntegrationAccounts;
  jasper: JasperClient;
  thingspace: ThingSpaceClient;
  revio: RevioClient;
  /** How long a run may stay open; default 2 hours. */
  deadlineMs?: number;
  now?: () => Date;
}

export const SYNC_QUEUE = 'sync.run';
function viewOf(r: repo.SyncRunRow): SyncRunView {
  return {
    id: r.id,
    kind: r.kind,
    serviceProviderId: r.service_provider_id,
    credentialsId: r.credentials_id,
    mode: r.mode,
    status: r.status,
    since: r.since?.toISOString() ?? null,
    counts: {
      pages: r.pages,
      seen: r.seen,
      created: r.created,
      changed: r.changed,
      gone: r.gone,
      skipped: r.skipped,
    },
    attempts: r.attempts,
    error: r.error,
    requestedBy: r.requested_by,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
    deadlineAt: r.deadline_at.toISOString(),
  };
}

function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new ForbiddenError('Only administrators start syncs.');
}

export function createSyncService(deps: SyncServiceDeps): SyncService {
  const { db, queue } = deps;
  const now = deps.now ?? (() => new Date());
  const deadlineMs = deps.deadlineMs ?? 2 * 3600_000;
  const { syncJasperDevices, syncThingSpaceDevices, syncRevioCustomers } = createSyncRunners({
    ...deps,
    now,
  });

  async function find(principal: Principal, id: number): Promise<repo.SyncRunRow> {
    const run = await repo.findRun(db, principal.tenantId, id);
    if (!run) throw new NotFoundError(`No sync run ${id}.`);
    return run;
  }

  /** A new run of the target queued with its job in one transaction, or the open one. */
  async function request(
    tenantId: number,
    target: { kind: SyncKind; credentialsId: number; serviceProviderId: number | null },
    mode: SyncMode | undefined,
    requestedBy: number | null,
  ): Promise<repo.SyncRunRow> {
    const { anyFull } = await repo.lastSuccess(db, target);
    // Incremental needs a full run to start from; ThingSpace's inventory is only ever read whole.
    const fullOnly =
      target.kind === 'devices' && (await integrationOf(target.credentialsId)) === 'thingspace';
    const run = await db.transaction().execute(async (trx) => {
      const created = await repo.insertRun(trx, {
        tenantId,
        ...target,
        mode: anyFull && !fullOnly ? (mode ?? 'incremental') : 'full',
        requestedBy,
        deadlineAt: new Date(now().getTime() + deadlineMs),
      });
      if (created) await queue.enqueue(trx, SYNC_QUEUE, { runId: created.id });
      return created;
    });
    return run ?? (await repo.findOpenRun(db, target))!;
  }

  async function integrationOf(credentialsId: number): Promise<string> {
    const row = await db
      .selectFrom('integration_credentials')
      .select('integration')
      .where('id', '=', credentialsId)
      .executeTakeFirstOrThrow();
    return row.integration;
  }

  return {
    async requestDeviceSync(principal, serviceProviderId, mode) {
      assertAdmin(principal);
      const provider = await findServiceProvider(db, principal.tenantId, serviceProviderId);
      if (!provider) throw new NotFoundError(`Service provider ${serviceProviderId} not found.`);
      if (provider.credentials_id === null) {
        throw new UnprocessableError('The service provider has no carrier account to sync from.', [
          { path: '/id', message: 'no carrier account' },
        ]);
      }
      const target = { kind: 'devices' as const, credentialsId: provider.credentials_id, serviceProviderId };
      return viewOf(await request(principal.tenantId, target, mode, principal.userId));
    },

    async requestCustomerSync(principal, credentialsId, mode) {
      assertAdmin(principal);
      const account = await db
        .selectFrom('integration_credentials')
        .select(['id', 'integration'])
        .where('tenant_id', '=', principal.tenantId)
        .where('id', '=', credentialsId)
        .executeTakeFirst();
      if (!account) throw new NotFoundError(`No integration account ${credentialsId}.`);
      if (account.integration !== 'revio') {
        throw new UnprocessableError('Customers are synced from Rev.io accounts.', [
          { path: '/id', message: `a ${account.integration} account` },
        ]);
      }
      const target = { kind: 'customers' as const, credentialsId, serviceProviderId: null };
      return viewOf(await request(principal.tenantId, target, mode, principal.userId));
    },

    async get(principal, id) {
      assertAdmin(principal);
      return viewOf(await find(principal, id));
    },

    async list(principal, page) {
      assertAdmin(principal);
      return (await repo.listRuns(db, principal.tenantId, page)).map(viewOf);
    },

    async run(runId) {
      const run = await db.selectFrom('sync_run').selectAll().where('id', '=', runId).executeTakeFirst();
      if (!run || (run.status !== 'QUEUED' && run.status !== 'RUNNING')) return;
      try {
        if (run.kind === 'customers') await syncRevioCustomers(run);
        else if ((await integrationOf(run.credentials_id)) === 'thingspace') await syncThingSpaceDevices(run);
        else await syncJasperDevices(run);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof RetryableError) {
          await repo.noteError(db, runId, message);
          throw error;
        }
        // A refusal (bad credentials, a malformed answer) does not mend by itself: the run ends.
        const known = error instanceof DomainError;
        await repo.finishRun(db, runId, {
          status: 'FAILED',
          error: known ? message : `internal error: ${message}`,
        });
        if (!known) throw error;
      }
    },

    async giveUp(runId, error) {
      await repo.finishRun(db, runId, { status: 'FAILED', error: `gave up after retries: ${error}` });
    },

    async tick() {
      const expired = await repo.failExpired(db);
      // Every target with a successful run gets its incremental run (an open one is left as is).
      const targets = await db
        .selectFrom('sync_run')
        .select(['tenant_id', 'kind', 'credentials_id', 'service_provider_id'])
        .where('status', '=', 'SUCCEEDED')
        .distinct()
        .execute();
      let queued = 0;
      for (const t of targets) {
        const target = {
          kind: t.kind,
          credentialsId: t.credentials_id,
          serviceProviderId: t.service_provider_id,
        };
        const before = await repo.findOpenRun(db, target);
        if (before) continue;
        await request(t.tenant_id, target, 'incremental', null);
        queued += 1;
      }
      return { expired, queued };
    },
  };
}
