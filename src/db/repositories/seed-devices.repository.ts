import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { DemoTenant } from './seed.repository.ts';

/**
 * The demo fleet, set-based like the rest of the seed (seed.repository.ts): three INSERT … SELECT
 * over generate_series per tenant, whatever the number of devices.
 */

/**
 * The fleet of one tenant: `count` devices spread over its providers (50 % ThingSpace M2M, 35 %
 * Jasper, 15 % Mobility); 84 % active, the rest inactive, suspended, deactivated, test-ready or in
 * inventory; 1 % archived; one in five owned by a customer, with an active Rev.io service when that
 * customer is billed in Rev.io.
 */
export async function insertDevices(db: Executor, tenant: DemoTenant, count: number): Promise<void> {
  if (count === 0) return;
  const { id: tenantId } = await db
    .selectFrom('tenant')
    .select('id')
    .where('slug', '=', tenant.slug)
    .executeTakeFirstOrThrow();

  await sql`
    WITH provider AS (
      SELECT id, integration, portal_type,
             row_number() OVER (ORDER BY id) AS k,
             (SELECT code FROM carrier_rate_plan p WHERE p.service_provider_id = sp.id ORDER BY p.id LIMIT 1) AS plan,
             (SELECT communication_plan FROM carrier_rate_plan p WHERE p.service_provider_id = sp.id ORDER BY p.id LIMIT 1) AS comm
      FROM service_provider sp WHERE tenant_id = ${tenantId}
    ), numbered AS (
      SELECT i,
             CASE WHEN i % 20 < 10 THEN 1 WHEN i % 20 < 17 THEN 2 ELSE 3 END AS k,
             -- Knuth's multiplicative hash: status must not follow the provider (both derive from i).
             ((i * 2654435761) % 4294967296 / 7) % 100 AS s
      FROM generate_series(1::bigint, ${count}::bigint) AS i
    )
    INSERT INTO device (tenant_id, service_provider_id, iccid, msisdn, imei, status, activated_at,
                        carrier_rate_plan, communication_plan, is_archived)
    SELECT ${tenantId}, p.id,
           ids.iccid || ${luhnCheckDigit(
             'ids.iccid_prefix',
             [1, 2, 3].map((k) => `891480${tenant.digit}${k}`),
             10,
           )},
           ${'1' + tenant.areaCode} || lpad(i::text, 7, '0'),
           ids.imei || ${luhnCheckDigit('ids.imei_prefix', [`353451${tenant.digit}`], 7)},
           CASE WHEN s < 84 THEN 'active' WHEN s < 89 THEN 'inactive' WHEN s < 93 THEN 'suspended'
                WHEN s < 95 THEN 'deactivated' WHEN s < 97 THEN 'test_ready' ELSE 'inventory' END,
           CASE WHEN s < 97 THEN date '2023-01-01' + ((i * 37) % 1000)::int END,
           p.plan, p.comm,
           (i * 31) % 100 = 0
    FROM numbered n
    JOIN provider p ON p.k = n.k
    CROSS JOIN LATERAL (SELECT '891480' || ${tenant.digit} || n.k AS iccid_prefix,
                               '891480' || ${tenant.digit} || n.k || lpad(i::text, 10, '0') AS iccid,
                               '353451' || ${tenant.digit} AS imei_prefix,
                               '353451' || ${tenant.digit} || lpad(i::text, 7, '0') AS imei) AS ids
  `.execute(db);

  // One in five active devices already belongs to a customer (customers picked by row number).
  await sql`
    WITH customers AS (
      SELECT c.*, row_number() OVER (ORDER BY c.id) AS k, count(*) OVER () AS total
      FROM customer c WHERE c.tenant_id = ${tenantId} AND c.active
    )
    INSERT INTO device_tenant (tenant_id, device_id, customer_id, site_id, account_number, rev_credentials_id,
                               rev_service_id, is_active, is_deleted)
    SELECT ${tenantId}, d.id, c.id,
           (SELECT id FROM site WHERE site.customer_id = c.id AND is_default),
           c.rev_customer_id::text, c.rev_credentials_id,
           CASE WHEN c.kind = 'rev' THEN 5000000 + d.id END,
           true, false
    FROM device d
    JOIN customers c ON c.k = 1 + (d.id * 17) % c.total
    WHERE d.tenant_id = ${tenantId} AND d.status = 'active' AND NOT d.is_archived AND (d.id * 13) % 100 < 20
  `.execute(db);

  // Their Rev.io service lines, as if created by an earlier bulk change.
  await sql`
    INSERT INTO rev_service (tenant_id, device_id, customer_id, rev_credentials_id, rev_customer_id, service_id,
                             number, number2, service_type_id, provider_id, activated_date, status)
    SELECT dt.tenant_id, dt.device_id, dt.customer_id, dt.rev_credentials_id, c.rev_customer_id, dt.rev_service_id,
           d.msisdn, d.iccid, 3, 1, d.activated_at, 'created'
    FROM device_tenant dt
    JOIN device d ON d.id = dt.device_id
    JOIN customer c ON c.id = dt.customer_id
    WHERE dt.tenant_id = ${tenantId} AND dt.rev_service_id IS NOT NULL
  `.execute(db);
}

/**
 * Luhn over "<fixed prefix><row number zero-padded to `width`>", as integer arithmetic on the row
 * number: per-digit substr() on text cost ~20 s per million rows, this costs ~1 s. The prefix's
 * share of the sum is computed here once.
 */
function luhnCheckDigit(prefixSql: string, prefixes: string[], width: number) {
  const payloadLength = (prefixes[0]?.length ?? 0) + width;
  const double = (d: number) => ((d * 2) % 10) + Math.floor((d * 2) / 10);
  const prefixSum = (prefix: string) =>
    [...prefix].reduce((sum, ch, index) => {
      const d = Number(ch);
      // Doubling starts from the rightmost payload digit (position 1 from the right).
      return sum + ((payloadLength - index) % 2 === 1 ? double(d) : d);
    }, 0);
  const prefixCase = `CASE ${prefixSql} ${prefixes.map((p) => `WHEN '${p}' THEN ${prefixSum(p)}`).join(' ')} END`;
  const tail = Array.from({ length: width }, (_, j) => {
    const digit = `((i / ${10 ** j}) % 10)`;
    return j % 2 === 0 ? `((${digit} * 2) % 10 + (${digit} * 2) / 10)` : digit;
  });
  return sql.raw(`((10 - (${prefixCase} + ${tail.join(' + ')}) % 10) % 10)`);
}
