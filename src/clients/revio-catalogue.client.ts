import { PermanentError } from '../errors.ts';
import type { Call } from './http-client.ts';
import {
  num,
  REVIO_SYSTEM,
  str,
  type RevioCredentials,
  type RevioTransport,
  type WireRecord,
} from './revio-transport.ts';

/**
 * Rev.io's catalogue reads: the service types, products, providers, packages and usage plan groups
 * an assignment picks from (cached by catalogue.service.ts). Each list is read whole, every page.
 */

/** Catalogue records: `active` is true unless Rev.io says otherwise (`active` / `is_active`). */
export interface RevioServiceType {
  serviceTypeId: number;
  description: string;
  active: boolean;
}

export interface RevioProduct {
  productId: number;
  description: string;
  /** The product's default rate. */
  rate: number | null;
  active: boolean;
}

export interface RevioProvider {
  providerId: number;
  name: string;
  active: boolean;
}

export interface RevioPackage {
  packageId: number;
  description: string;
  active: boolean;
}

export interface RevioUsagePlanGroup {
  usagePlanGroupId: number;
  description: string;
  active: boolean;
}

/**
 * Where each catalogue list lives, in one place so an instance that differs is a one-line change.
 * `ServiceTypes`, `Products` and `Providers` are documented; `Packages` and `UsagePlanGroups` are
 * *(inferred)*: same list envelope and paging as every Rev.io list.
 */
export const REVIO_CATALOGUE_RESOURCES = {
  serviceTypes: 'ServiceTypes',
  products: 'Products',
  providers: 'Providers',
  packages: 'Packages',
  usagePlanGroups: 'UsagePlanGroups',
} as const;

/** The catalogue lists: every page (`search.page` while `has_more`); the exchange is the last page's. */
export interface RevioCatalogueClient {
  listServiceTypes(creds: RevioCredentials): Promise<Call<RevioServiceType[]>>;
  listProducts(creds: RevioCredentials): Promise<Call<RevioProduct[]>>;
  listProviders(creds: RevioCredentials): Promise<Call<RevioProvider[]>>;
  listPackages(creds: RevioCredentials): Promise<Call<RevioPackage[]>>;
  listUsagePlanGroups(creds: RevioCredentials): Promise<Call<RevioUsagePlanGroup[]>>;
}

export function createRevioCatalogueReads(transport: RevioTransport): RevioCatalogueClient {
  /** A catalogue list whose every record must carry a positive integer id: one without is no catalogue. */
  async function catalogue<T>(
    creds: RevioCredentials,
    list: keyof typeof REVIO_CATALOGUE_RESOURCES,
    idField: string,
    map: (record: WireRecord, id: number) => T,
  ): Promise<Call<T[]>> {
    const resource = REVIO_CATALOGUE_RESOURCES[list];
    let bad = false;
    const call = await transport.listAll(creds, resource, {}, (r) => {
      const id = num(r[idField]);
      if (id === null || !Number.isSafeInteger(id) || id <= 0) bad = true;
      return map(r, id ?? 0);
    });
    if (bad) {
      throw new PermanentError(`${REVIO_SYSTEM}: a record without a ${idField} in GET /${resource}`, {
        system: REVIO_SYSTEM,
        status: call.exchange.status,
        exchange: call.exchange,
      });
    }
    return call;
  }

  return {
    listServiceTypes: (creds) =>
      catalogue(creds, 'serviceTypes', 'service_type_id', (r, id) => ({
        serviceTypeId: id,
        description: str(r.description) ?? str(r.name) ?? '',
        active: activeOf(r),
      })),

    listProducts: (creds) =>
      catalogue(creds, 'products', 'product_id', (r, id) => ({
        productId: id,
        description: str(r.description) ?? str(r.name) ?? '',
        rate: num(r.rate),
        active: activeOf(r),
      })),

    listProviders: (creds) =>
      catalogue(creds, 'providers', 'provider_id', (r, id) => ({
        providerId: id,
        name: str(r.name) ?? str(r.description) ?? '',
        active: activeOf(r),
      })),

    listPackages: (creds) =>
      catalogue(creds, 'packages', 'package_id', (r, id) => ({
        packageId: id,
        description: str(r.description) ?? str(r.name) ?? '',
        active: activeOf(r),
      })),

    listUsagePlanGroups: (creds) =>
      catalogue(creds, 'usagePlanGroups', 'usage_plan_group_id', (r, id) => ({
        usagePlanGroupId: id,
        description: str(r.description) ?? str(r.name) ?? '',
        active: activeOf(r),
      })),
  };
}

/** Rev.io instances name the flag `active` or `is_active`; a record without either is in use. */
function activeOf(r: WireRecord): boolean {
  if (typeof r.active === 'boolean') return r.active;
  if (typeof r.is_active === 'boolean') return r.is_active;
  return true;
}
