import { PermanentError } from '../errors.ts';
import type { Call, HttpResponse } from './http-client.ts';
import { faultOf } from './thingspace-callback.ts';
import {
  createThingSpaceCatalogueReads,
  type ThingSpaceCatalogueClient,
} from './thingspace-catalogue.client.ts';
import {
  createThingSpaceTransport,
  firstOf,
  isRecord,
  requiredString,
  unexpected,
  type ThingSpaceClientDeps,
  type ThingSpaceCredentials,
} from './thingspace-transport.ts';

export { parseCarrierCallback, type CarrierCallback } from './thingspace-callback.ts';
export type { ThingSpaceClientDeps, ThingSpaceCredentials } from './thingspace-transport.ts';

/**
 * Verizon ThingSpace Connectivity Management (M2M): plan changes, their status and callback, device
 * lookups and the account inventory. Every call goes through thingspace-transport.ts (the OAuth
 * token, the M2M session, the rate limit); the service plan list is in thingspace-catalogue.client.ts.
 */

const DEVICE_NOT_FOUND = /\.DeviceNotFound$/;

export type PlanChangeStatus = 'Pending' | 'Success' | 'Failed';

export interface PlanChangeRequest {
  iccid: string;
  servicePlan: string;
  /** ISO date-time at which the change should apply; immediately when absent. */
  takeEffect?: string;
}

export interface PlanChangeResult {
  status: PlanChangeStatus;
  faultCode?: string;
  faultString?: string;
}

export interface ThingSpaceDevice {
  accountName: string;
  servicePlan: string;
  state: string;
}

/** A device of an account's inventory, as `devices/actions/list` describes it. */
export interface ThingSpaceInventoryDevice {
  iccid: string;
  imei?: string;
  /** The device's number (`mdn`, else `msisdn`). */
  mdn?: string;
  servicePlan?: string;
  /** `active`, `suspend`, `deactive`, `preactive`, `pending resume`, … */
  state?: string;
}

export interface ThingSpaceInventoryPage {
  devices: ThingSpaceInventoryDevice[];
  /** Devices without an ICCID (asked for by other ids): counted, not kept. */
  withoutIccid: number;
  hasMoreData: boolean;
  /** The ICCID to ask after for the next page. */
  lastSeenIccid?: string;
}

export interface ThingSpaceClient extends ThingSpaceCatalogueClient {
  /** Starts an asynchronous plan change; the outcome comes by callback or `getRequestStatus`. */
  changeServicePlan(
    creds: ThingSpaceCredentials,
    change: PlanChangeRequest,
  ): Promise<Call<{ requestId: string }>>;
  getRequestStatus(creds: ThingSpaceCredentials, requestId: string): Promise<Call<PlanChangeResult>>;
  /** Registers `url` as the account's `CarrierService` callback (plan-change results). */
  registerCallback(
    creds: ThingSpaceCredentials,
    url: string,
  ): Promise<Call<{ accountName: string; name: string }>>;
  /** `undefined` when ThingSpace does not know the ICCID. */
  findDevice(creds: ThingSpaceCredentials, iccid: string): Promise<Call<ThingSpaceDevice | undefined>>;
  /** One page of the account's inventory, after the device last seen (the first page without). */
  listAccountDevices(
    creds: ThingSpaceCredentials,
    after?: { lastSeenIccid: string },
  ): Promise<Call<ThingSpaceInventoryPage>>;
}

