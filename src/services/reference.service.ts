import type { Database } from '../db/database.ts';
import {
  findDeviceOwner,
  findVisibleIdentifiersMatching,
  listVisibleDevices,
  type VisibleCustomers,
} from '../db/repositories/device-access.repository.ts';
import {
  listDeviceHistory,
  type DeviceFilter,
  type DeviceHistoryRow,
  type DeviceListRow,
  type Window,
} from '../db/repositories/device.repository.ts';
import {
  customerExists,
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
  /** Devices matching `filter` (see DeviceFilter) that the principal may see, ordered by id. */
  listDevices(principal: Principal, filter: DeviceFilter, window: Window): Promise<DeviceListRow[]>;
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
   * Checks the ids a device filter names (provider of the tenant, customer the principal may
   * access). The bulk-change submission calls it before using the same filter.
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
    if (filter.q !== undefined && !/^\d{3,}$/.test(filter.q)) {
      throw new InvalidInputError('Search by at least 3 digits of an ICCID, MSISDN or IMEI.', [
        { path: '/q', message: 'must be at least 3 digits' },
      ]);
    }
    if (filter.serviceProviderId !== undefined) {
      await assertServiceProvider(principal, filter.serviceProviderId);
    }
    if (filter.customerId !== undefined) await assertCustomer(principal, filter.customerId);
  }

  return {
    listServiceProviders: (principal) => listServiceProviders(db, principal.tenantId),

    async listDevices(principal, filter, window) {
      await assertDeviceFilterAllowed(principal, filter);
      return listVisibleDevices(db, principal.tenantId, visibleTo(principal), filter, window);
    },

    async listDeviceHistory(principal, deviceId, window) {
      const device = await findDeviceOwner(db, principal.tenantId, deviceId);
      const ownerHidden = device?.customerId != null && !mayAccessCustomer(principal, device.customerId);
      if (!device || ownerHidden) throw new NotFoundError(`Device ${deviceId} not found.`);
      return listDeviceHistory(db, principal.tenantId, deviceId, window);
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
