import type { Call } from './http-client.ts';
import { createRevioCatalogueReads, type RevioCatalogueClient } from './revio-catalogue.client.ts';
import {
  createRevioTransport,
  num,
  REVIO_PAGE_SIZE,
  str,
  unexpected,
  type RevioClientDeps,
  type RevioCredentials,
  type WireRecord,
} from './revio-transport.ts';

export type { RevioClientDeps, RevioCredentials } from './revio-transport.ts';

/**
 * Rev.io (billing) REST v1: service lines and their products. Rev.io has no idempotency key, so a
 * create that failed as Retryable may still have happened: callers look the line up with
 * `findServices` before sending the create again. The catalogue reads are in revio-catalogue.client.ts,
 * the transport (rate limit, headers, paging, errors) in revio-transport.ts.
 */

/** A calendar date: `yyyy-MM-dd` (or an ISO date-time, whose date part is kept) or a `Date` (UTC). */
export type RevioDate = string | Date;

export interface CreateServiceInput {
  customerId: number;
  /** The MSISDN, else the device identifier (≤ 255). */
  number: string;
  /** The ICCID. */
  number2?: string | null;
  serviceTypeId?: number | null;
  providerId?: number | null;
  effectiveDate?: RevioDate | null;
  activatedDate?: RevioDate | null;
  usagePlanGroupId?: number | null;
  packageId?: number | null;
  description?: string | null;
}

export interface CreateServiceProductInput {
  serviceId: number;
  productId: number;
  customerId?: number | null;
  rate?: number | null;
  /** Default 1. */
  quantity?: number | null;
  effectiveDate?: RevioDate | null;
  activatedDate?: RevioDate | null;
  packageId?: number | null;
  generateProration?: boolean | null;
}

export interface RevioService {
  serviceId: number;
  customerId: number;
  number: string;
  number2: string | null;
  serviceTypeId: number | null;
  providerId: number | null;
  /** `yyyy-MM-dd`. */
  activatedDate: string | null;
  effectiveDate: string | null;
  disconnectedDate: string | null;
  description: string | null;
}

export interface RevioServiceProduct {
  serviceProductId: number;
  serviceId: number;
  productId: number;
  customerId: number | null;
  rate: number | null;
  quantity: number;
  effectiveDate: string | null;
  activatedDate: string | null;
  /** Set once the product is disconnected (`status` DISCONNECTED, or a `disconnected_date`). */
  disconnected: boolean;
}

export interface RevioCustomer {
  customerId: number;
  accountNumber: string | null;
  name: string | null;
  status: string | null;
}

/** A customer as the inventory list gives it. */
export interface RevioCustomerRecord {
  customerId: number;
  accountNumber: string | null;
  name: string | null;
  active: boolean;
}

export interface RevioClient extends RevioCatalogueClient {
  createService(creds: RevioCredentials, input: CreateServiceInput): Promise<Call<{ serviceId: number }>>;
  createServiceProduct(
    creds: RevioCredentials,
    input: CreateServiceProductInput,
  ): Promise<Call<{ serviceProductId: number }>>;
  /** Every matching line, across pages; the exchange is the last page's. */
  findServices(
    creds: RevioCredentials,
    search: { customerId: number; number?: string },
  ): Promise<Call<RevioService[]>>;
  listServiceProducts(creds: RevioCredentials, serviceId: number): Promise<Call<RevioServiceProduct[]>>;
  /**
   * `DELETE /ServiceProduct`: the product ends (DISCONNECTED, not deleted) on `effectiveDate`. Rev.io
   * has no idempotency key: after a lost answer, look the product up before sending it again.
   */
  disconnectServiceProduct(
    creds: RevioCredentials,
    input: { serviceProductId: number; effectiveDate: RevioDate; generateProration: boolean },
  ): Promise<Call<void>>;
  /** JSON Patch of the service's `disconnected_date`: the line ends on that date. */
  disconnectService(
    creds: RevioCredentials,
    input: { serviceId: number; disconnectedDate: RevioDate },
  ): Promise<Call<void>>;
  /** A 404 is a `PermanentError` with status 404. */
  getCustomer(creds: RevioCredentials, customerId: number): Promise<Call<RevioCustomer>>;
  /** `GET /Customers`, one page (from 1) of up to `pageSize` (≤ 500) customers. */
  listCustomers(
    creds: RevioCredentials,
    page: { pageNumber: number; pageSize?: number },
  ): Promise<Call<{ customers: RevioCustomerRecord[]; hasMore: boolean }>>;
}

