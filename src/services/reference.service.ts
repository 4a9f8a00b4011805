import type { Database } from '../db/database.ts';
import {
  findDeviceOwner,
  findVisibleIdentifiersMatching,
  type VisibleCustomers,
} from '../db/repositories/device-access.repository.ts';
import {
  listDeviceHistory,
  type DeviceFilter,
  type DeviceHistoryRow,
  type Window,
} from '../db/repositories/device.repository.ts';
import { countFleet, listFleet, type FleetRow } from '../db/repositories/fleet.repository.ts';
import { isFleetCursorFor, type FleetSort } from '../db/repositories/fleet-sort.ts';
import { decodeCursor, encodeCursor, type Page } from '../http/pagination.ts';
import { readDevicePage, type DevicePage } from './device-page.ts';
import {
  customerExists,
  findSiteCustomer,
  listCarrierRatePlans,
  listCustomerRatePlans,
  listCustomers,
  listRatePools,
  listServiceProviders,
  listSites,
  serviceProviderExists,
  type CarrierRatePlanRow,
  type CustomerRatePlanRow,
  type CustomerRow,
  type RatePoolRow,
  type ServiceProviderRow,
  type SiteRow,
} from '../db/repositories/reference.repository.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { mayAccessCustomer, type Principal } from './principal.ts';

/**
 * The reference data the submission screen needs, read within the principal's tenant. An id of
 * another tenant, or of a customer the principal may not access, answers NotFound exactly like an
 * id that does not exist, so ids cannot be probed. Each call runs a fixed number of queries (≤ 3).
 *
 * One access rule for devices: a principal limited to some customers sees unassigned devices and
 * those of its customers; another customer's device does not exist for it — not in a list, not in
 * a filter, not by id.
 */
export interface ReferenceService {
  listServiceProviders(principal: Principal): Promise<ServiceProviderRow[]>;
  /**
   * A page of the devices matching `filter` (see DeviceFilter) that the principal may see, in
   * `sort` order (fleet-sort.ts), after `cursor` (a `nextCursor` of the same sort; else 400).
   */
  listDevices(
    principal: Principal,
    filter: DeviceFilter,
    page: { sort: FleetSort; cursor: string | undefined; limit: number },
  ): Promise<Page<FleetRow>>;
  /**
   * How many devices `listDevices` pages through for the same filter; counting stops at `upTo`
   * when given (then `exact` is false if it was reached).
   */
  countDevices(
    principal: Principal,
    filter: DeviceFilter,
    upTo?: number,
  ): Promise<{ count: number; exact: boolean }>;
  /** Everything the device page shows; NotFound for a device the principal may not see. */
  getDevice(principal: Principal, deviceId: number): Promise<DevicePage>;
  /** A device's history, newest first; NotFound for a device the principal may not see. */
  listDeviceHistory(principal: Principal, deviceId: number, window: Window): Promise<DeviceHistoryRow[]>;
  /**
   * "All devices matching this filter" of a bulk change, as identifiers: exactly the devices
   * `listDevices` pages through for the same filter (its checks included), at most `limit`.
   */
  findMatchingIdentifiers(
    principal: Principal,
    params: {
      serviceProviderId: number;
      kind: 'iccid' | 'msisdn';
      filter: Omit<DeviceFilter, 'serviceProviderId'>;
      limit: number;
    },
  ): Promise<string[]>;
  /** The customers the principal may access, ordered by id. */
  listCustomers(principal: Principal, q: string | undefined, window: Window): Promise<CustomerRow[]>;
  listSites(principal: Principal, customerId: number): Promise<SiteRow[]>;
  listCustomerRatePlans(principal: Principal): Promise<CustomerRatePlanRow[]>;
  listCarrierRatePlans(principal: Principal, serviceProviderId: number): Promise<CarrierRatePlanRow[]>;
  listRatePools(principal: Principal): Promise<RatePoolRow[]>;
  /**
   * Checks the ids a device filter names (provider of the tenant, customer and site the principal
   * may access). The bulk-change submission calls it before using the same filter.
   */
  assertDeviceFilterAllowed(principal: Principal, filter: DeviceFilter): Promise<void>;
}

