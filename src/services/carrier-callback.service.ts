import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseCarrierCallback, type ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import * as tokens from '../db/repositories/callback-token.repository.ts';
import { NotFoundError } from '../errors.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import type { ProcessingService } from './processing.service.ts';

/**
 * ThingSpace's asynchronous results. ThingSpace cannot sign its callbacks, so the URL we register
 * carries a random token, one per ThingSpace account (credentials row): the token says which
 * account a callback speaks for, and it settles only the requests sent with that account. Only the
 * token's SHA-256 is stored; the clear token exists in the URL held by ThingSpace.
 */

export interface CarrierCallbackService {
  /**
   * Registers our CarrierService callback for a ThingSpace account with a fresh token, once per
   * process: a lost registration or a changed PUBLIC_URL is repaired by the next process start.
   */
  ensureRegistered(credentialsId: number): Promise<void>;
  /** A callback body from ThingSpace; unknown tokens are answered as absent routes. */
  receive(token: string, body: unknown): Promise<{ applied: number }>;
}

/** 32 random bytes, base64url (43 characters). */
const TOKEN_BYTES = 32;
/**
 * How long the token replaced by a registration still authenticates: ThingSpace may deliver a result
 * to the old URL just after we registered the new one (another worker starting).
 */
const PREVIOUS_TOKEN_GRACE_MINUTES = 10;

export const callbackTokenHash = (token: string): Buffer => createHash('sha256').update(token).digest();

export function createCarrierCallbackService(deps: {
  db: Database;
  publicUrl: string;
  thingspace: ThingSpaceClient;
  accounts: IntegrationAccounts;
  processing: () => ProcessingService;
  log?: (message: string) => void;
}): CarrierCallbackService {
  const registered = new Map<number, Promise<void>>();

  async function register(credentialsId: number): Promise<void> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const url = `${deps.publicUrl}/api/v1/carrier-callbacks/thingspace/${token}`;
    const creds = await deps.accounts.thingspace(credentialsId);
    // The row lock serialises the account's registrations (several workers starting at once), so the
    // hash stored last belongs to the URL ThingSpace holds last. The hash is stored only once
    // ThingSpace has the URL; until then the previous token keeps working.
    await deps.db.transaction().execute(async (trx) => {
      await tokens.lockCredentials(trx, credentialsId);
      await deps.thingspace.registerCallback(creds, url);
      await tokens.rotateCallbackToken(trx, credentialsId, callbackTokenHash(token));
    });
  }

  return {
    ensureRegistered(credentialsId) {
      let pending = registered.get(credentialsId);
      if (!pending) {
        pending = register(credentialsId).catch((error: unknown) => {
          // Not fatal: the status poll finds the results anyway. Try again next time.
          registered.delete(credentialsId);
          deps.log?.(`ThingSpace callback registration failed: ${(error as Error).message}`);
        });
        registered.set(credentialsId, pending);
      }
      return pending;
    },

    async receive(given, body) {
      const hash = callbackTokenHash(given);
      const account = await tokens.findAccountByCallbackTokenHash(
        deps.db,
        hash,
        PREVIOUS_TOKEN_GRACE_MINUTES,
      );
      // The lookup already compared hashes; comparing again in constant time costs nothing and keeps
      // the check independent of how the database compares bytea.
      if (!account || account.tokenHash.length !== hash.length || !timingSafeEqual(account.tokenHash, hash)) {
        throw new NotFoundError('No such callback.');
      }
      const callback = parseCarrierCallback(body);
      const applied = await deps
        .processing()
        .completeCarrierRequests(
          account.credentialsId,
          [{ requestId: callback.requestId, status: callback.status, faultString: callback.faultString }],
          'callback',
        );
      return { applied };
    },
  };
}
