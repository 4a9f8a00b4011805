import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * Setup codes of the first-run screen (migration 0013): hashes only, one row per code printed.
 * Raw SQL: the table is small and read only here.
 */

export async function insertSetupCode(db: Executor, codeHash: Buffer): Promise<void> {
  await sql`INSERT INTO setup_code (code_hash) VALUES (${codeHash}) ON CONFLICT DO NOTHING`.execute(db);
}

export async function setupCodeExists(db: Executor, codeHash: Buffer): Promise<boolean> {
  const { rows } = await sql`SELECT 1 FROM setup_code WHERE code_hash = ${codeHash}`.execute(db);
  return rows.length > 0;
}

/** Every code stops working (the first tenant exists now). */
export async function deleteSetupCodes(db: Executor): Promise<void> {
  await sql`DELETE FROM setup_code`.execute(db);
}

export async function anyTenant(db: Executor): Promise<boolean> {
  const { rows } = await sql`SELECT 1 FROM tenant LIMIT 1`.execute(db);
  return rows.length > 0;
}

/**
 * Serialises first-run setups (all processes): held until the transaction ends, so of two setups
 * at once the second sees the tenant the first created. The key is arbitrary but fixed.
 */
export async function lockSetup(db: Executor): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended('simbind.first_run_setup', 0))`.execute(db);
}