export function createReferenceService(deps: { db: Database }): ReferenceService {
  const { db } = deps;

  const visibleTo = (principal: Principal): VisibleCustomers =>
    principal.allCustomers ? undefined : principal.customerIds;

  async function assertServiceProvider(principal: Principal, id: number): Promise<void> {
    if (!(await serviceProviderExists(db, principal.tenantId, id))) {
      throw new NotFoundError(`Service provider ${id} not found.`);
    }
  }

  async function assertCustomer(principal: Principal, id: number): Promise<void> {
    if (!mayAccessCustomer(principal, id) || !(await customerExists(db, principal.tenantId, id))) {
      throw new NotFoundError(`Customer ${id} not found.`);
    }
  }

  async function assertDeviceFilterAllowed(principal: Principal, filter: DeviceFilter): Promise<void> {
    if (filter.customerId !== undefined && filter.unassigned === true) {
      throw new InvalidInputError('A device cannot be owned by a customer and unassigned at once.', [
        { path: '/unassigned', message: 'must not be true together with customerId' },
      ]);
    }
    // A plan code is a provider's (its catalogue): without the provider, every other provider's
    // devices would be walked to find none (2 s a page on a 1,000,000-device fleet).
    if (filter.carrierRatePlan !== undefined && filter.serviceProviderId === undefined) {
      throw new InvalidInputError('A carrier plan belongs to a service provider: name it.', [
        { path: '/serviceProviderId', message: 'is required with carrierRatePlan' },
      ]);
    }
    if (filter.siteId !== undefined && filter.unassigned === true) {
      throw new InvalidInputError('A device at a site has an owner: it cannot be unassigned.', [
        { path: '/unassigned', message: 'must not be true together with siteId' },
      ]);
    }
    if (filter.q !== undefined && !/^\d{3,}$/.test(filter.q)) {
      throw new InvalidInputError('Search by at least 3 digits of an ICCID, MSISDN or IMEI.', [
        { path: '/q', message: 'must be at least 3 digits' },
      ]);
    }
    if (filter.serviceProviderId !== undefined) {
      await assertServiceProvider(principal, filter.serviceProviderId);
    }
    if (filter.customerId !== undefined) await assertCustomer(principal, filter.customerId);
    if (filter.siteId !== undefined) {
      const owner = await findSiteCustomer(db, principal.tenantId, filter.siteId);
      if (owner === undefined || !mayAccessCustomer(principal, owner)) {
        throw new NotFoundError(`Site ${filter.siteId} not found.`);
      }
    }
  }

  /** NotFound unless the tenant has the device and its owner (if any) is one the principal may access. */
  async function assertDeviceVisible(principal: Principal, deviceId: number): Promise<void> {
    const device = await findDeviceOwner(db, principal.tenantId, deviceId);
    const ownerHidden = device?.customerId != null && !mayAccessCustomer(principal, device.customerId);
    if (!device || ownerHidden) throw new NotFoundError(`Device ${deviceId} not found.`);
  }

  return {
    listServiceProviders: (principal) => listServiceProviders(db, principal.tenantId),

    async listDevices(principal, filter, { sort, cursor, limit }) {
      // The cursor is checked before any query: a cursor of another sort answers 400.
      const after = decodeCursor(cursor, isFleetCursorFor(sort));
      await assertDeviceFilterAllowed(principal, filter);
      const rows = await listFleet(db, {
        tenantId: principal.tenantId,
        visible: visibleTo(principal),
        filter,
        sort,
        cursor: after,
        limit: limit + 1,
      });
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return {
        items: items.map((r) => r.row),
        nextCursor: rows.length > limit && last ? encodeCursor(last.cursor) : null,
      };
    },

    async countDevices(principal, filter, upTo) {
      await assertDeviceFilterAllowed(principal, filter);
      const count = await countFleet(db, {
        tenantId: principal.tenantId,
        visible: visibleTo(principal),
        filter,
        upTo,
      });
      return { count, exact: upTo === undefined || count < upTo };
    },

    async getDevice(principal, deviceId) {
      const page = await readDevicePage(db, principal.tenantId, deviceId, visibleTo(principal));
      if (!page) throw new NotFoundError(`Device ${deviceId} not found.`);
      return page;
    },

    async listDeviceHistory(principal, deviceId, window) {
      await assertDeviceVisible(principal, deviceId);
      return listDeviceHistory(db, principal.tenantId, deviceId, window, visibleTo(principal));
    },

    async findMatchingIdentifiers(principal, { serviceProviderId, kind, filter, limit }) {
      const deviceFilter = { ...filter, serviceProviderId };
      await assertDeviceFilterAllowed(principal, deviceFilter);
      return findVisibleIdentifiersMatching(db, {
        tenantId: principal.tenantId,
        visible: visibleTo(principal),
        filter: deviceFilter,
        kind,
        limit,
      });
    },

    listCustomers: (principal, q, window) =>
      listCustomers(
        db,
        principal.tenantId,
        { q, onlyIds: principal.allCustomers ? undefined : principal.customerIds },
        window,
      ),

    async listSites(principal, customerId) {
      await assertCustomer(principal, customerId);
      return listSites(db, principal.tenantId, customerId);
    },

    listCustomerRatePlans: (principal) => listCustomerRatePlans(db, principal.tenantId),

    async listCarrierRatePlans(principal, serviceProviderId) {
      await assertServiceProvider(principal, serviceProviderId);
      return listCarrierRatePlans(db, principal.tenantId, serviceProviderId);
    },

    listRatePools: (principal) => listRatePools(db, principal.tenantId),

    assertDeviceFilterAllowed,
  };
}
