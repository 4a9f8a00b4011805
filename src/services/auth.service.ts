import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config, TrustProxy } from '../config.ts';
import type { Database } from '../db/database.ts';
import {
  deleteExpiredSessions,
  deleteSession,
  findLoginUser,
  findPrincipalBySessionHash,
  findPrincipalByTokenHash,
  findUserProfile,
  insertApiToken,
  insertSession,
  listApiTokens,
  revokeApiToken,
  type ApiTokenSummary,
  type UserProfile,
} from '../db/repositories/auth.repository.ts';
import {
  deleteAttempts,
  deleteStaleAttempts,
  insertAttempts,
  lockAttemptKeys,
  secondsUntilAllowed,
  type AttemptLimit,
  type AttemptRow,
} from '../db/repositories/login-attempt.repository.ts';
import {
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  RateLimitedError,
  UnauthenticatedError,
} from '../errors.ts';
import { generateApiToken, hashApiToken, TOKEN_PREFIX } from './api-tokens.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { Principal } from './principal.ts';

export type { ApiTokenSummary, UserProfile };

/**
 * Failed sign-ins are counted per (client address, e-mail) and per client address, across all
 * processes. Past its free failures a key's next attempt waits, 1 s, 2 s, 4 s … up to 15 minutes:
 * a guesser is slowed to a few tries an hour while the account stays open to its owner from any
 * other address. Nothing is counted per e-mail alone: that would let anyone lock any account.
 */
export const LOGIN_LIMITS = {
  /** One e-mail from one address: a user's own typos stay free. */
  freePerPair: 5,
  /** All e-mails from one address (an office behind one NAT shares it). */
  freePerAddress: 50,
  firstDelaySeconds: 1,
  maxDelaySeconds: 15 * 60,
  windowSeconds: 15 * 60,
} as const;

/** The same words for an unknown e-mail, a wrong password and a deactivated user: no enumeration. */
export const BAD_CREDENTIALS = 'The e-mail or password is incorrect.';

export interface SignIn {
  user: UserProfile;
  /** Goes into the signed cookie; only its SHA-256 is stored. */
  sessionId: string;
  expiresAt: Date;
  maxAgeSeconds: number;
}

export interface CreatedApiToken {
  id: number;
  name: string;
  /** The secret: shown to its owner once, never stored or logged. */
  token: string;
  prefix: string;
  expiresAt: Date | null;
}

export interface NewApiToken {
  name: string;
  /** Default API_TOKEN_DAYS (`config.auth.apiTokenDays`); no expiry when that is 0. */
  expiresInDays?: number;
}

