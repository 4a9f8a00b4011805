import type { JasperClient, JasperDevice } from '../clients/jasper.client.ts';
import type { RevioClient, RevioCustomerRecord } from '../clients/revio.client.ts';
import type {
  ThingSpaceClient,
  ThingSpaceInventoryDevice,
  ThingSpaceInventoryPage,
} from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import { findServiceProvider } from '../db/repositories/assignment.repository.ts';
import * as repo from '../db/repositories/sync.repository.ts';
import type { DeviceStatus, SyncKind, SyncMode, SyncStatus } from '../db/schema.ts';
import { DomainError, ForbiddenError, NotFoundError, RetryableError, UnprocessableError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { isIccid } from './identifiers.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import type { Principal } from './principal.ts';

/**
 * The fleet and the customers, synced from the partners (issue 11, item 5): a service provider's
 * devices from its carrier account (Control Center's inventory of devices changed since a time;
 * ThingSpace's whole account inventory, which has no "changed since"), and a Rev.io account's
 * customers (`GET /Customers`). A run is a queue job like a bulk change
 * chunk: page by page, each page upserted in one statement and counted in the same transaction, so
 * the counts always say what was written; a failed attempt is retried by the queue from the start
 * (the upserts are idempotent), and a run past its deadline ends FAILED. The first run of a target
 * is full; later ones are incremental from the last run's high-water mark, on demand or every hour.
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
/** Control Center answers changes of the last year at most; a full sync asks for just inside it. */
const JASPER_HORIZON_MS = 365 * 24 * 3600_000 - 3600_000;
/** An incremental run starts a little before the last high-water mark: clocks and late writes. */
const OVERLAP_MS = 5 * 60_000;
const REVIO_PAGE_SIZE = 500;
/** Devices written per transaction, at least (whole pages). */
const WRITE_BATCH = 500;
/** A partner that keeps saying "more" must not keep a run going forever. */
const MAX_PAGES = 20_000;

/** Control Center's statuses, as simbind's. */
const JASPER_STATUS: Record<string, DeviceStatus> = {
  ACTIVATED: 'active',
  DEACTIVATED: 'deactivated',
  INVENTORY: 'inventory',
  TEST_READY: 'test_ready',
  ACTIVATION_READY: 'inventory',
  RETIRED: 'deactivated',
  PURGED: 'deactivated',
  REPLACED: 'deactivated',
};

/** ThingSpace's device states, as simbind's. */
const THINGSPACE_STATUS: Record<string, DeviceStatus> = {
  active: 'active',
  suspend: 'suspended',
  'pending resume': 'suspended',
  deactive: 'deactivated',
  preactive: 'inventory',
};

export function carrierDeviceOfThingSpace(device: ThingSpaceInventoryDevice): repo.CarrierDevice {
  const digits = (value: string | undefined, pattern: RegExp) =>
    value !== undefined && pattern.test(value) ? value : null;
  return {
    iccid: device.iccid,
    status: THINGSPACE_STATUS[(device.state ?? '').toLowerCase()] ?? 'inactive',
    msisdn: digits(device.mdn, /^\d{7,15}$/),
    imei: digits(device.imei, /^\d{14,16}$/),
    carrierRatePlan: device.servicePlan ?? null,
    // ThingSpace has no communication plans: the value simbind holds is left as it is.
    communicationPlan: null,
    activatedAt: null,
  };
}

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

/** Control Center's `dateUpdated` (`2026-12-03 10:00:00.000+0000` or ISO) as a time. */
export function jasperTimeOf(text: string | undefined): Date | null {
  if (!text) return null;
  const iso = text
    .trim()
    .replace(' ', 'T')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const time = Date.parse(iso);
  return Number.isNaN(time) ? null : new Date(time);
}

export function carrierDeviceOfJasper(device: JasperDevice): repo.CarrierDevice {
  const digits = (value: string | undefined, pattern: RegExp) =>
    value !== undefined && pattern.test(value) ? value : null;
  return {
    iccid: device.iccid,
    status: JASPER_STATUS[device.status.toUpperCase()] ?? 'inactive',
    msisdn: digits(device.msisdn, /^\d{7,15}$/),
    imei: digits(device.imei, /^\d{14,16}$/),
    carrierRatePlan: device.ratePlan || null,
    communicationPlan: device.communicationPlan || null,
    activatedAt: jasperTimeOf(device.dateActivated)?.toISOString().slice(0, 10) ?? null,
  };
}

export function createSyncService(deps: SyncServiceDeps): SyncService {
  const { db, queue } = deps;
  const now = deps.now ?? (() => new Date());
  const deadlineMs = deps.deadlineMs ?? 2 * 3600_000;

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

  async function syncJasperDevices(run: repo.SyncRunRow): Promise<void> {
    const provider = await db
      .selectFrom('service_provider')
      .select(['id', 'tenant_id'])
      .where('id', '=', run.service_provider_id!)
      .executeTakeFirstOrThrow();
    const creds = await deps.accounts.jasper(run.credentials_id);
    const horizon = new Date(now().getTime() - JASPER_HORIZON_MS);
    const { highWater } = await repo.lastSuccess(db, {
      kind: 'devices',
      credentialsId: run.credentials_id,
      serviceProviderId: provider.id,
    });
    const from =
      run.mode === 'incremental' && highWater
        ? new Date(Math.max(highWater.getTime() - OVERLAP_MS, horizon.getTime()))
        : horizon;
    const started = await repo.startRun(db, run.id, from);
    if (!started) return;
    const pages = readAhead(
      'Control Center',
      async (pageNumber) => (await deps.jasper.listDevices(creds, { modifiedSince: from, pageNumber })).value,
      (page) => !page.lastPage,
    );
    // Control Center's pages are small (50): several are written in one transaction.
    for await (const batch of inBatches(pages, (page) => page.devices.length, WRITE_BATCH)) {
      const listed = batch.flatMap((page) => page.devices);
      const valid = listed.filter((d) => isIccid(d.iccid));
      await db.transaction().execute(async (trx) => {
        const written =
          valid.length > 0
            ? await repo.upsertDevices(
                trx,
                { tenantId: provider.tenant_id, serviceProviderId: provider.id },
                dedupeBy(valid.map(carrierDeviceOfJasper), (d) => d.iccid),
              )
            : { created: 0, changed: 0 };
        const newest = listed.reduce(
          (max, d) => Math.max(max, jasperTimeOf(d.dateUpdated)?.getTime() ?? 0),
          0,
        );
        await repo.addPage(trx, run.id, {
          pages: batch.length,
          seen: listed.length,
          skipped: listed.length - valid.length,
          highWater: newest > 0 ? new Date(newest) : null,
          ...written,
        });
      });
    }
    // Control Center lists only devices changed in the last year: absence says nothing.
    await repo.finishRun(db, run.id, { status: 'SUCCEEDED', gone: null });
  }

  /**
   * ThingSpace lists an account's whole inventory (its filters are on the date added, not changed),
   * so every run reads it all, page after page by the last ICCID seen; the devices of the provider
   * that it did not show are counted as gone (and kept: their history stays).
   */
  async function syncThingSpaceDevices(run: repo.SyncRunRow): Promise<void> {
    const serviceProviderId = run.service_provider_id!;
    const creds = await deps.accounts.thingspace(run.credentials_id);
    const started = await repo.startRun(db, run.id, null);
    if (!started) return;
    const pages = readAhead<ThingSpaceInventoryPage>(
      'ThingSpace',
      async (pageNumber, previous) => {
        if (previous === undefined) return (await deps.thingspace.listAccountDevices(creds)).value;
        // The client refuses a page with more to come and no ICCID to continue after.
        const lastSeenIccid = previous.lastSeenIccid!;
        const page = (await deps.thingspace.listAccountDevices(creds, { lastSeenIccid })).value;
        if (page.hasMoreData && page.lastSeenIccid === lastSeenIccid) {
          throw new UnprocessableError(
            `ThingSpace answered page ${pageNumber} with more to come but no progress.`,
          );
        }
        return page;
      },
      (page) => page.hasMoreData,
    );
    for await (const page of pages) {
      const valid = page.devices.filter((d) => isIccid(d.iccid));
      const seen = page.devices.length + page.withoutIccid;
      await db.transaction().execute(async (trx) => {
        const written =
          valid.length > 0
            ? await repo.upsertDevices(
                trx,
                { tenantId: run.tenant_id, serviceProviderId },
                dedupeBy(valid.map(carrierDeviceOfThingSpace), (d) => d.iccid),
              )
            : { created: 0, changed: 0 };
        await repo.addPage(trx, run.id, { seen, skipped: seen - valid.length, highWater: null, ...written });
      });
      if (!page.hasMoreData) {
        const gone = await repo.countUnseenDevices(db, serviceProviderId, started.started_at!);
        await repo.finishRun(db, run.id, { status: 'SUCCEEDED', gone });
      }
    }
  }

  async function syncRevioCustomers(run: repo.SyncRunRow): Promise<void> {
    const creds = await deps.accounts.revio(run.credentials_id);
    const started = await repo.startRun(db, run.id, null);
    if (!started) return;
    const pages = readAhead<{ customers: RevioCustomerRecord[]; hasMore: boolean }>(
      'Rev.io',
      async (pageNumber, previous) => {
        if (previous !== undefined && previous.customers.length === 0) {
          throw new UnprocessableError(`Rev.io answered page ${pageNumber - 1} empty but with more to come.`);
        }
        return (await deps.revio.listCustomers(creds, { pageNumber, pageSize: REVIO_PAGE_SIZE })).value;
      },
      (page) => page.hasMore,
    );
    for await (const page of pages) {
      const customers = dedupeBy(
        page.customers.map((c) => ({
          revCustomerId: c.customerId,
          name: (c.name ?? '').trim() || `Rev.io customer ${c.customerId}`,
          active: c.active,
        })),
        (c) => c.revCustomerId,
      );
      await db.transaction().execute(async (trx) => {
        const written =
          customers.length > 0
            ? await repo.upsertRevCustomers(
                trx,
                { tenantId: run.tenant_id, credentialsId: run.credentials_id },
                customers,
              )
            : { created: 0, changed: 0 };
        await repo.addPage(trx, run.id, {
          seen: page.customers.length,
          skipped: 0,
          highWater: null,
          ...written,
        });
      });
      if (!page.hasMore) {
        // The list is every customer of the account: what it did not show is gone from Rev.io.
        const gone = await repo.countUnseenCustomers(db, run.credentials_id, started.started_at!);
        await repo.finishRun(db, run.id, { status: 'SUCCEEDED', gone });
      }
    }
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

/**
 * A partner's pages in order, the next one asked for while the caller writes the current one: a run
 * costs about the partner's paging time, not paging plus writing. `fetchPage` gets the page before
 * (to continue after it); a failed read ahead surfaces when its turn comes, never unhandled.
 */
async function* readAhead<P>(
  partner: string,
  fetchPage: (pageNumber: number, previous: P | undefined) => Promise<P>,
  hasMore: (page: P) => boolean,
): AsyncGenerator<P> {
  let next: Promise<P> | undefined = fetchPage(1, undefined);
  for (let pageNumber = 1; next !== undefined; pageNumber++) {
    const page: P = await next;
    if (hasMore(page) && pageNumber >= MAX_PAGES) {
      throw new UnprocessableError(`${partner} kept answering more pages past ${MAX_PAGES}.`);
    }
    next = hasMore(page) ? fetchPage(pageNumber + 1, page) : undefined;
    next?.catch(() => undefined);
    yield page;
  }
}

/** Pages gathered until they hold `atLeast` items (or the pages end): one write each. */
async function* inBatches<P>(
  pages: AsyncIterable<P>,
  sizeOf: (page: P) => number,
  atLeast: number,
): AsyncGenerator<P[]> {
  let batch: P[] = [];
  let size = 0;
  for await (const page of pages) {
    batch.push(page);
    size += sizeOf(page);
    if (size >= atLeast) {
      yield batch;
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

/** The last of each key: a partner listing a record twice in one page must not fail the upsert. */
function dedupeBy<T>(items: T[], key: (item: T) => string | number): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}
