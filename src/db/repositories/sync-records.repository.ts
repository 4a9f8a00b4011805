import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { DeviceStatus } from '../schema.ts';

/**
 * The set-based upserts a sync makes: one statement per partner page, by natural key (provider +
 * ICCID for devices, tenant + Rev.io customer id for customers). A sync writes only the partner's
 * facts: never ownership, sites or customer plans, which simbind itself manages.
 */

export interface CarrierDevice {
  iccid: string;
  status: DeviceStatus;
  msisdn: string | null;
  imei: string | null;
  carrierRatePlan: string | null;
  communicationPlan: string | null;
  activatedAt: string | null;
}

/**
 * One page of a carrier's devices, in ONE statement: new ones inserted (no owner), known ones
 * brought up to date where the carrier says something (a field it leaves out keeps its value), and
 * every one marked seen. Counts only real changes.
 */
export async function upsertDevices(
  db: Executor,
  target: { tenantId: number; serviceProviderId: number },
  devices: CarrierDevice[],
): Promise<{ created: number; changed: number }> {
  const column = <K extends keyof CarrierDevice>(key: K) => devices.map((d) => d[key]);
  const { rows } = await sql<{ created: number; changed: number }>`
    WITH input AS (
      SELECT * FROM unnest(${column('iccid')}::text[], ${column('msisdn')}::text[], ${column('imei')}::text[],
                           ${column('status')}::text[], ${column('carrierRatePlan')}::text[],
                           ${column('communicationPlan')}::text[], ${column('activatedAt')}::date[])
             AS i(iccid, msisdn, imei, status, carrier_rate_plan, communication_plan, activated_at)
    ), upserted AS (
      INSERT INTO device AS d (tenant_id, service_provider_id, iccid, msisdn, imei, status, carrier_rate_plan,
                               communication_plan, activated_at, carrier_seen_at)
      SELECT ${target.tenantId}, ${target.serviceProviderId}, i.iccid, i.msisdn, i.imei, i.status,
             i.carrier_rate_plan, i.communication_plan, i.activated_at, now()
      FROM input i
      ON CONFLICT (service_provider_id, iccid) DO UPDATE
        SET msisdn = coalesce(EXCLUDED.msisdn, d.msisdn),
            imei = coalesce(EXCLUDED.imei, d.imei),
            status = EXCLUDED.status,
            carrier_rate_plan = coalesce(EXCLUDED.carrier_rate_plan, d.carrier_rate_plan),
            communication_plan = coalesce(EXCLUDED.communication_plan, d.communication_plan),
            activated_at = coalesce(EXCLUDED.activated_at, d.activated_at),
            carrier_seen_at = now(),
            updated_at = CASE WHEN (d.msisdn, d.imei, d.status, d.carrier_rate_plan, d.communication_plan,
                                    d.activated_at)
                                   IS DISTINCT FROM
                                   (coalesce(EXCLUDED.msisdn, d.msisdn), coalesce(EXCLUDED.imei, d.imei),
                                    EXCLUDED.status, coalesce(EXCLUDED.carrier_rate_plan, d.carrier_rate_plan),
                                    coalesce(EXCLUDED.communication_plan, d.communication_plan),
                                    coalesce(EXCLUDED.activated_at, d.activated_at))
                              THEN now() ELSE d.updated_at END
      RETURNING (xmax = 0) AS inserted, d.updated_at = now() AS touched
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS created,
           count(*) FILTER (WHERE NOT inserted AND touched)::int AS changed
    FROM upserted
  `.execute(db);
  return rows[0]!;
}

/** Devices of the provider that the run's full list did not show (seen before it started, or never). */
export async function countUnseenDevices(
  db: Executor,
  serviceProviderId: number,
  since: Date,
): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM device
    WHERE service_provider_id = ${serviceProviderId} AND NOT is_archived
      AND (carrier_seen_at IS NULL OR carrier_seen_at < ${since})
  `.execute(db);
  return rows[0]!.n;
}

export interface RevCustomer {
  revCustomerId: number;
  name: string;
  active: boolean;
}

/**
 * One page of Rev.io customers in ONE statement: new ones inserted as Rev.io customers of the
 * account, each with its default site; known ones get Rev.io's name and active flag; all are
 * marked seen. A customer of another Rev.io account with the same id is left alone (not counted).
 */
export async function upsertRevCustomers(
  db: Executor,
  target: { tenantId: number; credentialsId: number },
  customers: RevCustomer[],
): Promise<{ created: number; changed: number }> {
  const { rows } = await sql<{ created: number; changed: number }>`
    WITH input AS (
      SELECT * FROM unnest(${customers.map((c) => c.revCustomerId)}::bigint[],
                           ${customers.map((c) => c.name)}::text[], ${customers.map((c) => c.active)}::boolean[])
             AS i(rev_customer_id, name, active)
    ), upserted AS (
      INSERT INTO customer AS c (tenant_id, name, kind, rev_customer_id, rev_credentials_id, active, rev_seen_at)
      SELECT ${target.tenantId}, i.name, 'rev', i.rev_customer_id, ${target.credentialsId}, i.active, now()
      FROM input i
      ON CONFLICT (tenant_id, rev_customer_id) DO UPDATE
        SET name = EXCLUDED.name, active = EXCLUDED.active, rev_seen_at = now()
        WHERE c.rev_credentials_id IS NOT DISTINCT FROM EXCLUDED.rev_credentials_id
      RETURNING c.id, (xmax = 0) AS inserted
    ), before AS (
      SELECT c.rev_customer_id, c.name, c.active FROM customer c
      WHERE c.tenant_id = ${target.tenantId} AND c.rev_credentials_id = ${target.credentialsId}
        AND c.rev_customer_id IN (SELECT rev_customer_id FROM input)
    ), sites AS (
      INSERT INTO site (tenant_id, customer_id, name, is_default)
      SELECT ${target.tenantId}, u.id, 'Headquarters', true FROM upserted u WHERE u.inserted
    )
    SELECT (SELECT count(*) FROM upserted WHERE inserted)::int AS created,
           (SELECT count(*) FROM input i JOIN before b USING (rev_customer_id)
            WHERE (b.name, b.active) IS DISTINCT FROM (i.name, i.active))::int AS changed
  `.execute(db);
  return rows[0]!;
}

/** The account's customers that the run's full list did not show. */
export async function countUnseenCustomers(
  db: Executor,
  credentialsId: number,
  since: Date,
): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM customer
    WHERE rev_credentials_id = ${credentialsId} AND kind = 'rev' AND active
      AND (rev_seen_at IS NULL OR rev_seen_at < ${since})
  `.execute(db);
  return rows[0]!.n;
}
