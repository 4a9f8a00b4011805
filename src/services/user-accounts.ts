import { randomBytes } from 'node:crypto';
import type { Executor } from '../db/database.ts';
import * as users from '../db/repositories/user.repository.ts';
import type { Role } from '../db/schema.ts';
import { ConflictError, InvalidInputError } from '../errors.ts';

/** A person's account as shown, and the rules on what a new one may be called and protected by. */

export interface UserView {
  id: number;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  /** null: every customer of the tenant; otherwise only these. */
  customerIds: number[] | null;
  createdAt: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const MIN_PASSWORD_LENGTH = 12;

/** 20 characters of base64url: ~120 random bits, typed once and then changed. */
export function oneTimePassword(): string {
  return randomBytes(15).toString('base64url');
}

export function userViewOf(row: users.UserRow): UserView {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    active: row.active,
    customerIds: row.allCustomers ? null : row.customerIds,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The one password rule, wherever a person chooses a password. */
export function checkNewPassword(password: string, path: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new InvalidInputError('The new password is too short.', [
      { path, message: `must have at least ${MIN_PASSWORD_LENGTH} characters` },
    ]);
  }
}

export async function checkNewEmail(db: Executor, email: string, path = '/email'): Promise<string> {
  const normalized = email.trim().toLowerCase();
  if (!EMAIL.test(normalized)) {
    throw new InvalidInputError('The e-mail address is invalid.', [
      { path, message: 'is not an e-mail address' },
    ]);
  }
  if (await users.emailTaken(db, normalized)) {
    throw new ConflictError(`A user with the e-mail ${normalized} already exists.`);
  }
  return normalized;
}
