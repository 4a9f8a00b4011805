import type { Database } from '../db/database.ts';
import { findCustomer } from '../db/repositories/assignment.repository.ts';
import { insertAuditEvent, listAuditEvents } from '../db/repositories/audit.repository.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { decodeCursor, isIdCursor, toPage, type Page } from '../http/pagination.ts';
import type { AssignmentRequest } from './assignment/request.ts';
import { mayAccessCustomer, type Principal } from './principal.ts';

/**
 * The audit log of refused requests (issue 12, rule 8). The older platform logged a permission
 * failure and marked it ERROR; simbind answers 403 (or 404 for a customer the caller may not see)
 * and writes nothing to the bulk-change tables, so without this an administrator could not see who
 * tried what. Only refusals are kept: what was done is in the bulk changes and their change logs.
 */

export interface AuditEventView {
  id: number;
  at: string;
  user: { id: number | null; email: string | null };
  action: string;
  outcome: 'refused';
  customerId: number | null;
  deviceCount: number | null;
  reason: string;
  details: Record<string, unknown>;
}

export interface AuditService {
  /**
   * Records the refusal of a submission when `error` is one (a viewer submitting, a customer the
   * caller may not access); any other error (bad input, unknown ids) is not a refusal and is not
   * recorded. Never throws: the caller's answer is the refusal, whatever happens here.
   */
  submissionFailed(
    principal: Principal,
    request: AssignmentRequest,
    source: string,
    error: unknown,
  ): Promise<void>;
  /** A refused cancel or retry. */
  actionRefused(principal: Principal, action: string, bulkChangeId: number, error: unknown): Promise<void>;
  /** Admins only; newest first. */
  list(principal: Principal, query: { limit: number; cursor?: string }): Promise<Page<AuditEventView>>;
}

export function createAuditService(deps: { db: Database; log?: (message: string) => void }): AuditService {
  const { db } = deps;

  async function record(
    principal: Principal,
    event: Omit<Parameters<typeof insertAuditEvent>[1], 'tenantId' | 'userId' | 'userEmail'>,
  ) {
    try {
      await insertAuditEvent(db, {
        ...event,
        tenantId: principal.tenantId,
        userId: principal.userId,
        userEmail: principal.email,
      });
    } catch (failure) {
      deps.log?.(
        `audit: could not record a refusal: ${failure instanceof Error ? failure.message : String(failure)}`,
      );
    }
  }

  /** Why this error refuses the caller, or undefined when it is not a refusal. */
  async function refusalOf(principal: Principal, customerId: number, error: unknown) {
    if (error instanceof ForbiddenError) return error.message;
    if (!(error instanceof NotFoundError)) return undefined;
    if (mayAccessCustomer(principal, customerId)) return undefined;
    // A 404 for a customer that exists but is not among the caller's: a refusal the caller is not
    // told about (the answer must not confirm the id), which the administrator must see.
    const customer = await findCustomer(db, principal.tenantId, customerId);
    return customer
      ? `customer ${customer.name} (${customer.id}) is not among the caller's customers`
      : undefined;
  }

  return {
    async submissionFailed(principal, request, source, error) {
      const customerId = typeof request.customerId === 'number' ? request.customerId : null;
      const reason = await refusalOf(principal, customerId ?? 0, error).catch(() => undefined);
      if (reason === undefined) return;
      await record(principal, {
        action: 'bulk_change.submit',
        customerId,
        deviceCount: Array.isArray(request.devices) ? request.devices.length : null,
        reason,
        details: {
          source,
          serviceProviderId: request.serviceProviderId,
          dryRun: request.dryRun === true,
          ...(request.filter ? { filter: true } : {}),
        },
      });
    },

    async actionRefused(principal, action, bulkChangeId, error) {
      if (!(error instanceof ForbiddenError)) return;
      await record(principal, {
        action,
        customerId: null,
        deviceCount: null,
        reason: error.message,
        details: { bulkChangeId },
      });
    },

    async list(principal, query) {
      if (principal.role !== 'admin') {
        throw new ForbiddenError('Only administrators read the audit log.');
      }
      const beforeId = decodeCursor(query.cursor, isIdCursor)?.id;
      const rows = await listAuditEvents(db, {
        tenantId: principal.tenantId,
        beforeId,
        limit: query.limit + 1,
      });
      const page = toPage(rows, query.limit, (row) => ({ id: row.id }));
      return {
        nextCursor: page.nextCursor,
        items: page.items.map((row) => ({
          id: row.id,
          at: row.at.toISOString(),
          user: { id: row.user_id, email: row.user_email },
          action: row.action,
          outcome: row.outcome,
          customerId: row.customer_id,
          deviceCount: row.device_count,
          reason: row.reason,
          details: row.details,
        })),
      };
    },
  };
}