export function createThingSpaceClient(deps: ThingSpaceClientDeps): ThingSpaceClient {
  const m2m = createThingSpaceTransport(deps);

  return {
    ...createThingSpaceCatalogueReads(m2m),

    async changeServicePlan(creds, change) {
      const res = await m2m<unknown>(creds, {
        method: 'PUT',
        operation: 'PUT /m2m/v1/devices/actions/plan',
        path: '/m2m/v1/devices/actions/plan',
        body: {
          devices: [{ deviceIds: [{ kind: 'iccid', id: change.iccid }] }],
          servicePlan: change.servicePlan,
          takeEffect: change.takeEffect,
        },
      });
      return { value: { requestId: requiredString(res, 'requestId') }, exchange: res.exchange };
    },

    async getRequestStatus(creds, requestId) {
      const account = encodeURIComponent(creds.accountName);
      const res = await m2m<unknown>(creds, {
        method: 'GET',
        operation: 'GET /m2m/v1/accounts/:account/requests/:requestId/status',
        path: `/m2m/v1/accounts/${account}/requests/${encodeURIComponent(requestId)}/status`,
      });
      const body = isRecord(res.body) ? res.body : {};
      if (!isPlanChangeStatus(body.status)) throw unexpected(`request status '${String(body.status)}'`, res);
      return { value: { status: body.status, ...faultOf(body.faultResponse) }, exchange: res.exchange };
    },

    async registerCallback(creds, url) {
      const res = await m2m<unknown>(creds, {
        method: 'POST',
        operation: 'POST /m2m/v1/callbacks/:account',
        path: `/m2m/v1/callbacks/${encodeURIComponent(creds.accountName)}`,
        body: { name: 'CarrierService', url },
      });
      return { value: { accountName: creds.accountName, name: 'CarrierService' }, exchange: res.exchange };
    },

    async findDevice(creds, iccid) {
      let res: HttpResponse<unknown>;
      try {
        res = await m2m<unknown>(creds, {
          method: 'POST',
          operation: 'POST /m2m/v1/devices/actions/list',
          path: '/m2m/v1/devices/actions/list',
          body: { deviceId: { kind: 'iccid', id: iccid } },
        });
      } catch (error) {
        if (
          error instanceof PermanentError &&
          error.exchange &&
          DEVICE_NOT_FOUND.test(error.remoteCode ?? '')
        ) {
          return { value: undefined, exchange: error.exchange };
        }
        throw error;
      }
      const device = isRecord(res.body) ? firstOf(res.body.devices) : undefined;
      if (device === undefined) return { value: undefined, exchange: res.exchange };
      const carrier = isRecord(device) ? firstOf(device.carrierInformations) : undefined;
      if (!isRecord(device) || typeof device.accountName !== 'string' || !isRecord(carrier)) {
        throw unexpected('device without accountName or carrierInformations', res);
      }
      const value = {
        accountName: device.accountName,
        servicePlan: typeof carrier.servicePlan === 'string' ? carrier.servicePlan : '',
        state: typeof carrier.state === 'string' ? carrier.state : '',
      };
      return { value, exchange: res.exchange };
    },

    async listAccountDevices(creds, after) {
      const res = await m2m<unknown>(creds, {
        method: 'POST',
        operation: 'POST /m2m/v1/devices/actions/list',
        path: '/m2m/v1/devices/actions/list',
        body: {
          accountName: creds.accountName,
          ...(after ? { lastSeenDeviceKind: 'iccid', lastSeenDeviceId: after.lastSeenIccid } : {}),
        },
      });
      const body = isRecord(res.body) ? res.body : {};
      if (!Array.isArray(body.devices) || typeof body.hasMoreData !== 'boolean') {
        throw unexpected('inventory page without devices or hasMoreData', res);
      }
      const devices: ThingSpaceInventoryDevice[] = [];
      let withoutIccid = 0;
      let lastSeenIccid: string | undefined;
      for (const entry of body.devices as unknown[]) {
        const ids = isRecord(entry) && Array.isArray(entry.deviceIds) ? (entry.deviceIds as unknown[]) : [];
        const idOf = (kind: string) => {
          const found = ids.find((d) => isRecord(d) && String(d.kind).toLowerCase() === kind);
          return isRecord(found) && typeof found.id === 'string' ? found.id : undefined;
        };
        const iccid = idOf('iccid');
        if (iccid === undefined) {
          withoutIccid += 1;
          continue;
        }
        lastSeenIccid = iccid;
        const carrier = isRecord(entry) ? firstOf(entry.carrierInformations) : undefined;
        const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
        const mdn = idOf('mdn') ?? idOf('msisdn');
        const imei = idOf('imei');
        const servicePlan = isRecord(carrier) ? text(carrier.servicePlan) : undefined;
        const state = isRecord(carrier) ? text(carrier.state) : undefined;
        devices.push({
          iccid,
          ...(imei !== undefined ? { imei } : {}),
          ...(mdn !== undefined ? { mdn } : {}),
          ...(servicePlan !== undefined ? { servicePlan } : {}),
          ...(state !== undefined ? { state } : {}),
        });
      }
      if (body.hasMoreData && lastSeenIccid === undefined) {
        throw unexpected('an inventory page with more to come but no ICCID to continue after', res);
      }
      return {
        value: {
          devices,
          withoutIccid,
          hasMoreData: body.hasMoreData,
          ...(lastSeenIccid !== undefined ? { lastSeenIccid } : {}),
        },
        exchange: res.exchange,
      };
    },
  };
}

function isPlanChangeStatus(value: unknown): value is PlanChangeStatus {
  return value === 'Pending' || value === 'Success' || value === 'Failed';
}
