import type { Database, Executor } from '../db/database.ts';
import * as users from '../db/repositories/user.repository.ts';
import type { Role } from '../db/schema.ts';
import { ForbiddenError, NotFoundError, UnprocessableError } from '../errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { Principal } from './principal.ts';
import { createTenantWithAdmin, type NewTenant, type TenantInit } from './tenant-creation.ts';
import {
  checkNewEmail,
  checkNewPassword,
  oneTimePassword,
  userViewOf,
  type UserView,
} from './user-accounts.ts';

export { MIN_PASSWORD_LENGTH, type UserView } from './user-accounts.ts';
export type { NewTenant, TenantInit } from './tenant-creation.ts';

/**
 * People (issue 11): a tenant's first admin (`simbind init`), and the admins' management of users —
 * create with a one-time password, change role and customer access, disable (sessions and tokens stop
 * at once) — and everyone's own password change (every other session of that user ends).
 */

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  /** Absent or null: every customer. */
  customerIds?: number[] | null;
}

export interface UserChange {
  name?: string;
  role?: Role;
  active?: boolean;
  customerIds?: number[] | null;
}

export interface UsersService {
  list(principal: Principal, page: { limit: number; afterId?: number }): Promise<UserView[]>;
  /** The user and a one-time password, shown once. */
  create(principal: Principal, input: NewUser): Promise<{ user: UserView; initialPassword: string }>;
  update(principal: Principal, id: number, change: UserChange): Promise<UserView>;
  /**
   * A new one-time password for a user who lost theirs: every session of the user ends, the old
   * password stops. Shown once.
   */
  resetPassword(principal: Principal, id: number): Promise<{ user: UserView; initialPassword: string }>;
  /**
   * For the CLI, which runs on the server with the database's own trust: an administrator of the
   * tenant with this slug, or of the user with this e-mail, standing for "the command line".
   */
  cliPrincipal(
    by: { tenantSlug: string } | { email: string },
  ): Promise<{ principal: Principal; userId?: number }>;
  /** The caller's own password; every other session of the caller ends. */
  changePassword(
    principal: Principal,
    input: { currentPassword: string; newPassword: string },
    currentSessionIdHash?: Buffer,
  ): Promise<void>;
  /** A new tenant and its first admin (no demo data); the admin's one-time password, shown once. */
  initTenant(input: TenantInit): Promise<NewTenant & { initialPassword: string }>;
  /**
   * The same with the password the admin chose (the first-run screen). `within` runs first inside
   * the creating transaction: the screen's lock and checks.
   */
  initTenantWithPassword(
    input: TenantInit & { password: string },
    within: (trx: Executor) => Promise<void>,
  ): Promise<NewTenant>;
}

function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new ForbiddenError('Only administrators manage users.');
}

