import { randomBytes, timingSafeEqual } from 'node:crypto';
import { parseCarrierCallback, type ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import { NotFoundError } from '../errors.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import type { ProcessingService } from './processing.service.ts';

/**
 * ThingSpace's asynchronous results. The callback URL carries a random token (ThingSpace cannot
 * sign its callbacks), generated once and kept in the database so every process agrees on it.
 */

export interface CarrierCallbackService {
  /** Registers our CarrierService callback for a ThingSpace account, once per process. */
  ensureRegistered(credentialsId: number): Promise<void>;
  /** A callback body from ThingSpace; unknown tokens are answered as absent routes. */
  receive(token: string, body: unknown): Promise<{ applied: number }>;
}

const SETTING = 'thingspace_callback_token';

export function createCarrierCallbackService(deps: {
  db: Database;
  publicUrl: string;
  thingspace: ThingSpaceClient;
  accounts: IntegrationAccounts;
  processing: () => ProcessingService;
  log?: (message: string) => void;
}): CarrierCallbackService {
  let token: Promise<string> | undefined;
  const registered = new Map<number, Promise<void>>();

  const loadToken = () =>
    (token ??= (async () => {
      await deps.db
        .insertInto('app_setting')
        .values({ key: SETTING, value: randomBytes(24).toString('base64url') })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const row = await deps.db
        .selectFrom('app_setting')
        .select('value')
        .where('key', '=', SETTING)
        .executeTakeFirstOrThrow();
      return row.value;
    })());

  return {
    ensureRegistered(credentialsId) {
      let pending = registered.get(credentialsId);
      if (!pending) {
        pending = (async () => {
          const url = `${deps.publicUrl}/api/v1/carrier-callbacks/thingspace/${await loadToken()}`;
          const creds = await deps.accounts.thingspace(credentialsId);
          await deps.thingspace.registerCallback(creds, url);
        })().catch((error: unknown) => {
          // Not fatal: the status poll finds the results anyway. Try again next time.
          registered.delete(credentialsId);
          deps.log?.(`ThingSpace callback registration failed: ${(error as Error).message}`);
        });
        registered.set(credentialsId, pending);
      }
      return pending;
    },

    async receive(given, body) {
      const expected = Buffer.from(await loadToken());
      const actual = Buffer.from(given);
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
        throw new NotFoundError('No such callback.');
      }
      const callback = parseCarrierCallback(body);
      const applied = await deps
        .processing()
        .completeCarrierRequests(
          [{ requestId: callback.requestId, status: callback.status, faultString: callback.faultString }],
          'callback',
        );
      return { applied };
    },
  };
}
