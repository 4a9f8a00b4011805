import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { Role } from '../db/schema.ts';

/**
 * Who is asking: resolved once per request from the session cookie or the bearer token, then passed
 * to every service call. Every query a service makes is scoped by `tenantId`.
 */
export interface Principal {
  userId: number;
  tenantId: number;
  email: string;
  name: string;
  role: Role;
  /** true: every customer of the tenant; false: only `customerIds`. */
  allCustomers: boolean;
  customerIds: readonly number[];
  /** How the request authenticated. */
  via: 'session' | 'token';
}

export function requirePrincipal(principal: Principal | undefined): Principal {
  if (!principal)
    throw new UnauthenticatedError('Sign in, or send an API token as "Authorization: Bearer …".');
  return principal;
}

/** admin and operator change things; viewer only reads. */
export function assertMayChange(principal: Principal): void {
  if (principal.role === 'viewer') {
    throw new ForbiddenError('Your role (viewer) may read bulk changes but not create or change them.');
  }
}

export function mayAccessCustomer(principal: Principal, customerId: number): boolean {
  return principal.allCustomers || principal.customerIds.includes(customerId);
}
