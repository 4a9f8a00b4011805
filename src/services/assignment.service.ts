import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { isUniqueViolation, retryOnDeadlock } from '../db/pg-errors.ts';
import * as bulkChanges from '../db/repositories/bulk-change.repository.ts';
import type { StatusCounts } from '../db/repositories/bulk-change.repository.ts';
import type { BulkChangeStatus, ErrorCategory } from '../db/schema.ts';
import { UnprocessableError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { changesHands, targetOf, type AssignmentTarget } from './assignment/eligibility.ts';
import { createValidator, type JudgedDevice } from './assignment/validation.ts';
import { writeSlots, writeWorkOrders } from './assignment/work-order-writer.ts';
import { optionsOf, requestHash, type AssignmentRequest } from './assignment/request.ts';
import { isLocalOnly } from './processing/local-steps.ts';
import type { AuditService } from './audit.service.ts';
import type { Principal } from './principal.ts';

/**
 * Submitting a customer assignment: every request-level rule (a 4xx writes nothing), then ONE
 * transaction that writes the bulk change, its work orders (each device judged set-based, a slice
 * at a time, and written while the next slice is judged), the rejections' change-log entries and
 * the queue jobs — so a failure anywhere leaves nothing.
 */

export interface SubmitOptions {
  idempotencyKey?: string;
  /** The entry point; default `ui` for a browser session (the screens), `api` for a token. */
  source?: BulkChangeSource;
}

export type BulkChangeSource = 'api' | 'ui' | 'legacy';

/** Where a submission came from, as recorded on the bulk change and in the audit log. */
function sourceOf(principal: Principal, options: SubmitOptions): BulkChangeSource {
  return options.source ?? (principal.via === 'session' ? 'ui' : 'api');
}

export interface DeviceVerdict {
  identifier: string;
  deviceId: number | null;
  eligible: boolean;
  errorCategory: ErrorCategory | null;
  message: string | null;
  currentOwner: {
    customerId: number;
    name: string | null;
    siteId: number | null;
    siteName: string | null;
  } | null;
  changesHands: boolean;
}

export interface SubmitResult {
  id: number;
  status: BulkChangeStatus;
  counts: StatusCounts;
  duplicates: string[];
  /** true when an Idempotency-Key replay returned an earlier bulk change. */
  replayed: boolean;
}

export interface DryRunResult {
  dryRun: true;
  counts: { total: number; eligible: number; ineligible: number; changingHands: number };
  duplicates: string[];
  devices: DeviceVerdict[];
}

/**
 * Resolves "all devices matching this filter" to identifiers, through the device search of
 * `GET /devices` (its access checks included).
 */
export type FilterResolver = (
  principal: Principal,
  params: {
    serviceProviderId: number;
    kind: 'iccid' | 'msisdn';
    filter: NonNullable<AssignmentRequest['filter']>;
    limit: number;
  },
) => Promise<string[]>;

export interface AssignmentService {
  submit(
    principal: Principal,
    request: AssignmentRequest,
    options?: SubmitOptions,
  ): Promise<SubmitResult | DryRunResult>;
}

export interface AssignmentDeps {
  db: Database;
  queue: JobQueue;
  config: Config;
  resolveFilter?: FilterResolver;
  /** Today as yyyy-MM-dd (tests pin it). */
  today?: () => string;
  /** Where refused submissions are recorded for administrators. */
  audit?: AuditService;
}

const REJECTION_LOG = 'Customer Assignment: Validate Device';
/**
 * Work orders per queue job when no step leaves simbind (the AMOP path). CHUNK_SIZE paces external
 * calls across workers; local steps are set-based, and a worker fetches a job at most once per poll
 * interval after a short one: 100,000 devices in chunks of 2,000 spent more time waiting for the
 * next fetch than writing. A local chunk is still done a group at a time (processing.service.ts).
 */
const LOCAL_CHUNK_SIZE = 25_000;
/** A dry run's answer for one device. */
function verdictOf(
  { identifier, candidate, verdict }: JudgedDevice,
  target: AssignmentTarget,
): DeviceVerdict {
  return {
    identifier,
    deviceId: candidate?.deviceId ?? null,
    eligible: verdict.eligible,
    errorCategory: verdict.eligible ? null : verdict.category,
    message: verdict.eligible ? null : verdict.message,
    currentOwner:
      candidate?.ownerCustomerId != null
        ? {
            customerId: candidate.ownerCustomerId,
            name: candidate.ownerCustomerName,
            siteId: candidate.ownerSiteId,
            siteName: candidate.ownerSiteName,
          }
        : null,
    changesHands: candidate !== undefined && changesHands(candidate, target),
  };
}

/** The change log's `processed_by` for what the API itself decided at submission. */
const API_PROCESS = 'simbind-api';

export function createAssignmentService(deps: AssignmentDeps): AssignmentService {
  const today = deps.today ?? (() => new Date().toISOString().slice(0, 10));

  const validator = createValidator({ db: deps.db, resolveFilter: deps.resolveFilter });
  const inWriteSlot = writeSlots(Math.max(1, deps.config.database.poolSize - 1));

  return {
    async submit(principal, request, options = {}) {
      const hash = requestHash(request);
      if (options.idempotencyKey && !request.dryRun) {
        const replay = await replayed(principal, options.idempotencyKey, hash);
        if (replay) return replay;
      }

      const audited = <T>(work: Promise<T>) =>
        work.catch(async (error: unknown) => {
          await deps.audit?.submissionFailed(principal, request, sourceOf(principal, options), error);
          throw error;
        });

      if (request.dryRun) {
        const target = targetOf(request);
        const { results: devices, duplicates } = await audited(
          validator.validate(principal, request, (device) => verdictOf(device, target)),
        );
        const eligible = devices.filter((d) => d.eligible).length;
        return {
          dryRun: true,
          counts: {
            total: devices.length,
            eligible,
            ineligible: devices.length - eligible,
            changingHands: devices.filter((d) => d.eligible && d.changesHands).length,
          },
          duplicates,
          devices,
        };
      }

      const checked = await audited(validator.check(principal, request));
      const { provider, customer, siteId, duplicates } = checked;
      const chunkSize = isLocalOnly(optionsOf(request))
        ? Math.max(deps.config.worker.chunkSize, LOCAL_CHUNK_SIZE)
        : deps.config.worker.chunkSize;
      const date = today();

      try {
        const { id, counts } = await retryOnDeadlock(() =>
          inWriteSlot(() =>
            deps.db.transaction().execute(async (trx) => {
              const bulkChangeId = await bulkChanges.insertBulkChange(trx, {
                tenantId: principal.tenantId,
                serviceProviderId: provider.id,
                portalType: provider.portal_type,
                customerId: customer.id,
                siteId,
                options: { ...optionsOf(request), activatedDate: request.activatedDate ?? date },
                totalCount: checked.count,
                createdBy: principal.userId,
                idempotencyKey: options.idempotencyKey ?? null,
                requestHash: hash,
                source: sourceOf(principal, options),
                workOrderRequest: {
                  customerId: customer.id,
                  siteId,
                  revCustomerId: request.createRevService ? customer.rev_customer_id : null,
                  revCredentialsId: request.createRevService ? customer.rev_credentials_id : null,
                  activatedDate: request.activatedDate ?? date,
                },
              });
              const ctx: bulkChanges.WorkOrderContext = { tenantId: principal.tenantId, bulkChangeId };
              const written = await writeWorkOrders(trx, ctx, checked.judge, chunkSize, date, request);
              await bulkChanges.insertRejectionLogs(trx, {
                bulkChangeId,
                portalType: provider.portal_type,
                // Refused while the request was checked, by the API process, for this person.
                processedBy: API_PROCESS,
                submittedBy: principal.email,
                description: REJECTION_LOG,
              });
              // The chunks with pending work, one job each: known here, race losers included.
              if (written.chunks.length > 0) {
                await deps.queue.enqueueMany(
                  trx,
                  'bulk-change.process-chunk',
                  written.chunks.map((chunk) => ({ bulkChangeId, chunk })),
                );
              } else {
                // Nothing to process: the finish step still runs (final status, notifications).
                await deps.queue.enqueue(trx, 'bulk-change.finish', { bulkChangeId });
              }
              return { id: bulkChangeId, counts: written.counts };
            }),
          ),
        );
        return { id, status: 'NEW', counts, duplicates, replayed: false };
      } catch (error) {
        // Two requests with the same Idempotency-Key at once: the loser answers with the winner.
        if (options.idempotencyKey && isUniqueViolation(error, 'bulk_change_idempotency_key')) {
          const replay = await replayed(principal, options.idempotencyKey, hash);
          if (replay) return replay;
        }
        throw error;
      }
    },
  };

  async function replayed(
    principal: Principal,
    key: string,
    hash: string,
  ): Promise<SubmitResult | undefined> {
    const existing = await bulkChanges.findByIdempotencyKey(
      deps.db,
      principal.tenantId,
      principal.userId,
      key,
    );
    if (!existing) return undefined;
    if (existing.request_hash !== hash) {
      throw new UnprocessableError('This Idempotency-Key was already used with a different request.', [
        { path: '/headers/idempotency-key', message: `already used for bulk change ${existing.id}` },
      ]);
    }
    const counts = (await bulkChanges.countWorkOrders(deps.db, [existing.id])).get(existing.id)!;
    return { id: existing.id, status: existing.status, counts, duplicates: [], replayed: true };
  }
}
