import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import { findServiceProvider } from '../db/repositories/assignment.repository.ts';
import type { DeviceStatus } from '../db/schema.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { isPrintable, readCsv, rowProblems } from './csv-import.ts';
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

/** Every row checked first: one bad row refuses the file (see csv-import.ts). */
function rowsOf(csv: string): Row[] {
  const records = readCsv(csv, {
    columns: IMPORT_COLUMNS,
    required: ['iccid'],
    maxRows: MAX_IMPORT_ROWS,
    noun: 'device',
  });
  const problems = rowProblems();
  const seen = new Map<string, number>();
  const rows = records.map(({ line, value }) => {
    const problem = (column: string, message: string) => problems.add(line, column, message);
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
      if (text !== null && !isPrintable(text, 100))
        problem(column, 'must be at most 100 printable characters');
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
  problems.throwIfAny();
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
