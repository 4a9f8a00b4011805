import { sql, type Selectable } from 'kysely';
import type { Executor } from '../database.ts';
import type { SyncKind, SyncMode, SyncRunTable, SyncStatus } from '../schema.ts';

/**
 * Sync runs: one row per run of a target, its counts written in the transaction of each page it
 * upserts (sync-records.repository.ts), so the counts always say what was written.
 */

export type SyncRunRow = Selectable<SyncRunTable>;

const OPEN: SyncStatus[] = ['QUEUED', 'RUNNING'];

export interface NewRun {
  tenantId: number;
  kind: SyncKind;
  serviceProviderId: number | null;
  credentialsId: number;
  mode: SyncMode;
  requestedBy: number | null;
  deadlineAt: Date;
}

/**
 * A new QUEUED run, or `undefined` when the target already has an open one (the partial unique
 * index decides, so two requests at once make one run).
 */
export async function insertRun(db: Executor, run: NewRun): Promise<SyncRunRow | undefined> {
  return db
    .insertInto('sync_run')
    .values({
      tenant_id: run.tenantId,
      kind: run.kind,
      service_provider_id: run.serviceProviderId,
      credentials_id: run.credentialsId,
      mode: run.mode,
      requested_by: run.requestedBy,
      deadline_at: run.deadlineAt,
    })
    .onConflict((oc) =>
      oc
        .expression(sql`kind, credentials_id, coalesce(service_provider_id, 0)`)
        .where('status', 'in', OPEN)
        .doNothing(),
    )
    .returningAll()
    .executeTakeFirst();
}

export async function findOpenRun(
  db: Executor,
  target: { kind: SyncKind; credentialsId: number; serviceProviderId: number | null },
): Promise<SyncRunRow | undefined> {
  let query = db
    .selectFrom('sync_run')
    .selectAll()
    .where('kind', '=', target.kind)
    .where('credentials_id', '=', target.credentialsId)
    .where('status', 'in', OPEN);
  query =
    target.serviceProviderId === null
      ? query.where('service_provider_id', 'is', null)
      : query.where('service_provider_id', '=', target.serviceProviderId);
  return query.executeTakeFirst();
}

export async function findRun(db: Executor, tenantId: number, id: number): Promise<SyncRunRow | undefined> {
  return db
    .selectFrom('sync_run')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listRuns(
  db: Executor,
  tenantId: number,
  page: { limit: number; beforeId?: number },
): Promise<SyncRunRow[]> {
  let query = db
    .selectFrom('sync_run')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('id', 'desc')
    .limit(page.limit);
  if (page.beforeId !== undefined) query = query.where('id', '<', page.beforeId);
  return query.execute();
}

/** The newest partner-side change the target's last successful run saw, and whether one was full. */
export async function lastSuccess(
  db: Executor,
  target: { kind: SyncKind; credentialsId: number; serviceProviderId: number | null },
): Promise<{ highWater: Date | null; anyFull: boolean }> {
  const { rows } = await sql<{ high_water: Date | null; any_full: boolean }>`
    SELECT (SELECT high_water FROM sync_run s
            WHERE s.kind = ${target.kind} AND s.credentials_id = ${target.credentialsId}
              AND s.service_provider_id IS NOT DISTINCT FROM ${target.serviceProviderId}::bigint
              AND s.status = 'SUCCEEDED' ORDER BY s.id DESC LIMIT 1) AS high_water,
           EXISTS (SELECT 1 FROM sync_run s
                   WHERE s.kind = ${target.kind} AND s.credentials_id = ${target.credentialsId}
                     AND s.service_provider_id IS NOT DISTINCT FROM ${target.serviceProviderId}::bigint
                     AND s.status = 'SUCCEEDED' AND s.mode = 'full') AS any_full
  `.execute(db);
  return { highWater: rows[0]!.high_water, anyFull: rows[0]!.any_full };
}

/**
 * Takes the run up for one attempt: RUNNING, the attempt counted, the page counters of an earlier
 * attempt cleared (its created/changed rows stay counted: they were written). `undefined` when the
 * run is finished or past its deadline.
 */
export async function startRun(
  db: Executor,
  id: number,
  since: Date | null,
): Promise<SyncRunRow | undefined> {
  return db
    .updateTable('sync_run')
    .set({
      status: 'RUNNING',
      attempts: sql<number>`attempts + 1`,
      started_at: sql<Date>`coalesce(started_at, now())`,
      since,
      pages: 0,
      seen: 0,
      skipped: 0,
      error: null,
    })
    .where('id', '=', id)
    .where('status', 'in', OPEN)
    .where('deadline_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
}

export interface PageCounts {
  /** Pages these counts cover; default 1. */
  pages?: number;
  seen: number;
  created: number;
  changed: number;
  skipped: number;
  highWater: Date | null;
}

/** One page's (or a few pages') progress, in the transaction that wrote it. */
export async function addPage(db: Executor, id: number, page: PageCounts): Promise<void> {
  await db
    .updateTable('sync_run')
    .set({
      pages: sql<number>`pages + ${page.pages ?? 1}`,
      seen: sql<number>`seen + ${page.seen}`,
      created: sql<number>`created + ${page.created}`,
      changed: sql<number>`changed + ${page.changed}`,
      skipped: sql<number>`skipped + ${page.skipped}`,
      high_water: sql<Date>`greatest(high_water, ${page.highWater}::timestamptz)`,
    })
    .where('id', '=', id)
    .execute();
}

/** A failed attempt's reason on a run that will be tried again. */
export async function noteError(db: Executor, id: number, error: string): Promise<void> {
  await db.updateTable('sync_run').set({ error }).where('id', '=', id).where('status', 'in', OPEN).execute();
}

export async function finishRun(
  db: Executor,
  id: number,
  outcome: { status: 'SUCCEEDED' | 'FAILED'; error?: string | null; gone?: number | null },
): Promise<boolean> {
  const result = await db
    .updateTable('sync_run')
    .set({
      status: outcome.status,
      error: outcome.error ?? null,
      ...(outcome.gone !== undefined ? { gone: outcome.gone } : {}),
      finished_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('status', 'in', OPEN)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Open runs past their deadline end FAILED, saying so. */
export async function failExpired(db: Executor): Promise<number> {
  const result = await db
    .updateTable('sync_run')
    .set({
      status: 'FAILED',
      error: sql<string>`'deadline passed (' || to_char(deadline_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC)'
        || coalesce(': last error: ' || error, '')`,
      finished_at: sql<Date>`now()`,
    })
    .where('status', 'in', OPEN)
    .where('deadline_at', '<=', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
