import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../db/database.ts';
import { deleteAttempts } from '../db/repositories/login-attempt.repository.ts';
import {
  anyTenant,
  insertSetupCode,
  lockSetup,
  setupCodeExists,
} from '../db/repositories/setup-code.repository.ts';
import { ConflictError, ForbiddenError } from '../errors.ts';
import { addressKey, LOGIN_LIMITS, reserveAttempt } from './auth.service.ts';
import type { NewTenant, UsersService } from './users.service.ts';

/**
 * The first-run screen (issue 11, item 1): on a database with no tenant, the web app offers to
 * create the tenant and its first admin, as `simbind init` does on the command line. Whoever can
 * reach a fresh install could otherwise claim it, so the screen also asks for a setup code that
 * each API process prints on its terminal at start while no tenant exists (like Jenkins' initial
 * admin password). The codes are kept in the database, hashed, because `api` may run as several
 * processes behind one address: a code printed by any of them works on all. Creating the first
 * tenant, either way, deletes them all.
 */

export interface SetupInput {
  setupCode: string;
  tenantName: string;
  adminEmail: string;
  adminName?: string;
  password: string;
  clientAddress: string;
}

export interface SetupService {
  /** Whether simbind still needs its first tenant. Says nothing else. */
  needed(): Promise<boolean>;
  /**
   * Creates the first tenant and its admin with the chosen password. Conflict once any tenant
   * exists; Forbidden for a wrong code; wrong codes are counted per client address like failed
   * sign-ins (RateLimited past the limit).
   */
  setUp(input: SetupInput): Promise<NewTenant>;
}

export const ALREADY_SET_UP = 'simbind is already set up: sign in instead.';
export const WRONG_SETUP_CODE =
  "The setup code is incorrect. It is printed on simbind's terminal when it starts (a new one at each start).";

/** 128 random bits, 32 hex digits: as long as Jenkins' initial admin password. */
const CODE_BYTES = 16;

/** Spaces, dashes and case are forgiven: the code is read off a terminal and typed. */
export function hashSetupCode(code: string): Buffer {
  return createHash('sha256').update(code.replace(/[\s-]/g, '').toLowerCase()).digest();
}

/**
 * A new setup code while the database has no tenant (undefined once it has one), for the process
 * to print at start. The clear code exists only on that terminal.
 */
export async function issueSetupCode(db: Database): Promise<string | undefined> {
  if (await anyTenant(db)) return undefined;
  const code = randomBytes(CODE_BYTES).toString('hex');
  await insertSetupCode(db, hashSetupCode(code));
  return code;
}

export function createSetupService(deps: { db: Database; users: UsersService }): SetupService {
  const { db } = deps;

  return {
    async needed() {
      return !(await anyTenant(db));
    },

    async setUp(input) {
      if (await anyTenant(db)) throw new ConflictError(ALREADY_SET_UP);
      // Per client address only, like a sign-in's address count: a count per installation would let
      // anyone lock the real administrator out, and 128 random bits are not guessed at 5 tries a
      // quarter of an hour anyway.
      const key = `setup:${addressKey(input.clientAddress)}`;
      await reserveAttempt(db, [{ key, freeFailures: LOGIN_LIMITS.freePerPair }], 'setup');
      const codeHash = hashSetupCode(input.setupCode);
      if (!(await setupCodeExists(db, codeHash))) throw new ForbiddenError(WRONG_SETUP_CODE);
      // The code was right: this address's count starts again, whatever the other fields say.
      await deleteAttempts(db, { keys: [key], rows: [] });
      return deps.users.initTenantWithPassword(
        {
          tenantName: input.tenantName,
          adminEmail: input.adminEmail,
          adminName: input.adminName,
          password: input.password,
        },
        async (trx) => {
          // Two setups at once: the second waits here, then finds the first one's tenant.
          await lockSetup(trx);
          if (await anyTenant(trx)) throw new ConflictError(ALREADY_SET_UP);
          if (!(await setupCodeExists(trx, codeHash))) throw new ForbiddenError(WRONG_SETUP_CODE);
        },
      );
    },
  };
}