export function createUsersService(deps: { db: Database }): UsersService {
  const { db } = deps;

  async function checkCustomers(tenantId: number, ids: number[] | null | undefined): Promise<void> {
    if (!ids || ids.length === 0) return;
    const unique = [...new Set(ids)];
    if ((await users.countTenantCustomers(db, tenantId, unique)) !== unique.length) {
      throw new UnprocessableError('Some customers do not exist.', [
        { path: '/customerIds', message: 'lists a customer that is not one of this tenant' },
      ]);
    }
  }

  return {
    async list(principal, page) {
      assertAdmin(principal);
      return (await users.listUsers(db, principal.tenantId, page)).map(userViewOf);
    },

    async create(principal, input) {
      assertAdmin(principal);
      const email = await checkNewEmail(db, input.email);
      await checkCustomers(principal.tenantId, input.customerIds);
      const initialPassword = oneTimePassword();
      const passwordHash = await hashPassword(initialPassword);
      const id = await db.transaction().execute(async (trx) => {
        const userId = await users.insertUser(trx, {
          tenantId: principal.tenantId,
          email,
          name: input.name.trim() || email,
          role: input.role,
          passwordHash,
          allCustomers: input.customerIds == null,
        });
        if (input.customerIds) await users.setCustomerAccess(trx, userId, [...new Set(input.customerIds)]);
        return userId;
      });
      return { user: userViewOf((await users.findUser(db, principal.tenantId, id))!), initialPassword };
    },

    async update(principal, id, change) {
      assertAdmin(principal);
      const existing = await users.findUser(db, principal.tenantId, id);
      if (!existing) throw new NotFoundError(`User ${id} not found.`);
      if (id === principal.userId && (change.active === false || (change.role && change.role !== 'admin'))) {
        // The last way back in must not be closed by a slip: another admin can do it.
        throw new UnprocessableError('You cannot disable yourself or take away your own admin role.', [
          { path: change.active === false ? '/active' : '/role', message: 'not for your own account' },
        ]);
      }
      await checkCustomers(principal.tenantId, change.customerIds);
      await db.transaction().execute(async (trx) => {
        await users.updateUser(trx, principal.tenantId, id, {
          name: change.name?.trim() || undefined,
          role: change.role,
          active: change.active,
          ...(change.customerIds !== undefined ? { allCustomers: change.customerIds === null } : {}),
        });
        if (change.customerIds !== undefined) {
          await users.setCustomerAccess(trx, id, [...new Set(change.customerIds ?? [])]);
        }
        // Disabled: its sessions go (its tokens stop with `active`, and stay stopped if re-enabled
        // only until an admin revokes them: they are the user's to keep).
        if (change.active === false) await users.deleteSessions(trx, id);
      });
      return userViewOf((await users.findUser(db, principal.tenantId, id))!);
    },

    async resetPassword(principal, id) {
      assertAdmin(principal);
      const existing = await users.findUser(db, principal.tenantId, id);
      if (!existing) throw new NotFoundError(`User ${id} not found.`);
      const initialPassword = oneTimePassword();
      const hash = await hashPassword(initialPassword);
      await db.transaction().execute(async (trx) => {
        await users.setPasswordHash(trx, id, hash);
        await users.deleteSessions(trx, id);
      });
      return { user: userViewOf(existing), initialPassword };
    },

    async cliPrincipal(by) {
      const found =
        'email' in by
          ? await users.findUserByEmail(db, by.email.trim())
          : await users
              .tenantIdBySlug(db, by.tenantSlug)
              .then((tenantId) => (tenantId === undefined ? undefined : { tenantId, id: undefined }));
      if (!found) {
        throw new NotFoundError(
          'email' in by ? `No user has the e-mail ${by.email}.` : `No tenant "${by.tenantSlug}".`,
        );
      }
      const principal: Principal = {
        // No user is the command line: it can never be "yourself" in a rule about one's own account.
        userId: 0,
        tenantId: found.tenantId,
        email: 'cli',
        name: 'simbind CLI',
        role: 'admin',
        allCustomers: true,
        customerIds: [],
        via: 'token',
      };
      return { principal, userId: found.id };
    },

    async changePassword(principal, input, currentSessionIdHash) {
      const stored = await users.passwordHashOf(db, principal.userId);
      if (!stored || !(await verifyPassword(input.currentPassword, stored))) {
        throw new UnprocessableError('The current password is incorrect.', [
          { path: '/currentPassword', message: 'does not match' },
        ]);
      }
      checkNewPassword(input.newPassword, '/newPassword');
      const hash = await hashPassword(input.newPassword);
      await db.transaction().execute(async (trx) => {
        await users.setPasswordHash(trx, principal.userId, hash);
        await users.deleteSessions(trx, principal.userId, currentSessionIdHash);
      });
    },

    async initTenant(input) {
      const initialPassword = oneTimePassword();
      return { ...(await createTenantWithAdmin(db, input, initialPassword)), initialPassword };
    },

    async initTenantWithPassword(input, within) {
      checkNewPassword(input.password, '/password');
      return createTenantWithAdmin(db, input, input.password, within);
    },
  };
}
