import type { Executor } from '../database.ts';
import type { CarrierIntegration, CustomerKind, PortalType } from '../schema.ts';
import type { Window } from './device.repository.ts';

/**
 * What the submission screen picks from: service providers, customers and sites, plans and pools.
 * Every query is scoped by tenant. No query here selects credentials or secrets.
 * `numeric` columns are turned into numbers here: MB and monthly rates have at most two decimals.
 */

export interface ServiceProviderRow {
  id: number;
  name: string;
  integration: CarrierIntegration;
  portalType: PortalType;
  /** Linked to a carrier account (devices changed and synced through it). */
  hasCarrierAccount: boolean;
}

export async function listServiceProviders(db: Executor, tenantId: number): Promise<ServiceProviderRow[]> {
  return db
    .selectFrom('service_provider')
    .select((eb) => [
      'id',
      'name',
      'integration',
      'portal_type as portalType',
      eb('credentials_id', 'is not', null).$castTo<boolean>().as('hasCarrierAccount'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('active', '=', true)
    .orderBy('name')
    .orderBy('id')
    .execute();
}

export async function serviceProviderExists(db: Executor, tenantId: number, id: number): Promise<boolean> {
  const row = await db
    .selectFrom('service_provider')
    .select('id')
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row !== undefined;
}

export interface CustomerRow {
  id: number;
  name: string;
  kind: CustomerKind;
  revCustomerId: number | null;
  active: boolean;
  defaultSiteId: number | null;
}

export interface CustomerSearch {
  /** Case-insensitive substring of the name; when all digits, also the exact Rev customer id. */
  q?: string | undefined;
  /** Only these customers (a principal limited to a few); undefined: all of the tenant's. */
  onlyIds?: readonly number[] | undefined;
}

/** One query: a page of customers by id, each with its default site. */
export async function listCustomers(
  db: Executor,
  tenantId: number,
  search: CustomerSearch,
  window: Window,
): Promise<CustomerRow[]> {
  if (search.onlyIds?.length === 0) return [];
  let query = db
    .selectFrom('customer as c')
    .leftJoin('site as s', (join) => join.onRef('s.customer_id', '=', 'c.id').on('s.is_default', '=', true))
    .select([
      'c.id',
      'c.name',
      'c.kind',
      'c.rev_customer_id as revCustomerId',
      'c.active',
      's.id as defaultSiteId',
    ])
    .where('c.tenant_id', '=', tenantId);
  if (search.onlyIds) query = query.where('c.id', 'in', search.onlyIds);
  const q = search.q;
  if (q !== undefined) {
    const pattern = `%${q.replace(/[\\%_]/g, '\\$&')}%`;
    // Rev customer ids are bigint; 15 digits stay exact as a JS number.
    const revId = /^\d{1,15}$/.test(q) ? Number(q) : undefined;
    query = query.where((eb) =>
      revId === undefined
        ? eb('c.name', 'ilike', pattern)
        : eb.or([eb('c.name', 'ilike', pattern), eb('c.rev_customer_id', '=', revId)]),
    );
  }
  if (window.afterId !== undefined) query = query.where('c.id', '>', window.afterId);
  return query.orderBy('c.id').limit(window.limit).execute();
}

export async function customerExists(db: Executor, tenantId: number, id: number): Promise<boolean> {
  const row = await db
    .selectFrom('customer')
    .select('id')
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row !== undefined;
}

export interface SiteRow {
  id: number;
  name: string;
  address: string | null;
  isDefault: boolean;
}

/** The customer a site of the tenant belongs to, or undefined when the tenant has no such site. */
export async function findSiteCustomer(
  db: Executor,
  tenantId: number,
  siteId: number,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('site')
    .select('customer_id')
    .where('id', '=', siteId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row?.customer_id;
}

/** The default site first, then by name. */
export async function listSites(db: Executor, tenantId: number, customerId: number): Promise<SiteRow[]> {
  return db
    .selectFrom('site')
    .select(['id', 'name', 'address', 'is_default as isDefault'])
    .where('customer_id', '=', customerId)
    .where('tenant_id', '=', tenantId)
    .orderBy('is_default', 'desc')
    .orderBy('name')
    .orderBy('id')
    .execute();
}

export interface CustomerRatePlanRow {
  id: number;
  code: string;
  name: string;
  dataAllocationMb: number;
  monthlyRate: number;
}

export async function listCustomerRatePlans(db: Executor, tenantId: number): Promise<CustomerRatePlanRow[]> {
  const rows = await db
    .selectFrom('customer_rate_plan')
    .select(['id', 'code', 'name', 'data_allocation_mb', 'monthly_rate'])
    .where('tenant_id', '=', tenantId)
    .where('active', '=', true)
    .orderBy('code')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    code: r.code,
    name: r.name,
    dataAllocationMb: Number(r.data_allocation_mb),
    monthlyRate: Number(r.monthly_rate),
  }));
}

export interface CarrierRatePlanRow {
  id: number;
  code: string;
  name: string;
  communicationPlan: string | null;
  dataAllowanceMb: number | null;
}

export async function listCarrierRatePlans(
  db: Executor,
  tenantId: number,
  serviceProviderId: number,
): Promise<CarrierRatePlanRow[]> {
  const rows = await db
    .selectFrom('carrier_rate_plan')
    .select(['id', 'code', 'name', 'communication_plan', 'data_allowance_mb'])
    .where('tenant_id', '=', tenantId)
    .where('service_provider_id', '=', serviceProviderId)
    .where('active', '=', true)
    .orderBy('code')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    code: r.code,
    name: r.name,
    communicationPlan: r.communication_plan,
    dataAllowanceMb: r.data_allowance_mb === null ? null : Number(r.data_allowance_mb),
  }));
}

export interface RatePoolRow {
  id: number;
  name: string;
  sharedDataMb: number;
}

export async function listRatePools(db: Executor, tenantId: number): Promise<RatePoolRow[]> {
  const rows = await db
    .selectFrom('customer_rate_pool')
    .select(['id', 'name', 'shared_data_mb'])
    .where('tenant_id', '=', tenantId)
    .where('active', '=', true)
    .orderBy('name')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, sharedDataMb: Number(r.shared_data_mb) }));
}
