import { sql } from 'kysely';
import type { RevioClient } from '../clients/revio.client.ts';
import type { Database } from '../db/database.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PermanentError,
  UnprocessableError,
} from '../errors.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import type { Principal } from './principal.ts';

/**
 * An operator's own customers (issue 11, item 5): AMOP customers (not billed in Rev.io) with their
 * sites, Rev.io customers checked against the Rev.io account before they are recorded, and the
 * customer rate plans and pools the assignment form offers. Administrators only; each write is one
 * transaction, and a refused request writes nothing.
 */

export interface NewCustomer {
  name: string;
  kind: 'amop' | 'rev';
  /** Rev.io customers: the customer's id in Rev.io and the Rev.io account that bills it. */
  revCustomerId?: number;
  revCredentialsId?: number;
  /** The default site; absent: "Headquarters". */
  site?: { name: string; address?: string };
}

export interface CustomersService {
  createCustomer(
    principal: Principal,
    input: NewCustomer,
  ): Promise<{ id: number; name: string; kind: string; revCustomerId: number | null; defaultSiteId: number }>;
  createSite(
    principal: Principal,
    customerId: number,
    input: { name: string; address?: string; isDefault?: boolean },
  ): Promise<{ id: number; customerId: number; name: string; isDefault: boolean }>;
  createRatePlan(
    principal: Principal,
    input: { code: string; name: string; dataAllocationMb: number; monthlyRate: number },
  ): Promise<{ id: number; code: string }>;
  createRatePool(
    principal: Principal,
    input: { name: string; sharedDataMb: number },
  ): Promise<{ id: number; name: string }>;
}

function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new ForbiddenError('Only administrators manage customers and plans.');
}

const isUnique = (error: unknown) => (error as { code?: string }).code === '23505';

export function createCustomersService(deps: {
  db: Database;
  accounts: IntegrationAccounts;
  revio: RevioClient;
}): CustomersService {
  const { db } = deps;

  /** The Rev.io customer must exist in that Rev.io account: a typo would bill nobody. */
  async function checkRevCustomer(principal: Principal, input: NewCustomer): Promise<void> {
    const problems = [];
    if (input.revCustomerId === undefined)
      problems.push({ path: '/revCustomerId', message: 'is required for a Rev.io customer' });
    if (input.revCredentialsId === undefined) {
      problems.push({ path: '/revCredentialsId', message: 'is required for a Rev.io customer' });
    }
    if (problems.length > 0)
      throw new UnprocessableError('A Rev.io customer needs its Rev.io id and account.', problems);
    const account = await db
      .selectFrom('integration_credentials')
      .select(['id', 'integration'])
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', input.revCredentialsId!)
      .executeTakeFirst();
    if (account?.integration !== 'revio') {
      throw new UnprocessableError('The Rev.io account does not exist.', [
        { path: '/revCredentialsId', message: `no Rev.io account ${input.revCredentialsId}` },
      ]);
    }
    try {
      await deps.revio.getCustomer(await deps.accounts.revio(account.id), input.revCustomerId!);
    } catch (error) {
      if (error instanceof PermanentError && error.status === 404) {
        throw new UnprocessableError(`Rev.io has no customer ${input.revCustomerId}.`, [
          { path: '/revCustomerId', message: 'not found in that Rev.io account' },
        ]);
      }
      throw error;
    }
  }

  return {
    async createCustomer(principal, input) {
      assertAdmin(principal);
      if (
        input.kind === 'amop' &&
        (input.revCustomerId !== undefined || input.revCredentialsId !== undefined)
      ) {
        throw new UnprocessableError('An AMOP customer is not billed in Rev.io.', [
          { path: '/revCustomerId', message: 'only for kind "rev"' },
        ]);
      }
      if (input.kind === 'rev') await checkRevCustomer(principal, input);
      try {
        return await db.transaction().execute(async (trx) => {
          const customer = await trx
            .insertInto('customer')
            .values({
              tenant_id: principal.tenantId,
              name: input.name.trim(),
              kind: input.kind,
              rev_customer_id: input.revCustomerId ?? null,
              rev_credentials_id: input.revCredentialsId ?? null,
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          const site = await trx
            .insertInto('site')
            .values({
              tenant_id: principal.tenantId,
              customer_id: customer.id,
              name: input.site?.name.trim() || 'Headquarters',
              address: input.site?.address ?? null,
              is_default: true,
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          return {
            id: customer.id,
            name: input.name.trim(),
            kind: input.kind,
            revCustomerId: input.revCustomerId ?? null,
            defaultSiteId: site.id,
          };
        });
      } catch (error) {
        if (isUnique(error))
          throw new ConflictError(`A customer with Rev.io id ${input.revCustomerId} exists.`);
        throw error;
      }
    },

    async createSite(principal, customerId, input) {
      assertAdmin(principal);
      const customer = await db
        .selectFrom('customer')
        .select('id')
        .where('tenant_id', '=', principal.tenantId)
        .where('id', '=', customerId)
        .executeTakeFirst();
      if (!customer) throw new NotFoundError(`Customer ${customerId} not found.`);
      try {
        return await db.transaction().execute(async (trx) => {
          // One default per customer (a unique index): the new default takes over in the same transaction.
          if (input.isDefault) {
            await sql`UPDATE site SET is_default = false WHERE customer_id = ${customerId} AND is_default`.execute(
              trx,
            );
          }
          const site = await trx
            .insertInto('site')
            .values({
              tenant_id: principal.tenantId,
              customer_id: customerId,
              name: input.name.trim(),
              address: input.address ?? null,
              is_default: input.isDefault === true,
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          return { id: site.id, customerId, name: input.name.trim(), isDefault: input.isDefault === true };
        });
      } catch (error) {
        if (isUnique(error))
          throw new ConflictError(`The customer already has a site named "${input.name.trim()}".`);
        throw error;
      }
    },

    async createRatePlan(principal, input) {
      assertAdmin(principal);
      try {
        const row = await db
          .insertInto('customer_rate_plan')
          .values({
            tenant_id: principal.tenantId,
            code: input.code.trim(),
            name: input.name.trim(),
            data_allocation_mb: input.dataAllocationMb,
            monthly_rate: input.monthlyRate,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        return { id: row.id, code: input.code.trim() };
      } catch (error) {
        if (isUnique(error)) throw new ConflictError(`A customer rate plan "${input.code.trim()}" exists.`);
        throw error;
      }
    },

    async createRatePool(principal, input) {
      assertAdmin(principal);
      try {
        const row = await db
          .insertInto('customer_rate_pool')
          .values({
            tenant_id: principal.tenantId,
            name: input.name.trim(),
            shared_data_mb: input.sharedDataMb,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        return { id: row.id, name: input.name.trim() };
      } catch (error) {
        if (isUnique(error)) throw new ConflictError(`A customer rate pool "${input.name.trim()}" exists.`);
        throw error;
      }
    },
  };
}
