import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import { findServiceProvider } from '../db/repositories/assignment.repository.ts';
import type { DeviceStatus } from '../db/schema.ts';
import { ForbiddenError, InvalidInputError, NotFoundError, PayloadTooLargeError } from '../errors.ts';
import { isIccid } from './identifiers.ts';
import { isCalendarDate } from './assignment/request.ts';
import type { Principal } from './principal.ts';

/**
 * Devices from a CSV file (issue 11, item 5: for carriers without an API, and for a first load):
 * every row is checked first, and one bad row refuses the whole file with every row's problems
 * (nothing written); a valid file is upserted in ONE statement by the natural key (provider, ICCID).
 * An import only writes carrier facts (MSISDN, IMEI, status, plans, activation date): it never touches
 * what simbind itself manages (ownership, customer plans).
 */

export const IMPORT_COLUMNS = [
  'iccid',
  'msisdn',
  'imei',
  'status',
  'carrier_rate_plan',
  'communication_plan',
  'activated_at',
] as const;
const STATUSES: DeviceStatus[] = [
  'active',
  'inactive',
  'suspended',
  'deactivated',
  'test_ready',
  'inventory',
];
export const MAX_IMPORT_ROWS = 100_000;
/** Problems listed in the answer; the count says how many there were in all. */
const MAX_PROBLEMS = 200;

export interface ImportResult {
  rows: number;
  created: number;
  updated: number;
}

export interface DeviceImportService {
  importCsv(principal: Principal, serviceProviderId: number, csv: string): Promise<ImportResult>;
}

interface Row {
  iccid: string;
  msisdn: string | null;
  imei: string | null;
  status: DeviceStatus;
  carrierRatePlan: string | null;
  communicationPlan: string | null;
  activatedAt: string | null;
}

/** Every problem of every row, as `/rows/<line>/<column>` pointers (line 1 is the header). */
function rowsOf(csv: string): Row[] {
  let records: Record<string, string>[];
  try {
    records = parse<Record<string, string>>(csv, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
    });
  } catch (error) {
    throw new InvalidInputError('The file is not valid CSV.', [
      { path: '/csv', message: (error as Error).message },
    ]);
  }
  if (records.length === 0)
    throw new InvalidInputError('The file has no device rows.', [{ path: '/csv', message: 'no rows' }]);
  if (records.length > MAX_IMPORT_ROWS) {
    throw new PayloadTooLargeError(
      `At most ${MAX_IMPORT_ROWS.toLocaleString('en')} devices per file; split it.`,
    );
  }
  const columns = Object.keys(records[0]!);
  const unknown = columns.filter((c) => !(IMPORT_COLUMNS as readonly string[]).includes(c));
  if (!columns.includes('iccid') || unknown.length > 0) {
    throw new InvalidInputError('The header is not as expected.', [
      {
        path: '/csv/header',
        message: `columns: ${IMPORT_COLUMNS.join(', ')} (iccid required)${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`,
      },
    ]);
  }

  const problems: { path: string; message: string }[] = [];
  let total = 0;
  const seen = new Map<string, number>();
  const rows = records.map((r, index) => {
    const line = index + 2;
    const problem = (column: string, message: string) => {
      total += 1;
      if (problems.length < MAX_PROBLEMS) problems.push({ path: `/rows/${line}/${column}`, message });
    };
    const value = (column: string) => (r[column] ?? '').trim() || null;
    const iccid = value('iccid') ?? '';
    if (!/^\d{19,20}$/.test(iccid)) problem('iccid', 'is not an ICCID (19 or 20 digits)');
    else if (!isIccid(iccid)) problem('iccid', 'the check digit does not match');
    const first = seen.get(iccid);
    if (first !== undefined) problem('iccid', `repeats line ${first}`);
    else seen.set(iccid, line);
    const msisdn = value('msisdn');
    if (msisdn !== null && !/^\d{7,15}$/.test(msisdn)) problem('msisdn', 'is not an MSISDN (7 to 15 digits)');
    const imei = value('imei');
    if (imei !== null && !/^\d{14,16}$/.test(imei)) problem('imei', 'is not an IMEI (14 to 16 digits)');
    const status = (value('status') ?? 'active').toLowerCase() as DeviceStatus;
    if (!STATUSES.includes(status)) problem('status', `must be one of ${STATUSES.join(', ')}`);
    const activatedAt = value('activated_at');
    if (activatedAt !== null && !isCalendarDate(activatedAt))
      problem('activated_at', 'must be a date as yyyy-MM-dd');
    for (const column of ['carrier_rate_plan', 'communication_plan']) {
      const text = value(column);
      if (text !== null && (text.length > 100 || [...text].some((c) => c.charCodeAt(0) < 0x20))) {
        problem(column, 'must be at most 100 printable characters');
      }
    }
    return {
      iccid,
      msisdn,
      imei,
      status,
      carrierRatePlan: value('carrier_rate_plan'),
      communicationPlan: value('communication_plan'),
      activatedAt,
    };
  });
  if (problems.length > 0) {
    throw new InvalidInputError(
      `${total} problem${total === 1 ? '' : 's'} in the file: nothing was imported.`,
      problems,
    );
  }
  return rows;
}

