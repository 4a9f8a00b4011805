import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { createPlanChangeProcessor } from './plan-changes.ts';
import { applyDuePlan, TS_ERRORS, type DeviceId, type SimDevice, type ThingSpaceState } from './state.ts';
import { isDeviceId, isRecord, tsError } from './wire.ts';

/** The Connectivity Management calls simbind makes; the guard has already checked both tokens. */

type PlanChanges = ReturnType<typeof createPlanChangeProcessor>;

/** Devices per inventory page. */
export const INVENTORY_PAGE_SIZE = 500;

const CALLBACK_SERVICES = new Set([
  'CarrierService',
  'DeviceUsage',
  'DiagnosticsService',
  'ExternalProvisioningChanges',
]);

export function registerM2mRoutes(
  app: FastifyInstance,
  state: ThingSpaceState,
  planChanges: PlanChanges,
): void {
  app.post('/api/m2m/v1/devices/actions/list', async (request, reply) => {
    const body = isRecord(request.body) ? request.body : {};
    if (body.deviceId !== undefined) {
      if (!isDeviceId(body.deviceId))
        return tsError(reply, 400, TS_ERRORS.invalidInput, 'deviceId must be { kind, id }.');
      const device = state.findDevice(body.deviceId);
      return { hasMoreData: false, devices: device ? [deviceView(device)] : [] };
    }
    // The account's inventory, a page at a time: ask again after the last device seen while
    // `hasMoreData` (ThingSpace's paging fields, inferred; only ICCIDs page here).
    if (typeof body.accountName !== 'string' || body.accountName === '') {
      return tsError(reply, 400, TS_ERRORS.invalidInput, 'accountName or deviceId is required.');
    }
    const { lastSeenDeviceKind: kind, lastSeenDeviceId: after } = body;
    if ((kind === undefined) !== (after === undefined)) {
      return tsError(
        reply,
        400,
        TS_ERRORS.invalidInput,
        'lastSeenDeviceKind and lastSeenDeviceId go together.',
      );
    }
    if (kind !== undefined && (kind !== 'iccid' || typeof after !== 'string')) {
      return tsError(reply, 400, TS_ERRORS.invalidInput, "lastSeenDeviceKind must be 'iccid' with its id.");
    }
    const page = state.inventory(body.accountName, after as string | undefined, INVENTORY_PAGE_SIZE);
    return { hasMoreData: page.hasMoreData, devices: page.devices.map(deviceView) };
  });

  app.put('/api/m2m/v1/devices/actions/plan', async (request, reply) => {
    const body = request.body;
    const groups = isRecord(body) && Array.isArray(body.devices) ? body.devices.map(deviceIdsOf) : [];
    if (!isRecord(body) || groups.length === 0 || groups.some((g) => g === undefined)) {
      return tsError(
        reply,
        400,
        TS_ERRORS.invalidInput,
        'devices must be a non-empty list of { deviceIds: [{ kind, id }] }.',
      );
    }
    if (typeof body.servicePlan !== 'string' || body.servicePlan === '') {
      return tsError(reply, 400, TS_ERRORS.invalidInput, 'servicePlan is required.');
    }
    if (body.takeEffect !== undefined && typeof body.takeEffect !== 'string') {
      return tsError(reply, 400, TS_ERRORS.invalidInput, 'takeEffect must be a date-time string.');
    }
    const deviceIds = groups as DeviceId[][];

    // Magic ICCIDs answer before the device is looked up, so they need not be seeded.
    const iccids = deviceIds
      .flat()
      .filter((id) => id.kind.toLowerCase() === 'iccid')
      .map((id) => id.id);
    if (iccids.some((iccid) => iccid.endsWith('0500'))) {
      return tsError(reply, 500, TS_ERRORS.unexpected, 'Unexpected error occurred.');
    }
    const throttled = iccids.find((iccid) => iccid.endsWith('0429'));
    if (throttled !== undefined && state.firstThrottle(throttled)) {
      reply.header('retry-after', '1');
      return tsError(reply, 429, TS_ERRORS.tooManyRequests, 'Too many requests.');
    }

    const devices: SimDevice[] = [];
    for (const ids of deviceIds) {
      const device = ids.map((id) => state.findDevice(id)).find((d) => d !== undefined);
      if (!device)
        return tsError(reply, 400, TS_ERRORS.deviceNotFound, `Device ${ids[0]?.id ?? ''} not found.`);
      devices.push(device);
    }

    const requestId = randomUUID();
    planChanges.submit({
      requestId,
      accountName: devices[0]?.accountName ?? '',
      deviceIds,
      iccids: devices.map((d) => d.iccid),
      servicePlan: body.servicePlan,
      takeEffect: body.takeEffect,
      status: 'Pending',
      faultResponse: undefined,
      createdAt: new Date().toISOString(),
      resolvedAt: undefined,
    });
    return { requestId };
  });

  app.get<{ Params: { accountName: string; requestId: string } }>(
    '/api/m2m/v1/accounts/:accountName/requests/:requestId/status',
    async (request, reply) => {
      const { accountName, requestId } = request.params;
      const change = state.findRequest(requestId);
      if (!change || change.accountName !== accountName) {
        return tsError(
          reply,
          400,
          TS_ERRORS.requestNotFound,
          `Request ${requestId} not found for ${accountName}.`,
        );
      }
      // The real poll answers `{ requestId, status }`; the fault is added so a poller can tell why.
      return {
        requestId,
        status: change.status,
        ...(change.faultResponse ? { faultResponse: change.faultResponse } : {}),
      };
    },
  );

  app.post<{ Params: { accountName: string } }>(
    '/api/m2m/v1/callbacks/:accountName',
    async (request, reply) => {
      const body = request.body;
      if (!isRecord(body) || typeof body.name !== 'string' || !CALLBACK_SERVICES.has(body.name)) {
        return tsError(
          reply,
          400,
          TS_ERRORS.invalidInput,
          `name must be one of ${[...CALLBACK_SERVICES].join(', ')}.`,
        );
      }
      if (typeof body.url !== 'string' || !/^https?:\/\//.test(body.url) || !URL.canParse(body.url)) {
        return tsError(reply, 400, TS_ERRORS.invalidInput, 'url must be an http(s) URL.');
      }
      state.registerCallback(request.params.accountName, body.name, body.url);
      return { accountName: request.params.accountName, name: body.name };
    },
  );
}

function deviceIdsOf(entry: unknown): DeviceId[] | undefined {
  if (!isRecord(entry) || !Array.isArray(entry.deviceIds) || entry.deviceIds.length === 0) return undefined;
  return entry.deviceIds.every(isDeviceId) ? entry.deviceIds : undefined;
}

function deviceView(found: SimDevice) {
  const device = applyDuePlan(found);
  const deviceIds: DeviceId[] = [{ kind: 'iccid', id: device.iccid }];
  if (device.imei) deviceIds.push({ kind: 'imei', id: device.imei });
  if (device.mdn) deviceIds.push({ kind: 'mdn', id: device.mdn });
  return {
    accountName: device.accountName,
    carrierInformations: [
      { carrierName: 'Verizon Wireless', servicePlan: device.servicePlan, state: device.state },
    ],
    connected: false,
    deviceIds,
    extendedAttributes: [],
    groupNames: [],
  };
}
