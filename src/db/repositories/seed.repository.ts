import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { SecretBox } from '../../services/secret-box.ts';

/**
 * The demo data set, written set-based: every statement is one INSERT … SELECT over
 * generate_series, so 1,000,000 devices cost the same number of round trips as 10.
 * Deterministic: "random" choices are arithmetic on the row number, so two seeds are identical.
 */

export interface DemoTenant {
  slug: string;
  name: string;
  /** Share of the fleet (0–1). */
  share: number;
  customers: number;
  /** One digit, part of ICCIDs/IMEIs so tenants never share an identifier. */
  digit: number;
  /** Area code of the tenant's MSISDNs. */
  areaCode: string;
  /** First Rev.io customer id of the tenant. */
  revCustomerBase: number;
}

export interface DemoUser {
  tenantSlug: string;
  email: string;
  name: string;
  role: 'admin' | 'operator' | 'viewer';
  passwordHash: string;
  /** When set, the user reaches only the first N customers of the tenant. */
  limitedToCustomers?: number;
}

const COMPANY_FIRST = [
  'Acme',
  'Blue Ridge',
  'Cascade',
  'Delta',
  'Evergreen',
  'Frontier',
  'Granite',
  'Harbor',
  'Ironwood',
  'Juniper',
  'Keystone',
  'Lakeside',
  'Meridian',
  'Northstar',
  'Oakridge',
  'Pioneer',
  'Quantum',
  'Redwood',
  'Summit',
  'Tidewater',
];
const COMPANY_SECOND = [
  'Logistics',
  'Utilities',
  'Fleet Services',
  'Agritech',
  'Vending',
  'Security',
  'Energy',
  'Telematics',
  'Cold Chain',
  'Water Works',
  'Rail',
  'Medical Devices',
];

/** The demo's ThingSpace account (the built-in simulator knows every device under it). */
export const DEMO_THINGSPACE_ACCOUNT = '0000123456-00001';

/** The carriers' plan catalogues of the demo; the built-in simulators accept exactly these. */
export const DEMO_CARRIER_PLANS = [
  { integration: 'thingspace', code: 'M2M-1GB-SHR', name: 'M2M 1 GB shared', comm: null, mb: 1024 },
  { integration: 'thingspace', code: 'M2M-5GB-SHR', name: 'M2M 5 GB shared', comm: null, mb: 5120 },
  { integration: 'thingspace', code: 'M2M-25MB', name: 'M2M 25 MB', comm: null, mb: 25 },
  { integration: 'thingspace', code: 'M2M-UNL', name: 'M2M unlimited', comm: null, mb: null },
  { integration: 'jasper', code: 'IOT-100MB', name: 'IoT 100 MB', comm: 'CP-Standard-Data', mb: 100 },
  { integration: 'jasper', code: 'IOT-1GB', name: 'IoT 1 GB', comm: 'CP-Standard-Data', mb: 1024 },
  { integration: 'jasper', code: 'IOT-10MB-SMS', name: 'IoT 10 MB + SMS', comm: 'CP-Data-SMS', mb: 10 },
  {
    integration: 'jasper',
    code: 'IOT-POOL-50GB',
    name: 'IoT pooled 50 GB',
    comm: 'CP-Standard-Data',
    mb: 51200,
  },
] as const;

export const demoPlansOf = (integration: 'thingspace' | 'jasper') => ({
  ratePlans: DEMO_CARRIER_PLANS.filter((p) => p.integration === integration).map((p) => p.code),
  communicationPlans: [
    ...new Set(
      DEMO_CARRIER_PLANS.filter((p) => p.integration === integration).flatMap((p) =>
        p.comm ? [p.comm] : [],
      ),
    ),
  ],
});

/** The demo accounts' secrets, as the simulators expect them. Tests grep every output for these. */
export const DEMO_SECRETS = {
  revio: { password: 'demo-password', subscriptionKey: 'demo-subscription-key' },
  thingspace: { appKey: 'demo-app-key', appSecret: 'demo-app-secret', password: 'demo-password' },
  jasper: { apiKey: 'demo-jasper-key' },
} as const satisfies Record<string, Record<string, string>>;

