import { sql } from 'kysely';
import type { Database, Executor } from '../database.ts';
import type { SecretBox } from '../../services/secret-box.ts';

/**
 * The ONE query that reads `integration_credentials.secrets` for use. Its result goes to the
 * external clients only; API responses, logs and change logs never see it. (The re-key below reads
 * them too, to seal them again, and returns only counts.)
 */
export async function findCredentialsWithSecrets(db: Executor, id: number) {
  return db
    .selectFrom('integration_credentials')
    .select([
      'id',
      'tenant_id',
      'integration',
      'base_url',
      'settings',
      'secrets',
      'rate_limit_requests',
      'rate_limit_window_ms',
      'rate_limit_concurrency',
    ])
    .where('id', '=', id)
    .executeTakeFirst();
}

export interface RekeyResult {
  rows: number;
  /** Rows that held plain secrets (written before encryption). */
  plain: number;
  /** Rows sealed with a previous key. */
  previous: number;
  /** Rows already sealed with the current key (left as they were). */
  current: number;
}

/**
 * Seals every credentials row's secrets with the box's current key, in one transaction: rows are
 * locked, all are opened first (with the current or a previous key, or as plain rows), and only
 * if every one opens are they written back, in one statement. One that does not open (an unknown
 * key, an altered value) aborts the whole re-key and changes nothing.
 */
export async function rekeySecrets(db: Database, box: SecretBox): Promise<RekeyResult> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('integration_credentials')
      .select(['id', 'tenant_id', 'integration', 'secrets'])
      .orderBy('id')
      .forUpdate()
      .execute();
    const result: RekeyResult = { rows: rows.length, plain: 0, previous: 0, current: 0 };
    const updates: { id: number; secrets: string }[] = [];
    for (const row of rows) {
      if (box.isCurrent(row.secrets)) {
        result.current += 1;
        continue;
      }
      const scope = { tenantId: row.tenant_id, integration: row.integration };
      const opened = box.open(row.secrets, scope);
      if (typeof row.secrets === 'object' && row.secrets !== null && 'sealed' in row.secrets)
        result.previous += 1;
      else result.plain += 1;
      updates.push({ id: row.id, secrets: JSON.stringify(box.seal(opened, scope)) });
    }
    if (updates.length > 0) {
      await sql`
        UPDATE integration_credentials c SET secrets = u.secrets::jsonb, updated_at = now()
        FROM unnest(${updates.map((u) => u.id)}::bigint[], ${updates.map((u) => u.secrets)}::text[])
             AS u(id, secrets)
        WHERE c.id = u.id
      `.execute(trx);
    }
    return result;
  });
}

/** Credentials rows whose secrets are not sealed with the current key (a start-up warning). */
export async function countUnsealed(db: Executor, box: SecretBox): Promise<number> {
  const rows = await db.selectFrom('integration_credentials').select('secrets').execute();
  return rows.filter((r) => !box.isCurrent(r.secrets)).length;
}