export function createDeviceImportService(deps: { db: Database }): DeviceImportService {
  return {
    async importCsv(principal, serviceProviderId, csv) {
      if (principal.role !== 'admin') throw new ForbiddenError('Only administrators import devices.');
      const provider = await findServiceProvider(deps.db, principal.tenantId, serviceProviderId);
      if (!provider) throw new NotFoundError(`Service provider ${serviceProviderId} not found.`);
      const rows = rowsOf(csv);
      const column = <K extends keyof Row>(key: K) => rows.map((r) => r[key]);
      const { rows: result } = await sql<{ created: number; updated: number }>`
        WITH input AS (
          SELECT * FROM unnest(${column('iccid')}::text[], ${column('msisdn')}::text[], ${column('imei')}::text[],
                               ${column('status')}::text[], ${column('carrierRatePlan')}::text[],
                               ${column('communicationPlan')}::text[], ${column('activatedAt')}::date[])
                 AS i(iccid, msisdn, imei, status, carrier_rate_plan, communication_plan, activated_at)
        ), upserted AS (
          INSERT INTO device (tenant_id, service_provider_id, iccid, msisdn, imei, status, carrier_rate_plan,
                              communication_plan, activated_at)
          SELECT ${principal.tenantId}, ${provider.id}, i.iccid, i.msisdn, i.imei, i.status, i.carrier_rate_plan,
                 i.communication_plan, i.activated_at
          FROM input i
          ON CONFLICT (service_provider_id, iccid) DO UPDATE
            SET msisdn = EXCLUDED.msisdn, imei = EXCLUDED.imei, status = EXCLUDED.status,
                carrier_rate_plan = coalesce(EXCLUDED.carrier_rate_plan, device.carrier_rate_plan),
                communication_plan = coalesce(EXCLUDED.communication_plan, device.communication_plan),
                activated_at = coalesce(EXCLUDED.activated_at, device.activated_at), updated_at = now()
            WHERE (device.msisdn, device.imei, device.status, device.carrier_rate_plan, device.communication_plan,
                   device.activated_at)
                  IS DISTINCT FROM
                  (EXCLUDED.msisdn, EXCLUDED.imei, EXCLUDED.status,
                   coalesce(EXCLUDED.carrier_rate_plan, device.carrier_rate_plan),
                   coalesce(EXCLUDED.communication_plan, device.communication_plan),
                   coalesce(EXCLUDED.activated_at, device.activated_at))
          RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted)::int AS created, count(*) FILTER (WHERE NOT inserted)::int AS updated
        FROM upserted
      `.execute(deps.db);
      return { rows: rows.length, created: result[0]!.created, updated: result[0]!.updated };
    },
  };
}
