import type pg from 'pg';

/**
 * Lookups of the seeded demo fleet for tests: devices in a given situation, and the ids of the
 * demo tenant's providers, customers and plans.
 */

export interface Fleet {
  tenantId: number;
  thingspace: number;
  jasper: number;
  mobility: number;
  revCustomer: { id: number; revCustomerId: number; defaultSiteId: number };
  amopCustomer: { id: number; defaultSiteId: number };
  inactiveCustomer: number;
  customerRatePlan: number;
  customerRatePool: number;
  thingspacePlan: string;
  jasperPlan: { code: string; communicationPlan: string };
}

export async function loadFleet(pool: pg.Pool, slug = 'northwind'): Promise<Fleet> {
  const one = async <T>(text: string, values: unknown[] = []): Promise<T> => {
    const { rows } = await pool.query(text, values);
    if (!rows[0]) throw new Error(`fleet lookup found nothing: ${text}`);
    return rows[0] as T;
  };
  const { id: tenantId } = await one<{ id: number }>('SELECT id FROM tenant WHERE slug = $1', [slug]);
  const provider = (integration: string, portal: string) =>
    one<{ id: number }>(
      'SELECT id FROM service_provider WHERE tenant_id = $1 AND integration = $2 AND portal_type = $3',
      [tenantId, integration, portal],
    ).then((r) => r.id);
  const customerOf = (kind: string) =>
    one<{ id: number; rev_customer_id: number; site: number }>(
      `SELECT c.id, c.rev_customer_id, s.id AS site FROM customer c JOIN site s ON s.customer_id = c.id AND s.is_default
       WHERE c.tenant_id = $1 AND c.kind = $2 AND c.active ORDER BY c.id LIMIT 1`,
      [tenantId, kind],
    );
  const rev = await customerOf('rev');
  const amop = await customerOf('amop');
  const thingspace = await provider('thingspace', 'm2m');
  const jasper = await provider('jasper', 'm2m');
  return {
    tenantId,
    thingspace,
    jasper,
    mobility: await provider('thingspace', 'mobility'),
    revCustomer: { id: rev.id, revCustomerId: rev.rev_customer_id, defaultSiteId: rev.site },
    amopCustomer: { id: amop.id, defaultSiteId: amop.site },
    inactiveCustomer: (
      await one<{ id: number }>('SELECT id FROM customer WHERE tenant_id = $1 AND NOT active', [tenantId])
    ).id,
    customerRatePlan: (
      await one<{ id: number }>('SELECT id FROM customer_rate_plan WHERE tenant_id = $1 ORDER BY id', [
        tenantId,
      ])
    ).id,
    customerRatePool: (
      await one<{ id: number }>('SELECT id FROM customer_rate_pool WHERE tenant_id = $1 ORDER BY id', [
        tenantId,
      ])
    ).id,
    thingspacePlan: (
      await one<{ code: string }>(
        'SELECT code FROM carrier_rate_plan WHERE service_provider_id = $1 ORDER BY id',
        [thingspace],
      )
    ).code,
    jasperPlan: await one<{ code: string; communication_plan: string }>(
      'SELECT code, communication_plan FROM carrier_rate_plan WHERE service_provider_id = $1 ORDER BY id',
      [jasper],
    ).then((r) => ({ code: r.code, communicationPlan: r.communication_plan })),
  };
}

/** Devices that any customer may take: active, not archived, owned by nobody, no open work order. */
export async function freeDevices(
  pool: pg.Pool,
  serviceProviderId: number,
  count: number,
): Promise<string[]> {
  const { rows } = await pool.query<{ iccid: string }>(
    `SELECT d.iccid FROM device d
     WHERE d.service_provider_id = $1 AND d.status = 'active' AND NOT d.is_archived
       AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id)
       AND NOT EXISTS (SELECT 1 FROM rev_service s WHERE s.device_id = d.id AND s.is_active)
       AND NOT EXISTS (SELECT 1 FROM bulk_change_device w WHERE w.device_id = d.id
                       AND w.status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER'))
     ORDER BY d.id LIMIT $2`,
    [serviceProviderId, count],
  );
  if (rows.length < count) throw new Error(`only ${rows.length} free devices, wanted ${count}`);
  return rows.map((r) => r.iccid);
}

export async function iccidsWhere(
  pool: pg.Pool,
  where: string,
  values: unknown[] = [],
  limit = 1,
): Promise<string[]> {
  const { rows } = await pool.query<{ iccid: string }>(
    `SELECT d.iccid FROM device d WHERE ${where} ORDER BY d.id LIMIT ${limit}`,
    values,
  );
  if (rows.length === 0) throw new Error(`no device where ${where}`);
  return rows.map((r) => r.iccid);
}
