import { PermanentError } from '../errors.ts';
import {
  basicAuth,
  send,
  type Call,
  type CallObserver,
  type HttpRequest,
  type HttpResponse,
} from './http-client.ts';
import type { RateGate } from './rate-gate.ts';

/**
 * Rev.io (billing) REST v1: service lines and their products. Rev.io has no idempotency key, so a
 * create that failed as Retryable may still have happened: callers look the line up with
 * `findServices` before sending the create again.
 */

export interface RevioCredentials {
  /** simbind's credentials row id: names the account in the shared rate limit. */
  id: string;
  /** e.g. `https://api.revioapi.com/v1`. */
  baseUrl: string;
  username: string;
  clientCode: string;
  password: string;
  subscriptionKey: string;
  /** Rev.io allows 500 requests per minute per account unless the contract says otherwise. */
  rateLimit?: { requests: number; windowMs: number };
}

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

export interface RevioClient {
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
  /** The catalogue lists: every page (`search.page` while `has_more`); the exchange is the last page's. */
  listServiceTypes(creds: RevioCredentials): Promise<Call<RevioServiceType[]>>;
  listProducts(creds: RevioCredentials): Promise<Call<RevioProduct[]>>;
  listProviders(creds: RevioCredentials): Promise<Call<RevioProvider[]>>;
  listPackages(creds: RevioCredentials): Promise<Call<RevioPackage[]>>;
  listUsagePlanGroups(creds: RevioCredentials): Promise<Call<RevioUsagePlanGroup[]>>;
}

export interface RevioClientDeps {
  gate: RateGate;
  timeoutMs: number;
  observe?: CallObserver;
}

const SYSTEM = 'revio';
const DEFAULT_LIMIT = { requests: 500, windowMs: 60_000 };
/** Rev.io's largest page: a customer with 1,200 lines costs 3 requests of the 500-a-minute budget. */
const PAGE_SIZE = 500;

type WireRecord = Record<string, unknown>;

export function createRevioClient(deps: RevioClientDeps): RevioClient {
  async function call<T>(
    creds: RevioCredentials,
    method: HttpRequest['method'],
    path: string,
    body?: WireRecord | string,
    contentType?: string,
  ): Promise<HttpResponse<T>> {
    const limit = creds.rateLimit ?? DEFAULT_LIMIT;
    const release = await deps.gate.acquire({ key: `revio:${creds.id}`, ...limit });
    try {
      return await send<T>({
        system: SYSTEM,
        // Rev.io's paths hold numeric ids only (`/Customers/42`): the pattern names the operation.
        operation: `${method} ${path.split('?')[0]!.replace(/\/\d+(?=\/|$)/g, '/:id')}`,
        observe: deps.observe,
        method,
        url: `${creds.baseUrl.replace(/\/+$/, '')}${path}`,
        headers: {
          authorization: basicAuth(`${creds.username}@${creds.clientCode}`, creds.password),
          'ocp-apim-subscription-key': creds.subscriptionKey,
          ...(contentType ? { 'content-type': contentType } : {}),
        },
        body,
        timeoutMs: deps.timeoutMs,
        describeError,
      });
    } finally {
      await release();
    }
  }

  async function create(creds: RevioCredentials, path: string, body: WireRecord): Promise<Call<number>> {
    const res = await call<unknown>(creds, 'POST', path, body);
    const id = (res.body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw unexpected(res, `no id in answer to POST ${path}`);
    }
    return { value: id, exchange: res.exchange };
  }

  /** Follows `has_more`; a page that claims more but brings nothing would loop forever, so it fails. */
  async function listAll<T>(
    creds: RevioCredentials,
    resource: string,
    search: Record<string, string | number | undefined>,
    map: (record: WireRecord) => T,
  ): Promise<Call<T[]>> {
    const out: T[] = [];
    for (let pageNo = 1; ; pageNo++) {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(search)) {
        if (value !== undefined) query.set(`search.${name}`, String(value));
      }
      query.set('search.page', String(pageNo));
      query.set('search.page_size', String(PAGE_SIZE));
      const res = await call<unknown>(creds, 'GET', `/${resource}?${query.toString()}`);
      const body = res.body as { has_more?: unknown; records?: unknown } | undefined;
      if (!Array.isArray(body?.records)) {
        throw unexpected(res, `no records in answer to GET /${resource}`);
      }
      out.push(...(body.records as WireRecord[]).map(map));
      if (body.has_more !== true) return { value: out, exchange: res.exchange };
      if (body.records.length === 0) {
        throw unexpected(res, `GET /${resource} page ${pageNo} is empty but has_more`);
      }
    }
  }

  return {
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
        'search.page_size': String(page.pageSize ?? PAGE_SIZE),
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

  /** A catalogue list whose every record must carry a positive integer id: one without is no catalogue. */
  async function catalogue<T>(
    creds: RevioCredentials,
    list: keyof typeof REVIO_CATALOGUE_RESOURCES,
    idField: string,
    map: (record: WireRecord, id: number) => T,
  ): Promise<Call<T[]>> {
    const resource = REVIO_CATALOGUE_RESOURCES[list];
    let bad = false;
    const call = await listAll(creds, resource, {}, (r) => {
      const id = num(r[idField]);
      if (id === null || !Number.isSafeInteger(id) || id <= 0) bad = true;
      return map(r, id ?? 0);
    });
    if (bad) {
      throw new PermanentError(`${SYSTEM}: a record without a ${idField} in GET /${resource}`, {
        system: SYSTEM,
        status: call.exchange.status,
        exchange: call.exchange,
      });
    }
    return call;
  }
}

/**
 * Rev.io answers errors as `[{ ok, error, message }]`, its gateway as `{ statusCode, message }`,
 * and a proxy in front of it with HTML or plain text (then `send` falls back to the raw text).
 */
export function describeError(_status: number, body: unknown): { code?: string; message?: string } {
  const first: unknown = Array.isArray(body) ? body[0] : body;
  if (typeof first !== 'object' || first === null) return {};
  const { error, message } = first as { error?: unknown; message?: unknown };
  return {
    code: typeof error === 'string' ? error : undefined,
    message: typeof message === 'string' ? message : typeof error === 'string' ? error : undefined,
  };
}

/** A 2xx we cannot use: re-sending the same request would get the same answer. */
function unexpected(res: HttpResponse<unknown>, problem: string): PermanentError {
  return new PermanentError(`${SYSTEM} ${res.status}: ${problem}`, {
    system: SYSTEM,
    status: res.status,
    exchange: res.exchange,
  });
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

/** Rev.io instances name the flag `active` or `is_active`; a record without either is in use. */
function activeOf(r: WireRecord): boolean {
  if (typeof r.active === 'boolean') return r.active;
  if (typeof r.is_active === 'boolean') return r.is_active;
  return true;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Rev.io answers `2024-05-01T00:00:00`; the time part carries nothing. */
function dateOnly(value: unknown): string | null {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : null;
}