export function createRevioClient(deps: RevioClientDeps): RevioClient {
  const transport = createRevioTransport(deps);
  const { call, create, listAll } = transport;

  return {
    ...createRevioCatalogueReads(transport),

    async createService(creds, input) {
      const { value, exchange } = await create(creds, '/Services', {
        customer_id: input.customerId,
        number: input.number,
        number2: input.number2,
        service_type_id: input.serviceTypeId,
        provider_id: input.providerId,
        effective_date: wireDate(input.effectiveDate),
        activated_date: wireDate(input.activatedDate),
        usage_plan_group_id: input.usagePlanGroupId,
        package_id: input.packageId,
        description: input.description,
      });
      return { value: { serviceId: value }, exchange };
    },

    async createServiceProduct(creds, input) {
      const { value, exchange } = await create(creds, '/ServiceProduct', {
        service_id: input.serviceId,
        product_id: input.productId,
        customer_id: input.customerId,
        rate: input.rate,
        quantity: input.quantity ?? 1,
        effective_date: wireDate(input.effectiveDate),
        activated_date: wireDate(input.activatedDate),
        package_id: input.packageId,
        generate_proration: input.generateProration,
      });
      return { value: { serviceProductId: value }, exchange };
    },

    findServices: (creds, search) =>
      listAll(creds, 'Services', { customer_id: search.customerId, number: search.number }, toService),

    listServiceProducts: (creds, serviceId) =>
      listAll(creds, 'ServiceProduct', { service_id: serviceId }, toServiceProduct),

    async disconnectServiceProduct(creds, input) {
      const res = await call<unknown>(creds, 'DELETE', '/ServiceProduct', {
        service_product_id: input.serviceProductId,
        effective_date: wireDate(input.effectiveDate),
        generate_proration: input.generateProration,
      });
      return { value: undefined, exchange: res.exchange };
    },

    async disconnectService(creds, input) {
      const patch = [{ op: 'replace', path: '/disconnected_date', value: wireDate(input.disconnectedDate) }];
      const res = await call<unknown>(
        creds,
        'PATCH',
        `/Services/${input.serviceId}`,
        JSON.stringify(patch),
        'application/json-patch+json',
      );
      return { value: undefined, exchange: res.exchange };
    },

    async getCustomer(creds, customerId) {
      const res = await call<WireRecord | undefined>(creds, 'GET', `/Customers/${customerId}`);
      const record = res.body ?? {};
      return {
        value: {
          customerId: num(record.customer_id) ?? customerId,
          accountNumber: str(record.account_number),
          name: str(record.name),
          status: str(record.status),
        },
        exchange: res.exchange,
      };
    },

    async listCustomers(creds, page) {
      const query = new URLSearchParams({
        'search.page': String(page.pageNumber),
        'search.page_size': String(page.pageSize ?? REVIO_PAGE_SIZE),
      });
      const res = await call<unknown>(creds, 'GET', `/Customers?${query.toString()}`);
      const body = res.body as { has_more?: unknown; records?: unknown } | undefined;
      if (!Array.isArray(body?.records)) throw unexpected(res, 'no records in answer to GET /Customers');
      const customers = (body.records as WireRecord[]).map((r) => {
        const customerId = num(r.customer_id);
        if (customerId === null || !Number.isSafeInteger(customerId) || customerId <= 0) {
          throw unexpected(res, 'a customer without a customer_id in GET /Customers');
        }
        const status = str(r.status)?.toUpperCase();
        return {
          customerId,
          accountNumber: str(r.account_number),
          name: str(r.company_name) ?? str(r.name),
          // Either field may be the one a Rev.io instance fills (the list's fields are not published).
          active:
            typeof r.is_active === 'boolean' ? r.is_active : status === undefined || status === 'ACTIVE',
        };
      });
      return { value: { customers, hasMore: body.has_more === true }, exchange: res.exchange };
    },
  };
}

/** Rev.io wants calendar dates; the date part of an ISO string is the date the caller meant. */
function wireDate(date: RevioDate | null | undefined): string | undefined {
  if (date === null || date === undefined) return undefined;
  const text = date instanceof Date ? date.toISOString() : date;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) throw new TypeError(`not a calendar date: ${text}`);
  return text.slice(0, 10);
}

function toService(r: WireRecord): RevioService {
  return {
    serviceId: Number(r.service_id),
    customerId: Number(r.customer_id),
    number: str(r.number) ?? '',
    number2: str(r.number2),
    serviceTypeId: num(r.service_type_id),
    providerId: num(r.provider_id),
    activatedDate: dateOnly(r.activated_date),
    effectiveDate: dateOnly(r.effective_date),
    disconnectedDate: dateOnly(r.disconnected_date),
    description: str(r.description),
  };
}

function toServiceProduct(r: WireRecord): RevioServiceProduct {
  return {
    serviceProductId: Number(r.service_product_id),
    serviceId: Number(r.service_id),
    productId: Number(r.product_id),
    customerId: num(r.customer_id),
    rate: num(r.rate),
    quantity: num(r.quantity) ?? 1,
    effectiveDate: dateOnly(r.effective_date),
    activatedDate: dateOnly(r.activated_date),
    disconnected:
      (typeof r.status === 'string' && r.status.toUpperCase() === 'DISCONNECTED') ||
      dateOnly(r.disconnected_date) !== null,
  };
}

/** Rev.io answers `2024-05-01T00:00:00`; the time part carries nothing. */
function dateOnly(value: unknown): string | null {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : null;
}
