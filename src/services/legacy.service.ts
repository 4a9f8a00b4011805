import type { Database } from '../db/database.ts';
import {
  findCustomer,
  findCustomerByRevId,
  findServiceProvider,
  findSite,
} from '../db/repositories/assignment.repository.ts';
import type { PortalType } from '../db/schema.ts';
import { InvalidInputError, NotFoundError, UnprocessableError, type FieldProblem } from '../errors.ts';
import { pointerOf } from '../http/error-handler.ts';
import { CreateBulkChangeBody } from '../http/schemas/bulk-change.schemas.ts';
import { compileBodyValidator } from '../http/validator-compiler.ts';
import type { AssignmentService, SubmitResult } from './assignment.service.ts';
import {
  fromAssociateAmopCustomer,
  fromAssociateCustomer,
  legacyPath,
  type AssociateAmopCustomer,
  type AssociateCustomer,
} from './assignment/legacy.ts';
import type { AssignmentRequest } from './assignment/request.ts';
import { mayAccessCustomer, type Principal } from './principal.ts';

/**
 * The older entry points, for the M2M portal (devices by ICCID) and the Mobility portal (by MSISDN):
 * resolve their customer reference, translate, check the translation against the JSON API's own
 * body schema (the same validator, so no rule of the API is skipped here), then the same submission
 * as the API, whose rules all hold.
 */

/** Which portal's endpoints were called: `/M2M/…` or `/Mobility/…`. */
export type LegacyPortal = Extract<PortalType, 'm2m' | 'mobility'>;

export interface LegacyService {
  associateCustomer(
    principal: Principal,
    body: AssociateCustomer,
    portal?: LegacyPortal,
  ): Promise<SubmitResult>;
  associateAmopCustomer(
    principal: Principal,
    body: AssociateAmopCustomer,
    portal?: LegacyPortal,
  ): Promise<SubmitResult>;
}

const ENDPOINT_PREFIX: Record<LegacyPortal, string> = { m2m: '/M2M', mobility: '/Mobility' };

const validateAsApi = compileBodyValidator(CreateBulkChangeBody);

export function createLegacyService(deps: { db: Database; assignments: AssignmentService }): LegacyService {
  /** The provider must be of the endpoint's portal (a Mobility provider takes MSISDNs, not ICCIDs). */
  async function checkPortal(
    principal: Principal,
    serviceProviderId: number,
    portal: LegacyPortal,
    endpoint: string,
  ) {
    const provider = await findServiceProvider(deps.db, principal.tenantId, serviceProviderId);
    if (!provider) return; // the submission answers 404, as the API does
    if (provider.portal_type !== portal) {
      const right =
        provider.portal_type === 'm2m' || provider.portal_type === 'mobility'
          ? `use ${ENDPOINT_PREFIX[provider.portal_type]}/${endpoint}`
          : 'use POST /api/v1/bulk-changes';
      throw new UnprocessableError(
        `Service provider ${provider.name} is not a ${portal === 'm2m' ? 'M2M' : 'Mobility'} provider: ${right}.`,
        [{ path: '/ServiceProviderId', message: `is a ${provider.portal_type} provider` }],
      );
    }
  }

  const submit = async (
    principal: Principal,
    request: AssignmentRequest,
    customerField: '/RevCustomerId' | '/SiteId',
  ) => {
    const problems = validateAsApi(request).map((error) => ({
      path: legacyPath(pointerOf(error), customerField),
      message: error.message ?? 'is invalid',
    }));
    if (problems.length > 0) throw new InvalidInputError('The request is invalid.', problems);
    const result = await deps.assignments
      .submit(principal, request, { source: 'legacy' })
      .catch((error: unknown) => {
        // The API's rules name the API's fields: say them as the older body does.
        if (error instanceof InvalidInputError || error instanceof UnprocessableError) {
          const details = (error.details as FieldProblem[] | undefined)?.map((d) => ({
            ...d,
            path: legacyPath(d.path, customerField),
          }));
          throw error instanceof InvalidInputError
            ? new InvalidInputError(error.message, details)
            : new UnprocessableError(error.message, details);
        }
        throw error;
      });
    if ('dryRun' in result) throw new Error('the older entry points never dry-run');
    return result;
  };

  return {
    async associateCustomer(principal, body, portal = 'm2m') {
      // Exact match on the Rev.io customer id: the older lookup matched substrings (a defect).
      const customer = await findCustomerByRevId(deps.db, principal.tenantId, Number(body.RevCustomerId));
      if (!customer) throw new NotFoundError(`No customer with Rev customer id ${body.RevCustomerId}.`);
      await checkPortal(principal, Number(body.ServiceProviderId), portal, 'AssociateCustomer');
      return submit(principal, fromAssociateCustomer(body, customer.id), '/RevCustomerId');
    },

    async associateAmopCustomer(principal, body, portal = 'm2m') {
      const site = await findSite(deps.db, principal.tenantId, Number(body.SiteId));
      if (!site) throw new NotFoundError(`Site ${body.SiteId} not found.`);
      const customer = await findCustomer(deps.db, principal.tenantId, site.customer_id);
      // A customer the caller may not access is refused by the submission (404, audited), unnamed.
      if (customer?.kind === 'rev' && mayAccessCustomer(principal, customer.id)) {
        // The AMOP path assigns without billing: a Rev.io customer's devices would be left unbilled.
        throw new UnprocessableError(
          `Site ${body.SiteId} belongs to ${customer.name}, a Rev.io customer: use ${ENDPOINT_PREFIX[portal]}/AssociateCustomer.`,
          [{ path: '/SiteId', message: 'is a site of a Rev.io customer' }],
        );
      }
      await checkPortal(principal, Number(body.ServiceProviderId), portal, 'AssociateAmopCustomer');
      return submit(principal, fromAssociateAmopCustomer(body, site.customer_id), '/SiteId');
    },
  };
}
