import type { JasperClient } from '../../clients/jasper.client.ts';
import type { RevioClient, RevioCustomerRecord } from '../../clients/revio.client.ts';
import type { ThingSpaceClient, ThingSpaceInventoryPage } from '../../clients/thingspace.client.ts';
import type { Database } from '../../db/database.ts';
import * as records from '../../db/repositories/sync-records.repository.ts';
import * as repo from '../../db/repositories/sync.repository.ts';
import { UnprocessableError } from '../../errors.ts';
import { isIccid } from '../identifiers.ts';
import type { IntegrationAccounts } from '../integration-accounts.ts';
import { carrierDeviceOfJasper, carrierDeviceOfThingSpace, jasperTimeOf } from './carrier-devices.ts';
import { dedupeBy, inBatches, readAhead } from './paging.ts';

/**
 * One attempt of a run, per partner: page by page, each page upserted in one statement and counted
 * in the same transaction. A run that another attempt already started or finished is left alone.
 */

/** Control Center answers changes of the last year at most; a full sync asks for just inside it. */
const JASPER_HORIZON_MS = 365 * 24 * 3600_000 - 3600_000;
/** An incremental run starts a little before the last high-water mark: clocks and late writes. */
const OVERLAP_MS = 5 * 60_000;
const REVIO_PAGE_SIZE = 500;
/** Devices written per transaction, at least (whole pages). */
const WRITE_BATCH = 500;

export interface SyncRunnerDeps {
  db: Database;
  accounts: IntegrationAccounts;
  jasper: JasperClient;
  thingspace: ThingSpaceClient;
  revio: RevioClient;
  now: () => Date;
}

export function createSyncRunners(deps: SyncRunnerDeps) {
  const { db, now } = deps;

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
            ? await records.upsertDevices(
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
            ? await records.upsertDevices(
                trx,
                { tenantId: run.tenant_id, serviceProviderId },
                dedupeBy(valid.map(carrierDeviceOfThingSpace), (d) => d.iccid),
              )
            : { created: 0, changed: 0 };
        await repo.addPage(trx, run.id, { seen, skipped: seen - valid.length, highWater: null, ...written });
      });
      if (!page.hasMoreData) {
        const gone = await records.countUnseenDevices(db, serviceProviderId, started.started_at!);
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
            ? await records.upsertRevCustomers(
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
        const gone = await records.countUnseenCustomers(db, run.credentials_id, started.started_at!);
        await repo.finishRun(db, run.id, { status: 'SUCCEEDED', gone });
      }
    }
  }

  return { syncJasperDevices, syncThingSpaceDevices, syncRevioCustomers };
}
