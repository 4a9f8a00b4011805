import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { findPrincipalByTokenHash } from '../db/repositories/auth.repository.ts';
import { hashApiToken, TOKEN_PREFIX } from './api-tokens.ts';
import type { Principal } from './principal.ts';

/** Sign-in (sessions) lands with the sign-in work; API tokens work already. */
export interface AuthService {
  /** The principal of a session id (from the signed cookie), or undefined when unknown or expired. */
  authenticateSession(sessionId: string): Promise<Principal | undefined>;
  /** The principal of an API token, or undefined when unknown, revoked or expired. */
  authenticateToken(token: string): Promise<Principal | undefined>;
}

export function createAuthService(deps: { db: Database; config: Config }): AuthService {
  return {
    authenticateSession: () => Promise.resolve(undefined),
    async authenticateToken(token) {
      if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
      return findPrincipalByTokenHash(deps.db, hashApiToken(token));
    },
  };
}
