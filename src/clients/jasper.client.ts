import { PermanentError } from '../errors.ts';
import type { Call, HttpRequest } from './http-client.ts';
import { createJasperCatalogueReads, type JasperCatalogueClient } from './jasper-catalogue.client.ts';
import {
  createJasperTransport,
  JASPER_SYSTEM as SYSTEM,
  unexpectedAnswer,
  type JasperClientDeps,
  type JasperCredentials,
} from './jasper-transport.ts';

export type { JasperClientDeps, JasperCredentials } from './jasper-transport.ts';

/**
 * Cisco IoT Control Center (Jasper) REST API, `rws/api/v1`: a device, the inventory, device edits.
 * Every call goes through jasper-transport.ts (one at a time per account, 5 per second); the rate
 * and communication plan lists are in jasper-catalogue.client.ts.
 */

/** What we send; Control Center reports more statuses (`ACTIVATION_READY`, `REPLACED`, …). */
export type JasperDeviceStatus = 'ACTIVATED' | 'DEACTIVATED' | 'INVENTORY' | 'TEST_READY' | 'RETIRED';

type AccountCustomField = `accountCustom${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10}`;

export type JasperDevice = {
  iccid: string;
  status: string;
  imsi?: string;
  msisdn?: string;
  imei?: string;
  ratePlan?: string;
  communicationPlan?: string;
  customer?: string;
  dateActivated?: string;
  dateUpdated?: string;
} & Partial<Record<AccountCustomField, string>>;

export interface JasperDeviceEdit {
  status?: JasperDeviceStatus;
  ratePlan?: string;
  communicationPlan?: string;
  customer?: string;
  /** When the change takes effect, at most 180 days ahead; a `Date` is sent as its UTC day. */
  effectiveDate?: Date | string;
}

export interface JasperEditResult {
  iccid: string;
  /** Control Center accepted a future-dated change (202) instead of applying it now (200). */
  scheduled: boolean;
}

/** One page of an account's inventory: devices changed since a time, oldest change first. */
export interface JasperInventoryPage {
  devices: JasperDevice[];
  lastPage: boolean;
}

/** Control Center's largest inventory page. */
export const JASPER_INVENTORY_PAGE_SIZE = 50;

export interface JasperClient extends JasperCatalogueClient {
  getDevice(creds: JasperCredentials, iccid: string): Promise<Call<JasperDevice>>;
  /**
   * `GET /devices?modifiedSince=…&pageSize=…&pageNumber=…`: the devices changed since `modifiedSince`
   * (at most a year back), one page (from 1).
   */
  listDevices(
    creds: JasperCredentials,
    query: { modifiedSince: Date; pageNumber: number; pageSize?: number },
  ): Promise<Call<JasperInventoryPage>>;
  editDevice(
    creds: JasperCredentials,
    iccid: string,
    edit: JasperDeviceEdit,
  ): Promise<Call<JasperEditResult>>;
}

const DEVICE_TEXT_FIELDS: readonly Exclude<keyof JasperDevice, 'iccid' | 'status'>[] = [
  'imsi',
  'msisdn',
  'imei',
  'ratePlan',
  'communicationPlan',
  'customer',
  'dateActivated',
  'dateUpdated',
  ...Array.from({ length: 10 }, (_, i) => `accountCustom${i + 1}` as AccountCustomField),
];

export function createJasperClient(deps: JasperClientDeps): JasperClient {
  const request = createJasperTransport(deps);

  /** A call about one device: success means a 2xx carrying a non-empty `iccid`. */
  const call = async <T>(
    creds: JasperCredentials,
    req: Pick<HttpRequest, 'method' | 'body'> & { iccid: string },
    parse: (status: number, body: unknown) => T | undefined,
  ): Promise<Call<T>> => {
    if (req.iccid.trim() === '') throw new PermanentError('jasper: empty ICCID', { system: SYSTEM });
    const res = await request(creds, {
      method: req.method,
      operation: `${req.method} /devices/:iccid`,
      path: `/devices/${encodeURIComponent(req.iccid)}`,
      body: req.body,
    });
    const value = parse(res.status, res.body);
    if (value === undefined) throw unexpectedAnswer(res, 'answer without an iccid');
    return { value, exchange: res.exchange };
  };

  return {
    ...createJasperCatalogueReads(request),

    getDevice: (creds, iccid) => call(creds, { method: 'GET', iccid }, (_status, body) => parseDevice(body)),

    listDevices: async (creds, query) => {
      const params = new URLSearchParams({
        modifiedSince: query.modifiedSince.toISOString(),
        pageSize: String(query.pageSize ?? JASPER_INVENTORY_PAGE_SIZE),
        pageNumber: String(query.pageNumber),
      });
      const res = await request(creds, {
        method: 'GET',
        operation: 'GET /devices',
        path: `/devices?${params.toString()}`,
      });
      const body = res.body as { devices?: unknown; lastPage?: unknown } | undefined;
      if (!Array.isArray(body?.devices) || typeof body.lastPage !== 'boolean') {
        throw unexpectedAnswer(res, 'an inventory page without devices and lastPage');
      }
      const devices = body.devices.map(parseDevice);
      if (devices.some((d) => d === undefined)) {
        throw unexpectedAnswer(res, 'an inventory device without an iccid');
      }
      return {
        value: { devices: devices as JasperDevice[], lastPage: body.lastPage },
        exchange: res.exchange,
      };
    },

    editDevice: async (creds, iccid, edit) => {
      const { status, ratePlan, communicationPlan, customer } = edit;
      const changes = { status, ratePlan, communicationPlan, customer };
      if (Object.values(changes).every((v) => v === undefined)) {
        throw new PermanentError('jasper: edit without any change', { system: SYSTEM });
      }
      const effectiveDate = edit.effectiveDate === undefined ? undefined : toYmd(edit.effectiveDate);
      const body = { ...changes, effectiveDate };
      return await call(creds, { method: 'PUT', iccid, body }, (httpStatus, res) => {
        const echoed = iccidOf(res);
        return echoed === undefined ? undefined : { iccid: echoed, scheduled: httpStatus === 202 };
      });
    },
  };
}

function iccidOf(body: unknown): string | undefined {
  const iccid = typeof body === 'object' && body !== null ? (body as { iccid?: unknown }).iccid : undefined;
  return typeof iccid === 'string' && iccid.trim() !== '' ? iccid : undefined;
}

function parseDevice(body: unknown): JasperDevice | undefined {
  const iccid = iccidOf(body);
  if (iccid === undefined) return undefined;
  const raw = body as Record<string, unknown>;
  const device: JasperDevice = { iccid, status: typeof raw.status === 'string' ? raw.status : '' };
  for (const field of DEVICE_TEXT_FIELDS) {
    const value = raw[field];
    if (typeof value === 'string') device[field] = value;
  }
  return device;
}

/** Control Center wants `yyyy-MM-dd`; a `Date` is taken as its UTC calendar day. */
function toYmd(value: Date | string): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) {
    throw new PermanentError(`jasper: invalid effectiveDate ${String(value)}`, { system: SYSTEM });
  }
  return date.toISOString().slice(0, 10);
}
