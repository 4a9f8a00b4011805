import { rethrowDomainAsStartup, UsageError } from './cli-errors.ts';
import { openCommandDatabase } from './cli-support.ts';
import type { Config } from './config.ts';
import { createUsersService } from './services/users.service.ts';

/**
 * `simbind init --tenant NAME --admin EMAIL [--name NAME]`: a production start, a tenant and its
 * first admin with a one-time password, no demo data.
 */
export async function initCommand(
  config: Config,
  options: { tenant?: string; admin?: string; name?: string },
): Promise<void> {
  if (!options.tenant || !options.admin) throw new UsageError('init needs --tenant NAME and --admin EMAIL');
  const runtime = await openCommandDatabase(config, 'init', console.error);
  try {
    const users = createUsersService({ db: runtime.database.db });
    const created = await users
      .initTenant({ tenantName: options.tenant, adminEmail: options.admin, adminName: options.name })
      .catch(rethrowDomainAsStartup);
    console.log(`tenant "${created.tenant.name}" (${created.tenant.slug}) created, no demo data.`);
    console.log(`admin: ${created.admin.email}`);
    console.log(`one-time password: ${created.initialPassword}`);
    console.log('Sign in and change it (POST /api/v1/auth/password, or the screen); it is not shown again.');
  } finally {
    await runtime.close();
  }
}
