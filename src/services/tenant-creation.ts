import type { Database, Executor } from '../db/database.ts';
import { deleteSetupCodes } from '../db/repositories/setup-code.repository.ts';
import * as users from '../db/repositories/user.repository.ts';
import { ConflictError, InvalidInputError } from '../errors.ts';
import { hashPassword } from './passwords.ts';
import { checkNewEmail, userViewOf, type UserView } from './user-accounts.ts';

/** A new tenant and its first admin, whether from `simbind init` or the first-run screen. */

export interface TenantInit {
  tenantName: string;
  adminEmail: string;
  adminName?: string;
}

export interface NewTenant {
  tenant: { id: number; slug: string; name: string };
  admin: UserView;
}

export function slugOf(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

/**
 * Creating a tenant and its first admin, in one transaction, for `simbind init` and the first-run
 * screen alike. Every setup code stops working with it.
 */
export async function createTenantWithAdmin(
  db: Database,
  input: TenantInit,
  password: string,
  within?: (trx: Executor) => Promise<void>,
): Promise<NewTenant> {
  const name = input.tenantName.trim();
  const slug = slugOf(name);
  if (slug.length < 2) {
    throw new InvalidInputError('The tenant needs a name of at least two letters or digits.', [
      { path: '/tenantName', message: 'needs at least two letters or digits' },
    ]);
  }
  if (await users.tenantSlugTaken(db, slug)) throw new ConflictError(`A tenant "${slug}" already exists.`);
  const email = await checkNewEmail(db, input.adminEmail, '/adminEmail');
  const passwordHash = await hashPassword(password);
  const { tenantId, userId } = await db.transaction().execute(async (trx) => {
    await within?.(trx);
    await deleteSetupCodes(trx);
    const tenantId = await users.insertTenant(trx, { slug, name });
    const userId = await users.insertUser(trx, {
      tenantId,
      email,
      name: input.adminName?.trim() || 'Administrator',
      role: 'admin',
      passwordHash,
      allCustomers: true,
    });
    return { tenantId, userId };
  });
  return {
    tenant: { id: tenantId, slug, name },
    admin: userViewOf((await users.findUser(db, tenantId, userId))!),
  };
}