export async function insertReferenceData(
  db: Executor,
  tenants: DemoTenant[],
  users: DemoUser[],
  seal?: SecretBox['seal'],
): Promise<void> {
  for (const t of tenants) {
    const { id: tenantId } = await db
      .insertInto('tenant')
      .values({ slug: t.slug, name: t.name })
      .returning('id')
      .executeTakeFirstOrThrow();

    // One account per external system; `simulator://` is resolved to the built-in simulators. The
    // secrets are sealed when a key is given (always, from `simbind serve` and `seed`).
    const secrets = (integration: keyof typeof DEMO_SECRETS) =>
      JSON.stringify(
        seal ? seal(DEMO_SECRETS[integration], { tenantId, integration }) : DEMO_SECRETS[integration],
      );
    await sql`
      INSERT INTO integration_credentials (tenant_id, integration, name, base_url, settings, secrets, secrets_set_at)
      VALUES
        (${tenantId}, 'revio', 'Rev.io billing', 'simulator://revio',
         ${JSON.stringify({ username: 'simbind', clientCode: 'demo' })}::jsonb, ${secrets('revio')}::jsonb, now()),
        (${tenantId}, 'thingspace', 'Verizon ThingSpace', 'simulator://thingspace',
         ${JSON.stringify({ username: 'simbind', accountName: DEMO_THINGSPACE_ACCOUNT })}::jsonb,
         ${secrets('thingspace')}::jsonb, now()),
        (${tenantId}, 'jasper', 'Cisco Control Center', 'simulator://jasper',
         ${JSON.stringify({ username: 'simbind' })}::jsonb, ${secrets('jasper')}::jsonb, now())
    `.execute(db);

    await sql`
      INSERT INTO service_provider (tenant_id, name, integration, portal_type, credentials_id)
      SELECT ${tenantId}, p.name, p.integration, p.portal_type, c.id
      FROM (VALUES ('Verizon ThingSpace M2M', 'thingspace', 'm2m'),
                   ('Cisco Jasper M2M', 'jasper', 'm2m'),
                   ('Verizon Mobility', 'thingspace', 'mobility')) AS p(name, integration, portal_type)
      JOIN integration_credentials c ON c.tenant_id = ${tenantId} AND c.integration = p.integration
    `.execute(db);

    await sql`
      INSERT INTO carrier_rate_plan (tenant_id, service_provider_id, code, name, communication_plan, data_allowance_mb)
      SELECT ${tenantId}, sp.id, p.code, p.name, p.comm, p.mb
      FROM service_provider sp
      JOIN jsonb_to_recordset(${JSON.stringify(DEMO_CARRIER_PLANS)}::jsonb)
           AS p(integration text, code text, name text, comm text, mb numeric) ON p.integration = sp.integration
      WHERE sp.tenant_id = ${tenantId}
    `.execute(db);

    await sql`
      INSERT INTO customer_rate_plan (tenant_id, code, name, data_allocation_mb, monthly_rate)
      VALUES (${tenantId}, 'CRP-10', 'Telemetry 10 MB', 10, 2.50),
             (${tenantId}, 'CRP-100', 'Tracker 100 MB', 100, 4.95),
             (${tenantId}, 'CRP-500', 'Gateway 500 MB', 500, 9.95),
             (${tenantId}, 'CRP-1024', 'Router 1 GB', 1024, 14.95),
             (${tenantId}, 'CRP-5120', 'Router 5 GB', 5120, 29.95),
             (${tenantId}, 'CRP-UNL', 'Unlimited fair use', 0, 49.95)
    `.execute(db);

    await sql`
      INSERT INTO customer_rate_pool (tenant_id, name, shared_data_mb)
      VALUES (${tenantId}, 'Fleet pool 10 GB', 10240),
             (${tenantId}, 'Fleet pool 50 GB', 51200),
             (${tenantId}, 'Metering pool 2 GB', 2048)
    `.execute(db);

    // Customers: three in five are billed through Rev.io; the last one is inactive.
    await sql`
      INSERT INTO customer (tenant_id, name, kind, rev_customer_id, rev_credentials_id, active)
      SELECT ${tenantId},
             (${COMPANY_FIRST}::text[])[1 + (n * 7) % ${COMPANY_FIRST.length}] || ' ' ||
               (${COMPANY_SECOND}::text[])[1 + (n * 5) % ${COMPANY_SECOND.length}] ||
               CASE WHEN n > ${COMPANY_FIRST.length} THEN ' ' || n ELSE '' END,
             CASE WHEN n % 5 IN (1, 2, 4) THEN 'rev' ELSE 'amop' END,
             CASE WHEN n % 5 IN (1, 2, 4) THEN ${t.revCustomerBase} + n END,
             CASE WHEN n % 5 IN (1, 2, 4) THEN c.id END,
             n < ${t.customers}
      FROM generate_series(1, ${t.customers}) AS n
      JOIN integration_credentials c ON c.tenant_id = ${tenantId} AND c.integration = 'revio'
      ORDER BY n
    `.execute(db);

    await sql`
      INSERT INTO site (tenant_id, customer_id, name, address, is_default)
      SELECT c.tenant_id, c.id, s.name, s.n || ' ' || s.street || ', Springfield', s.n = 100
      FROM customer c
      JOIN (VALUES (100, 'Headquarters', 'Main Street'), (200, 'Warehouse', 'Dock Road'),
                   (300, 'Field Operations', 'Quarry Lane')) AS s(n, name, street)
        ON s.n <= 100 * (1 + c.id % 3)
      WHERE c.tenant_id = ${tenantId}
    `.execute(db);
  }

  for (const u of users) {
    const { id: userId } = await sql<{ id: number }>`
      INSERT INTO app_user (tenant_id, email, name, role, password_hash, all_customers)
      SELECT id, ${u.email}, ${u.name}, ${u.role}, ${u.passwordHash}, ${u.limitedToCustomers === undefined}
      FROM tenant WHERE slug = ${u.tenantSlug}
      RETURNING id
    `
      .execute(db)
      .then((r) => r.rows[0]!);
    if (u.limitedToCustomers !== undefined) {
      await sql`
        INSERT INTO user_customer_access (user_id, customer_id)
        SELECT ${userId}, c.id FROM customer c JOIN tenant t ON t.id = c.tenant_id
        WHERE t.slug = ${u.tenantSlug} ORDER BY c.id LIMIT ${u.limitedToCustomers}
      `.execute(db);
    }
  }
}

