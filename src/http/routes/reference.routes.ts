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
import {
  CustomerList,
  CustomerListQuery,
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

  app.get(
    '/devices',
    {
      schema: {
        tags,
        operationId: 'listDevices',
        summary: 'Devices matching a filter, by id',
        querystring: DeviceListQuery,
        response: {
          200: described(DeviceList, 'A page of devices.'),
          ...errorResponses({
            400: 'A filter, `limit` or `cursor` is invalid, or `customerId` and `unassigned=true` are both given.',
            401: UNAUTHENTICATED,
            404: 'The service provider, or the customer among those the caller may access, does not exist.',
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { limit, cursor, ...filter } = request.query;
      return paged({ limit, cursor }, (window) => reference.listDevices(principal, filter, window));
    },
  );

  app.get(
    '/devices/:id/history',
    {
      schema: {
        tags,
        operationId: 'getDeviceHistory',
        summary: "A device's ownership and plan changes, newest first",
        params: IdParams,
        querystring: Type.Object({ ...ListQuery }),
        response: {
          200: described(DeviceHistoryList, 'A page of history entries.'),
          ...errorResponses({
            400: 'The id, `limit` or `cursor` is invalid.',
            401: UNAUTHENTICATED,
            404: 'No such device in the tenant.',
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