export interface AuthService {
  /**
   * TRUST_PROXY, for the HTTP layer: whose `X-Forwarded-*` headers name the client. The address
   * sign-in failures are counted under, and whether the session cookie is Secure, follow from it.
   */
  readonly trustProxy: TrustProxy;
  /** Checks the rate limits, then the password; starts a session. */
  login(input: { email: string; password: string; clientAddress: string }): Promise<SignIn>;
  /** Ends the session with this id (a no-op for an unknown one). */
  logout(sessionId: string): Promise<void>;
  currentUser(principal: Principal): Promise<UserProfile>;
  /** The principal of a session id (from the signed cookie), or undefined when unknown or expired. */
  authenticateSession(sessionId: string): Promise<Principal | undefined>;
  /** The principal of an API token, or undefined when unknown, revoked or expired. */
  authenticateToken(token: string): Promise<Principal | undefined>;
  createApiToken(principal: Principal, input: NewApiToken): Promise<CreatedApiToken>;
  /** For the operator's CLI: a token for the active user with this e-mail. */
  issueApiToken(input: NewApiToken & { email: string }): Promise<CreatedApiToken>;
  /** The principal's unrevoked tokens, newest first: up to `limit + 1` rows, so the caller can page. */
  listApiTokens(principal: Principal, page: { limit: number; beforeId?: number }): Promise<ApiTokenSummary[]>;
  /** Revokes one of the principal's own tokens; another user's answers NotFound. */
  revokeApiToken(principal: Principal, id: number): Promise<void>;
  /** For the operator's CLI: revokes any token. */
  revokeApiTokenById(id: number): Promise<void>;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Records this attempt as a failure BEFORE the password is checked, inside a lock per key: a burst
 * of parallel guesses cannot all pass a count taken before any of them was recorded. Success takes
 * the records back (see login; the first-run setup counts wrong setup codes the same way). Throws
 * RateLimitedError while a key must still wait; a refused attempt is not recorded, so waiting it out
 * is always enough.
 */
export async function reserveAttempt(
  db: Database,
  limits: AttemptLimit[],
  what = 'sign-in',
): Promise<AttemptRow[]> {
  const sorted = [...limits].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keys = sorted.map((l) => l.key);
  const outcome: { retryAfterSeconds: number } | { reserved: AttemptRow[] } = await db
    .transaction()
    .execute(async (trx) => {
      await lockAttemptKeys(trx, keys);
      const retryAfterSeconds = await secondsUntilAllowed(trx, sorted, LOGIN_LIMITS);
      if (retryAfterSeconds !== undefined) return { retryAfterSeconds };
      return { reserved: await insertAttempts(trx, keys) };
    });
  if ('retryAfterSeconds' in outcome) {
    throw new RateLimitedError(
      `Too many failed ${what} attempts. Try again in ${outcome.retryAfterSeconds} seconds.`,
      outcome.retryAfterSeconds,
    );
  }
  return outcome.reserved;
}

export function createAuthService(deps: { db: Database; config: Config }): AuthService {
  const { db } = deps;
  const ttlHours = deps.config.auth.sessionTtlHours;

  // Unknown e-mails are verified against this, so they take as long as a wrong password. Hashed
  // with the current parameters at start (one ~50 ms scrypt), so it follows any change of cost.
  const dummyHash = hashPassword(randomBytes(16).toString('base64'));
  dummyHash.catch(() => undefined);

  async function issue(
    owner: { tenantId: number; userId: number },
    input: NewApiToken,
  ): Promise<CreatedApiToken> {
    const name = input.name.trim();
    if (!name) throw new InvalidInputError('A token needs a name.', [{ path: '/name', message: 'is empty' }]);
    const { expiresInDays } = input;
    if (expiresInDays !== undefined && (!Number.isInteger(expiresInDays) || expiresInDays < 1)) {
      throw new InvalidInputError('expiresInDays must be a whole number of days, at least 1.', [
        { path: '/expiresInDays', message: 'must be an integer ≥ 1' },
      ]);
    }
    // A forgotten token must not work forever: API_TOKEN_DAYS unless the creator chose (0: no default).
    const days = expiresInDays ?? deps.config.auth.apiTokenDays;
    const expiresAt = days === 0 ? null : new Date(Date.now() + days * 86_400_000);
    const { token, hash, prefix } = generateApiToken();
    const id = await insertApiToken(db, {
      ...owner,
      name,
      tokenHash: hash,
      tokenPrefix: prefix,
      ...(expiresAt ? { expiresAt } : {}),
    });
    return { id, name, token, prefix, expiresAt };
  }

  return {
    trustProxy: deps.config.http.trustProxy,

    async login({ email, password, clientAddress }) {
      const normalized = email.trim().toLowerCase();
      const address = addressKey(clientAddress);
      const pairKey = `pair:${address} ${normalized}`;
      const reserved = await reserveAttempt(db, [
        { key: pairKey, freeFailures: LOGIN_LIMITS.freePerPair },
        { key: `ip:${address}`, freeFailures: LOGIN_LIMITS.freePerAddress },
      ]);

      const user = await findLoginUser(db, normalized);
      const matches = await verifyPassword(password, user?.passwordHash ?? (await dummyHash));
      // A failure needs no further write: the reservation above is its record.
      if (!user || !matches || !user.active) throw new UnauthenticatedError(BAD_CREDENTIALS);

      const sessionId = randomBytes(32).toString('base64url');
      const expiresAt = await db.transaction().execute(async (trx) => {
        // Success clears this e-mail's failures from this address, and takes back only its own
        // address record: one valid account must not reset the count for guesses at other accounts.
        await deleteAttempts(trx, {
          keys: [pairKey],
          rows: reserved.filter((r) => r.key !== pairKey),
        });
        return insertSession(trx, {
          idHash: hashSessionId(sessionId),
          tenantId: user.tenant.id,
          userId: user.id,
          ttlHours,
        });
      });
      // Opportunistic clean-up, set-based; sign-ins are rare enough to carry it.
      await deleteExpiredSessions(db);
      await deleteStaleAttempts(db, LOGIN_LIMITS.windowSeconds);

      const { active: _active, passwordHash: _hash, ...profile } = user;
      return { user: profile, sessionId, expiresAt, maxAgeSeconds: ttlHours * 3600 };
    },

    async logout(sessionId) {
      if (SESSION_ID.test(sessionId)) await deleteSession(db, hashSessionId(sessionId));
    },

    async currentUser(principal) {
      const profile = await findUserProfile(db, principal.userId);
      if (!profile) throw new UnauthenticatedError('This user no longer exists or was deactivated.');
      return profile;
    },

    async authenticateSession(sessionId) {
      if (!SESSION_ID.test(sessionId)) return undefined;
      return findPrincipalBySessionHash(db, hashSessionId(sessionId));
    },

    async authenticateToken(token) {
      if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
      return findPrincipalByTokenHash(db, hashApiToken(token));
    },

    async createApiToken(principal, input) {
      // A token must not mint tokens: a leaked one could otherwise outlive its own revocation.
      if (principal.via !== 'session') {
        throw new ForbiddenError(
          'API tokens are created from a signed-in session (or with `simbind token create`).',
        );
      }
      return issue({ tenantId: principal.tenantId, userId: principal.userId }, input);
    },

    async issueApiToken(input) {
      const user = await findLoginUser(db, input.email.trim());
      if (!user?.active) throw new NotFoundError(`No active user with the e-mail ${input.email}.`);
      return issue({ tenantId: user.tenant.id, userId: user.id }, input);
    },

    async listApiTokens(principal, page) {
      return listApiTokens(db, { userId: principal.userId, limit: page.limit + 1, beforeId: page.beforeId });
    },

    async revokeApiToken(principal, id) {
      if (!(await revokeApiToken(db, { id, userId: principal.userId }))) {
        throw new NotFoundError(`You have no API token ${id}.`);
      }
    },

    async revokeApiTokenById(id) {
      if (!(await revokeApiToken(db, { id }))) throw new NotFoundError(`There is no API token ${id}.`);
    },
  };
}

/**
 * The address failures are counted under: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 —
 * a single host is commonly given a whole /64 and could otherwise rotate through it.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped) return mapped[1]!;
  if (isIP(bare) !== 6) return bare;
  const [head = '', tail] = bare.split('::');
  const groups = (part: string | undefined) =>
    part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : [];
  const front = groups(head);
  const back = groups(tail);
  const all =
    tail === undefined
      ? front
      : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** Session ids have 256 random bits, so a fast hash suffices; the table holds only this. */
export function hashSessionId(sessionId: string): Buffer {
  return createHash('sha256').update(sessionId).digest();
}
