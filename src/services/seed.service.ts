import type { Database } from '../db/database.ts';
import { insertDevices } from '../db/repositories/seed-devices.repository.ts';
import {
  analyzeSeededTables,
  countTenants,
  skipReferentialChecksIfAllowed,
  insertReferenceData,
  truncateAll,
  type DemoTenant,
  type DemoUser,
} from '../db/repositories/seed.repository.ts';
import { ConflictError } from '../errors.ts';
import { hashPassword } from './passwords.ts';
import type { SecretBox } from './secret-box.ts';

/**
 * The demo data set: two tenants (so isolation can be seen), each with a ThingSpace M2M, a Jasper M2M
 * and a Mobility service provider, Rev.io and AMOP customers with sites, plans and pools, a fleet,
 * and an admin, an operator (limited to a few customers) and a viewer.
 */

export const DEMO_TENANTS: DemoTenant[] = [
  {
    slug: 'northwind',
    name: 'Northwind IoT',
    share: 0.8,
    customers: 30,
    digit: 1,
    areaCode: '201',
    revCustomerBase: 100000,
  },
  {
    slug: 'contoso',
    name: 'Contoso Connect',
    share: 0.2,
    customers: 20,
    digit: 2,
    areaCode: '312',
    revCustomerBase: 200000,
  },
];

export interface DemoLogin {
  tenant: string;
  role: DemoUser['role'];
  email: string;
  password: string;
}

/** Demo passwords are fixed so that the README and the start banner can show them. */
export const DEMO_LOGINS: DemoLogin[] = DEMO_TENANTS.flatMap((t) =>
  (['admin', 'operator', 'viewer'] as const).map((role) => ({
    tenant: t.slug,
    role,
    email: `${role}@${t.slug}.example`,
    password: `${role}-demo`,
  })),
);

export interface SeedOptions {
  devices: number;
  /** Empty every table first; otherwise a database that has data is refused. */
  reset?: boolean;
  /** Seals the demo accounts' secrets (simbind's own starts always give one; tests may not). */
  secretBox?: SecretBox;
}

export interface SeedResult {
  devices: number;
  durationMs: number;
}

export async function seedDemoData(db: Database, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const users: DemoUser[] = await Promise.all(
    DEMO_LOGINS.map(async (login) => ({
      tenantSlug: login.tenant,
      email: login.email,
      name: `${login.role[0]!.toUpperCase()}${login.role.slice(1)} (${login.tenant})`,
      role: login.role,
      passwordHash: await hashPassword(login.password),
      ...(login.role === 'operator' ? { limitedToCustomers: 8 } : {}),
    })),
  );

  await db.transaction().execute(async (trx) => {
    await skipReferentialChecksIfAllowed(trx);
    if (options.reset) await truncateAll(trx);
    else if ((await countTenants(trx)) > 0) {
      throw new ConflictError('the database already has data; use --reset to replace it with the demo data');
    }
    await insertReferenceData(trx, DEMO_TENANTS, users, options.secretBox?.seal.bind(options.secretBox));
    let remaining = options.devices;
    for (const [index, tenant] of DEMO_TENANTS.entries()) {
      const count =
        index === DEMO_TENANTS.length - 1 ? remaining : Math.round(options.devices * tenant.share);
      remaining -= count;
      await insertDevices(trx, tenant, count);
    }
  });
  // Fresh tables have no planner statistics until autovacuum gets to them: measured, validating a
  // 10,000-device submission right after a seed took 8 s instead of 0.09 s.
  await analyzeSeededTables(db);

  return { devices: options.devices, durationMs: Math.round(performance.now() - started) };
}

export async function isEmpty(db: Database): Promise<boolean> {
  return (await countTenants(db)) === 0;
}
