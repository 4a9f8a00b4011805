import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import type { Services } from '../../wiring.ts';
import { principalOf } from '../auth.ts';
import { InvalidInputError } from '../../errors.ts';
import { DEFAULT_LIMIT, decodeCursor, isIdCursor, toPage, type Page } from '../pagination.ts';
import {
  described,
  errorResponses,
  IdParams,
  ListQuery,
  UNAUTHENTICATED,
} from '../schemas/common.schemas.ts';
import { DevicePage } from '../schemas/device-page.schemas.ts';
import { parseFleetSort } from '../../db/repositories/fleet-sort.ts';
import {
  CustomerList,
  CustomerListQuery,
  DeviceCount,
  DeviceCountQuery,
  DeviceHistoryList,
  DeviceList,
  DeviceListQuery,
  RatePlanList,
  RatePlanQuery,
  RatePoolList,
  ServiceProviderList,
  SiteList,
} from '../schemas/reference.schemas.ts';

/** What the submission screen picks from. Every route needs a principal and reads its tenant only. */
export function referenceRoutes(app: TypedApp, services: Services): void {
  const { reference } = services;
  const tags = ['reference data'];

  app.get(
    '/service-providers',
    {
      schema: {
        tags,
        operationId: 'listServiceProviders',
        summary: 'Service providers (carrier accounts)',
        response: {
          200: described(ServiceProviderList, "All of the tenant's service providers, in one page."),
          ...errorResponses({ 401: UNAUTHENTICATED }),
        },
      },
    },
    async (request) => unpaged(await reference.listServiceProviders(principalOf(request))),
  );

  const FILTER_400 =
    'A filter is invalid, `customerId` or `siteId` comes with `unassigned=true`, or `carrierRatePlan` without ' +
    '`serviceProviderId`: `error.details` names it.';
  const FILTER_404 =
    'The service provider, or the customer or site among those the caller may access, does not exist.';

  app.get(
    '/devices',
    {
      schema: {
        tags,
        operationId: 'listDevices',
        summary: 'The fleet: devices matching a filter, in any order, a page at a time',
        description:
          'Keyset pages: pass `nextCursor` back as `cursor` with the same filter and `sort`. Each row carries the ' +
          'names a screen shows (owner, site) beside their ids. A caller limited to some customers sees unassigned ' +
          'devices and those of its customers. A bulk change submitted with the same `filter` selects exactly these devices.',
        querystring: DeviceListQuery,
        response: {
          200: described(DeviceList, 'A page of devices.'),
          ...errorResponses({
            400: `${FILTER_400} Also: a bad limit, or a cursor not issued for this sort.`,
            401: UNAUTHENTICATED,
            404: FILTER_404,
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { limit, cursor, sort, ...filter } = request.query;
      const page = await reference.listDevices(principal, filter, {
        sort: parseFleetSort(sort),
        cursor,
        limit: limit ?? DEFAULT_LIMIT,
      });
      return { ...page, items: page.items.map((d) => ({ ...d, updatedAt: d.updatedAt.toISOString() })) };
    },
  );

  app.get(
    '/devices/count',
    {
      schema: {
        tags,
        operationId: 'countDevices',
        summary: 'How many devices match a filter',
        description:
          'The same filter as `GET /devices`, counted (for "select all N matching"). Milliseconds for a filter an ' +
          'index narrows (a plan, a prefix, a site, a small customer); about 0.5 s per million devices otherwise, ' +
          'unless `upTo` stops it sooner.',
        querystring: DeviceCountQuery,
        response: {
          200: described(DeviceCount, 'The number of matching devices.'),
          ...errorResponses({ 400: FILTER_400, 401: UNAUTHENTICATED, 404: FILTER_404 }),
        },
      },
    },
    async (request) => {
      const { upTo, ...filter } = request.query;
      return reference.countDevices(principalOf(request), filter, upTo);
    },
  );

  app.get(
    '/devices/:id',
    {
      schema: {
        tags,
        operationId: 'getDevice',
        summary: 'One device: identifiers, owner, plans, Rev.io lines, scheduled changes, bulk changes',
        params: IdParams,
        response: {
          200: described(DevicePage, 'The device.'),
          ...errorResponses({
            400: 'The id is not a positive integer.',
            401: UNAUTHENTICATED,
            404: 'No such device in the tenant, or it belongs to a customer the caller may not access.',
          }),
        },
      },
    },
    async (request) => reference.getDevice(principalOf(request), request.params.id),
  );

  app.get(
    '/devices/:id/history',
    {
      schema: {
        tags,
        operationId: 'getDeviceHistory',
        summary: "A device's changes step by step (before → after), newest first",
        description:
          'One entry per step that changed the device (ownership, customer plan, carrier plan, Rev.io line), with the ' +
          'bulk change that made it. The states name the customer, site, plan and pool beside their ids.',
        params: IdParams,
        querystring: Type.Object({ ...ListQuery }),
        response: {
          200: described(DeviceHistoryList, 'A page of history entries.'),
          ...errorResponses({
            400: 'The id, `limit` or `cursor` is invalid.',
            401: UNAUTHENTICATED,
            404: 'No such device in the tenant, or it belongs to a customer the caller may not access.',
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const page = await paged(request.query, (window) =>
        reference.listDeviceHistory(principal, request.params.id, window),
      );
      return {
        ...page,
        items: page.items.map((entry) => ({ ...entry, changedAt: entry.changedAt.toISOString() })),
      };
    },
  );

  app.get(
    '/customers',
    {
      schema: {
        tags,
        operationId: 'listCustomers',
        summary: 'Customers the caller may access, by id',
        querystring: CustomerListQuery,
        response: {
          200: described(CustomerList, 'A page of customers.'),
          ...errorResponses({ 400: '`q`, `limit` or `cursor` is invalid.', 401: UNAUTHENTICATED }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return paged(request.query, (window) => reference.listCustomers(principal, request.query.q, window));
    },
  );

  app.get(
    '/customers/:id/sites',
    {
      schema: {
        tags,
        operationId: 'listCustomerSites',
        summary: "A customer's sites, the default first",
        params: IdParams,
        response: {
          200: described(SiteList, "All of the customer's sites, in one page."),
          ...errorResponses({
            400: 'The id is not a positive integer.',
            401: UNAUTHENTICATED,
            404: 'No such customer among those the caller may access.',
          }),
        },
      },
    },
    async (request) => unpaged(await reference.listSites(principalOf(request), request.params.id)),
  );

  app.get(
    '/rate-plans',
    {
      schema: {
        tags,
        operationId: 'listRatePlans',
        summary: 'Customer rate plans, or the carrier rate plans of a service provider',
        querystring: RatePlanQuery,
        response: {
          200: described(RatePlanList, 'All the rate plans of that kind, in one page.'),
          ...errorResponses({
            400: '`kind` is missing or unknown, or `kind=carrier` comes without `serviceProviderId`.',
            401: UNAUTHENTICATED,
            404: 'No such service provider in the tenant.',
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { kind, serviceProviderId } = request.query;
      if (kind === 'customer') return unpaged(await reference.listCustomerRatePlans(principal));
      if (serviceProviderId === undefined) {
        throw new InvalidInputError('Carrier rate plans belong to a service provider: name it.', [
          { path: '/serviceProviderId', message: 'is required when kind is carrier' },
        ]);
      }
      return unpaged(await reference.listCarrierRatePlans(principal, serviceProviderId));
    },
  );

  app.get(
    '/rate-pools',
    {
      schema: {
        tags,
        operationId: 'listRatePools',
        summary: 'Customer rate pools',
        response: {
          200: described(RatePoolList, "All of the tenant's rate pools, in one page."),
          ...errorResponses({ 401: UNAUTHENTICATED }),
        },
      },
    },
    async (request) => unpaged(await reference.listRatePools(principalOf(request))),
  );
}

/** Short lists (a tenant has a handful of providers, sites, plans) come whole, in the list shape. */
function unpaged<T>(items: T[]): Page<T> {
  return { items, nextCursor: null };
}

/**
 * Keyset page by id: asks for one row more than `limit` to know whether another page follows.
 * The cursor is checked before the query runs (a bad one answers 400).
 */
async function paged<T extends { id: number }>(
  query: { limit?: number | undefined; cursor?: string | undefined },
  fetch: (window: { limit: number; afterId: number | undefined }) => Promise<T[]>,
): Promise<Page<T>> {
  const limit = query.limit ?? DEFAULT_LIMIT;
  const afterId = decodeCursor(query.cursor, isIdCursor)?.id;
  return toPage(await fetch({ limit: limit + 1, afterId }), limit, (row) => ({ id: row.id }));
}
