import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * The ThingSpace callback tokens, one per credentials row, stored as SHA-256 only: the clear token
 * exists in the URL registered at ThingSpace and nowhere in simbind.
 */

export interface CallbackAccount {
  credentialsId: number;
  /** The stored hash that matched (current or previous), for the caller's constant-time check. */
  tokenHash: Buffer;
}

/**
 * The ThingSpace account whose current token hashes to `tokenHash`, or whose previous one does and
 * was replaced less than `graceMinutes` ago. Looked up by hash: a token's prefix says nothing about
 * its hash, so the index lookup leaks nothing an attacker could build on.
 */
export async function findAccountByCallbackTokenHash(
  db: Executor,
  tokenHash: Buffer,
  graceMinutes: number,
): Promise<CallbackAccount | undefined> {
  const { rows } = await sql<CallbackAccount>`
    SELECT t.credentials_id::int AS "credentialsId", t.token_hash AS "tokenHash"
    FROM carrier_callback_token t JOIN integration_credentials c ON c.id = t.credentials_id
    WHERE c.integration = 'thingspace' AND t.token_hash = ${tokenHash}
    UNION ALL
    SELECT t.credentials_id::int, t.previous_hash
    FROM carrier_callback_token t JOIN integration_credentials c ON c.id = t.credentials_id
    WHERE c.integration = 'thingspace' AND t.previous_hash = ${tokenHash}
      AND t.rotated_at > now() - make_interval(mins => ${graceMinutes})
    LIMIT 1
  `.execute(db);
  return rows[0];
}

/**
 * Locks the credentials row until the caller's transaction ends: registrations of one account are
 * serialised, so the hash stored last is the URL ThingSpace holds last. (NO KEY UPDATE: work
 * orders referencing the row are not held up meanwhile.)
 */
export async function lockCredentials(db: Executor, credentialsId: number): Promise<void> {
  await sql`SELECT 1 FROM integration_credentials WHERE id = ${credentialsId} FOR NO KEY UPDATE`.execute(db);
}

/** Makes `tokenHash` the account's token; the one it replaces stays valid for the grace period. */
export async function rotateCallbackToken(
  db: Executor,
  credentialsId: number,
  tokenHash: Buffer,
): Promise<void> {
  await sql`
    INSERT INTO carrier_callback_token (credentials_id, token_hash) VALUES (${credentialsId}, ${tokenHash})
    ON CONFLICT (credentials_id) DO UPDATE
    SET previous_hash = carrier_callback_token.token_hash, token_hash = EXCLUDED.token_hash, rotated_at = now()
  `.execute(db);
}
