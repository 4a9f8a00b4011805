import type { JasperCredentials } from '../clients/jasper.client.ts';
import type { RevioCredentials } from '../clients/revio.client.ts';
import type { ThingSpaceCredentials } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import { findCredentialsWithSecrets } from '../db/repositories/credentials.repository.ts';
import type { Integration } from '../db/schema.ts';
import { PermanentError } from '../errors.ts';
import type { SecretBox, Secrets } from './secret-box.ts';

/**
 * Turns a credentials row into what a client needs, with `simulator://…` base URLs resolved to the
 * running simulators. Rows are cached for a minute: a chunk makes hundreds of calls per account.
 */

export interface IntegrationAccounts {
  revio(credentialsId: number): Promise<RevioCredentials>;
  thingspace(credentialsId: number): Promise<ThingSpaceCredentials>;
  jasper(credentialsId: number): Promise<JasperCredentials>;
  /** Drops this process's cached row (after an edit; other processes pick it up within a minute). */
  forget(credentialsId: number): void;
}

const TTL_MS = 60_000;

export function createIntegrationAccounts(deps: {
  db: Database;
  resolveBaseUrl: (baseUrl: string) => string;
  /** Opens the row's sealed secrets. */
  secretBox: SecretBox;
}): IntegrationAccounts {
  const cache = new Map<number, { at: number; row: Row }>();
  type Row = Omit<NonNullable<Awaited<ReturnType<typeof findCredentialsWithSecrets>>>, 'secrets'> & {
    secrets: Secrets;
  };

  async function load(id: number, integration: Integration): Promise<Row & { baseUrl: string }> {
    let entry = cache.get(id);
    if (!entry || Date.now() - entry.at > TTL_MS) {
      const stored = await findCredentialsWithSecrets(deps.db, id);
      if (!stored) throw new PermanentError(`credentials ${id} do not exist`, { system: integration });
      let secrets: Secrets;
      try {
        secrets = deps.secretBox.open(stored.secrets, {
          tenantId: stored.tenant_id,
          integration: stored.integration,
        });
      } catch (error) {
        throw new PermanentError(`credentials ${id}: ${(error as Error).message}`, { system: integration });
      }
      entry = { at: Date.now(), row: { ...stored, secrets } };
      cache.set(id, entry);
    }
    if (entry.row.integration !== integration) {
      throw new PermanentError(`credentials ${id} are for ${entry.row.integration}, not ${integration}`, {
        system: integration,
      });
    }
    let baseUrl: string;
    try {
      baseUrl = deps.resolveBaseUrl(entry.row.base_url);
    } catch (error) {
      throw new PermanentError((error as Error).message, { system: integration });
    }
    return { ...entry.row, baseUrl };
  }

  const limit = (row: Row) =>
    row.rate_limit_requests && row.rate_limit_window_ms
      ? {
          requests: row.rate_limit_requests,
          windowMs: row.rate_limit_window_ms,
          ...(row.rate_limit_concurrency ? { concurrency: row.rate_limit_concurrency } : {}),
        }
      : undefined;
  const field = (bag: Record<string, string>, name: string) => bag[name] ?? '';

  return {
    async revio(id) {
      const row = await load(id, 'revio');
      return {
        id: String(id),
        baseUrl: row.baseUrl,
        username: field(row.settings, 'username'),
        clientCode: field(row.settings, 'clientCode'),
        password: field(row.secrets, 'password'),
        subscriptionKey: field(row.secrets, 'subscriptionKey'),
        rateLimit: limit(row),
      };
    },
    async thingspace(id) {
      const row = await load(id, 'thingspace');
      return {
        id: String(id),
        baseUrl: row.baseUrl,
        appKey: field(row.secrets, 'appKey'),
        appSecret: field(row.secrets, 'appSecret'),
        username: field(row.settings, 'username'),
        password: field(row.secrets, 'password'),
        accountName: field(row.settings, 'accountName'),
        rateLimit: limit(row),
      };
    },
    async jasper(id) {
      const row = await load(id, 'jasper');
      return {
        id: String(id),
        baseUrl: row.baseUrl,
        username: field(row.settings, 'username'),
        apiKey: field(row.secrets, 'apiKey'),
        rateLimit: limit(row),
      };
    },
    forget(id) {
      cache.delete(id);
    },
  };
}