/** Removes every row of simbind's tables (not the queue's), for `simbind seed --reset`. */
export async function truncateAll(db: Executor): Promise<void> {
  await sql`
    TRUNCATE tenant, app_user, user_customer_access, api_token, user_session, login_attempt,
             integration_credentials, service_provider, customer, site, carrier_rate_plan, customer_rate_plan,
             customer_rate_pool, device, device_tenant, rev_service, rev_service_product, bulk_change,
             bulk_change_device, change_log, device_history, scheduled_rate_plan_change, webhook_endpoint,
             notification_delivery, notification_attempt
    RESTART IDENTITY CASCADE
  `.execute(db);
}

/**
 * The seed's rows are consistent by construction; checking 9 foreign keys per device_tenant row
 * is a third of a million-device seed. Only a superuser may switch the checks off (for this
 * transaction only); other roles just take longer.
 */
export async function skipReferentialChecksIfAllowed(db: Executor): Promise<void> {
  const { rows } = await sql<{
    rolsuper: boolean;
  }>`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`.execute(db);
  if (rows[0]?.rolsuper) await sql`SET LOCAL session_replication_role = replica`.execute(db);
}

export async function analyzeSeededTables(db: Executor): Promise<void> {
  await sql`ANALYZE device, device_tenant, rev_service, customer, site, service_provider`.execute(db);
}

export async function countTenants(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('tenant')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
