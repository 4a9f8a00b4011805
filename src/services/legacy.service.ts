import type { Database } from '../db/database.ts';
import { findCustomerByRevId, findSite } from '../db/repositories/assignment.repository.ts';
import { NotFoundError } from '../errors.ts';
import type { AssignmentService, SubmitResult } from './assignment.service.ts';
import {
  fromAssociateAmopCustomer,
  fromAssociateCustomer,
  type AssociateAmopCustomer,
  type AssociateCustomer,
} from './assignment/legacy.ts';
import type { Principal } from './principal.ts';

/** The older entry points: resolve their customer reference, then the same submission as the API. */
export interface LegacyService {
  associateCustomer(principal: Principal, body: AssociateCustomer): Promise<SubmitResult>;
  associateAmopCustomer(principal: Principal, body: AssociateAmopCustomer): Promise<SubmitResult>;
}

export function createLegacyService(deps: { db: Database; assignments: AssignmentService }): LegacyService {
  const submit = async (principal: Principal, request: ReturnType<typeof fromAssociateCustomer>) => {
    const result = await deps.assignments.submit(principal, request, { source: 'legacy' });
    if ('dryRun' in result) throw new Error('the older entry points never dry-run');
    return result;
  };

  return {
    async associateCustomer(principal, body) {
      // Exact match on the Rev.io customer id: the older lookup matched substrings (a defect).
      const customer = await findCustomerByRevId(deps.db, principal.tenantId, Number(body.RevCustomerId));
      if (!customer) throw new NotFoundError(`No customer with Rev customer id ${body.RevCustomerId}.`);
      return submit(principal, fromAssociateCustomer(body, customer.id));
    },

    async associateAmopCustomer(principal, body) {
      const site = await findSite(deps.db, principal.tenantId, Number(body.SiteId));
      if (!site) throw new NotFoundError(`Site ${body.SiteId} not found.`);
      return submit(principal, fromAssociateAmopCustomer(body, site.customer_id));
    },
  };
}
