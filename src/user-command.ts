import { rethrowDomainAsStartup, UsageError } from './cli-errors.ts';
import { openCommandDatabase } from './cli-support.ts';
import type { Config } from './config.ts';
import { createUsersService } from './services/users.service.ts';

const ACTIONS = ['list', 'add', 'disable', 'enable', 'reset-password'];
const ROLES = ['admin', 'operator', 'viewer'] as const;

/**
 * `simbind user list|add|disable|enable|reset-password`: people from the command line, for a server
 * with no one left to sign in (or scripts).
 */
export async function userCommand(
  config: Config,
  action: string | undefined,
  options: { tenant?: string; email?: string; role?: string; name?: string },
): Promise<void> {
  if (!action || !ACTIONS.includes(action)) throw new UsageError(`user needs one of: ${ACTIONS.join(', ')}`);
  if ((action === 'list' || action === 'add') && !options.tenant) {
    throw new UsageError(`user ${action} needs --tenant SLUG`);
  }
  if (action !== 'list' && !options.email) throw new UsageError(`user ${action} needs --email EMAIL`);
  const role = options.role as (typeof ROLES)[number] | undefined;
  if (action === 'add' && !(role && ROLES.includes(role))) {
    throw new UsageError('user add needs --role admin, operator or viewer');
  }
  const runtime = await openCommandDatabase(config, 'user', console.error);
  try {
    const users = createUsersService({ db: runtime.database.db });
    if (action === 'list' || action === 'add') {
      const { principal } = await users.cliPrincipal({ tenantSlug: options.tenant! });
      if (action === 'add') {
        const created = await users.create(principal, {
          email: options.email!,
          name: options.name ?? '',
          role: role!,
        });
        console.log(`${created.user.email} added (${created.user.role}, id ${created.user.id}).`);
        console.log(`one-time password: ${created.initialPassword}`);
        return;
      }
      for (let afterId: number | undefined; ;) {
        const page = await users.list(principal, { limit: 500, afterId });
        for (const u of page) {
          console.log(`${u.id}\t${u.email}\t${u.role}\t${u.active ? 'active' : 'disabled'}\t${u.name}`);
        }
        if (page.length < 500) return;
        afterId = page[page.length - 1]!.id;
      }
    }
    const { principal, userId } = await users.cliPrincipal({ email: options.email! });
    if (action === 'reset-password') {
      const reset = await users.resetPassword(principal, userId!);
      console.log(`${reset.user.email}: every session ended; the old password no longer works.`);
      console.log(`one-time password: ${reset.initialPassword}`);
    } else {
      const changed = await users.update(principal, userId!, { active: action === 'enable' });
      console.log(
        `${changed.email} ${changed.active ? 'enabled' : 'disabled: its sessions ended and its API tokens stopped'}.`,
      );
    }
  } catch (error) {
    rethrowDomainAsStartup(error);
  } finally {
    await runtime.close();
  }
}
