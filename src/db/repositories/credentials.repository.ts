import { sql } from 'kysely';
import type { Database, Executor } from '../database.ts';
import { isSealed, SecretKeyError, webhookSecretScope, type SecretBox } from '../../services/secret-box.ts';

/**
 * The ONE query that reads `integration_credentials.secrets` for use. Its result goes to the
 * external clients only (and back into the row, when an edit keeps the secrets it does not
 * replace); API responses, logs and change logs never see it. (The re-key below reads
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

export interface RekeyCounts {
  rows: number;
  /** Rows that held plain secrets (written before encryption). */
  plain: number;
  /** Rows sealed with a previous key. */
  previous: number;
  /** Rows already sealed with the current key (left as they were). */
  current: number;
}

/** The integration accounts' counts, and the webhook endpoints' signing secrets. */
export interface RekeyResult extends RekeyCounts {
  webhooks: RekeyCounts;
}

/**
 * Seals every secret at rest with the box's current key, in one transaction: the integration
 * accounts' secrets and the webhook endpoints' signing secrets. Rows are locked, all are opened
 * first (with the current or a previous key, or as plain rows), and only if every one opens are
 * they written back, one statement per table. One that does not open (an unknown key, an altered
 * value) aborts the whole re-key and changes nothing.
 */
export async function rekeySecrets(db: Database, box: SecretBox): Promise<RekeyResult> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('integration_credentials')
      .select(['id', 'tenant_id', 'integration', 'secrets'])
      .orderBy('id')
      .forUpdate()
      .execute();
    const result: RekeyResult = { ...zero(rows.length), webhooks: zero(0) };
    const updates: { id: number; secrets: string }[] = [];
    for (const row of rows) {
      if (box.isCurrent(row.secrets)) {
        result.current += 1;
        continue;
      }
      const scope = { tenantId: row.tenant_id, integration: row.integration };
      const opened = box.open(row.secrets, scope);
      if (isSealed(row.secrets)) result.previous += 1;
      else result.plain += 1;
      updates.push({ id: row.id, secrets: JSON.stringify(box.seal(opened, scope)) });
    }

    const endpoints = await trx
      .selectFrom('webhook_endpoint')
      .select(['id', 'tenant_id', 'secret', 'sealed_secret'])
      .orderBy('id')
      .forUpdate()
      .execute();
    const hooks = (result.webhooks = zero(endpoints.length));
    const resealed: { id: number; sealed: string }[] = [];
    for (const row of endpoints) {
      if (box.isCurrent(row.sealed_secret)) {
        hooks.current += 1;
        continue;
      }
      const scope = webhookSecretScope(row.tenant_id, row.id);
      let signingSecret: string | undefined;
      if (row.sealed_secret !== null) {
        signingSecret = box.open(row.sealed_secret, scope).signingSecret;
        hooks.previous += 1;
      } else {
        signingSecret = row.secret ?? undefined;
        hooks.plain += 1;
      }
      if (signingSecret === undefined) {
        throw new SecretKeyError(`webhook endpoint ${row.id} holds no signing secret`);
      }
      resealed.push({ id: row.id, sealed: JSON.stringify(box.seal({ signingSecret }, scope)) });
    }

    if (updates.length > 0) {
      await sql`
        UPDATE integration_credentials c SET secrets = u.secrets::jsonb, updated_at = now()
        FROM unnest(${updates.map((u) => u.id)}::bigint[], ${updates.map((u) => u.secrets)}::text[])
             AS u(id, secrets)
        WHERE c.id = u.id
      `.execute(trx);
    }
    if (resealed.length > 0) {
      await sql`
        UPDATE webhook_endpoint e SET sealed_secret = u.sealed::jsonb, secret = NULL
        FROM unnest(${resealed.map((u) => u.id)}::bigint[], ${resealed.map((u) => u.sealed)}::text[])
             AS u(id, sealed)
        WHERE e.id = u.id
      `.execute(trx);
    }
    return result;
  });
}

const zero = (rows: number): RekeyCounts => ({ rows, plain: 0, previous: 0, current: 0 });

/**
 * Rows holding secrets not sealed with the current key (a start-up warning): integration accounts
 * and webhook endpoints.
 */
export async function countUnsealed(db: Executor, box: SecretBox): Promise<number> {
  const accounts = await db.selectFrom('integration_credentials').select('secrets').execute();
  const endpoints = await db.selectFrom('webhook_endpoint').select('sealed_secret').execute();
  return (
    accounts.filter((r) => !box.isCurrent(r.secrets)).length +
    endpoints.filter((r) => !box.isCurrent(r.sealed_secret)).length
  );
}
