import type { JasperClient } from '../clients/jasper.client.ts';
import type { RevioClient } from '../clients/revio.client.ts';
import type { ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import { findCredentialsWithSecrets } from '../db/repositories/credentials.repository.ts';
import * as repo from '../db/repositories/integration-account.repository.ts';
import type { CarrierIntegration, Integration, PortalType } from '../db/schema.ts';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  UnprocessableError,
} from '../errors.ts';
import { testAccountConnection, type ConnectionTest } from './connection-test.ts';
import { checkBaseUrl, checkFields } from './integration-account-checks.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import type { Principal } from './principal.ts';
import { SecretKeyError, type SecretBox, type Secrets } from './secret-box.ts';

export type { ConnectionTest } from './connection-test.ts';

/**
 * An operator's own accounts at Rev.io, ThingSpace and Jasper (issue 11, item 3), entered through
 * the API by administrators: base URL, account settings, secrets (write-only: sealed, never read
 * back; the answer says when and by whom they were set), rate limits; and **test connection**, one
 * harmless read through the real client (connection-test.ts). Service providers name a carrier
 * account and a portal.
 */

/** The fields each integration needs: settings are shown, secrets never. */
export const ACCOUNT_FIELDS = {
  revio: { settings: ['username', 'clientCode'], secrets: ['password', 'subscriptionKey'] },
  thingspace: { settings: ['username', 'accountName'], secrets: ['appKey', 'appSecret', 'password'] },
  jasper: { settings: ['username'], secrets: ['apiKey'] },
} as const satisfies Record<Integration, { settings: readonly string[]; secrets: readonly string[] }>;

export interface RateLimit {
  requests: number;
  windowMs: number;
  concurrency?: number;
}

export interface AccountInput {
  integration: Integration;
  name: string;
  baseUrl: string;
  settings: Record<string, string>;
  secrets: Record<string, string>;
  rateLimit?: RateLimit | null;
}

export type AccountChange = Partial<Omit<AccountInput, 'integration'>>;

export interface AccountView {
  id: number;
  integration: Integration;
  name: string;
  baseUrl: string;
  settings: Record<string, string>;
  secrets: { fields: string[]; setAt: string | null; setBy: { id: number; name: string } | null };
  rateLimit: RateLimit | null;
  /**
   * ThingSpace accounts: where ThingSpace calls simbind back (PUBLIC_URL). simbind registers the
   * URL at ThingSpace itself, ending in a secret token of the account that is never shown.
   */
  callbackUrl: string | null;
  createdAt: string;
}

export interface IntegrationsService {
  list(principal: Principal): Promise<AccountView[]>;
  create(principal: Principal, input: AccountInput): Promise<AccountView>;
  update(principal: Principal, id: number, change: AccountChange): Promise<AccountView>;
  testConnection(principal: Principal, id: number): Promise<ConnectionTest>;
  createServiceProvider(
    principal: Principal,
    input: { name: string; credentialsId: number; portalType: PortalType },
  ): Promise<{ id: number; name: string; integration: CarrierIntegration; portalType: PortalType }>;
}

function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') {
    throw new ForbiddenError('Only administrators manage integration accounts.');
  }
}

function viewOf(row: repo.IntegrationAccountRow, publicUrl: string): AccountView {
  return {
    id: row.id,
    integration: row.integration,
    name: row.name,
    baseUrl: row.baseUrl,
    settings: row.settings,
    secrets: {
      fields: [...ACCOUNT_FIELDS[row.integration].secrets],
      setAt: row.secretsSetAt?.toISOString() ?? null,
      setBy: row.secretsSetBy,
    },
    rateLimit:
      row.rateLimitRequests && row.rateLimitWindowMs
        ? {
            requests: row.rateLimitRequests,
            windowMs: row.rateLimitWindowMs,
            ...(row.rateLimitConcurrency ? { concurrency: row.rateLimitConcurrency } : {}),
          }
        : null,
    callbackUrl:
      row.integration === 'thingspace'
        ? `${publicUrl.replace(/\/+$/, '')}/api/v1/carrier-callbacks/thingspace/`
        : null,
    createdAt: row.createdAt.toISOString(),
  };
}

export function createIntegrationsService(deps: {
  db: Database;
  box: SecretBox;
  accounts: IntegrationAccounts;
  revio: RevioClient;
  thingspace: ThingSpaceClient;
  jasper: JasperClient;
  /** PUBLIC_URL: the ThingSpace callback URLs are under it. */
  publicUrl: string;
  /** After a good test connection: reads the account's catalogue if it never was (it must not throw). */
  onConnected?: (tenantId: number, credentialsId: number) => Promise<unknown>;
}): IntegrationsService {
  const { db } = deps;

  async function find(principal: Principal, id: number): Promise<repo.IntegrationAccountRow> {
    const [row] = await repo.listIntegrationAccounts(db, principal.tenantId, id);
    if (!row) throw new NotFoundError(`Integration account ${id} not found.`);
    return row;
  }

  /**
   * The account's secrets as stored, to keep those an edit leaves out; none when they do not open
   * (another key): the edit must then give them all.
   */
  async function storedSecrets(tenantId: number, account: repo.IntegrationAccountRow): Promise<Secrets> {
    const row = await findCredentialsWithSecrets(db, account.id);
    if (!row) return {};
    try {
      return deps.box.open(row.secrets, { tenantId, integration: account.integration });
    } catch (error) {
      if (error instanceof SecretKeyError) return {};
      throw error;
    }
  }

  return {
    async list(principal) {
      assertAdmin(principal);
      const rows = await repo.listIntegrationAccounts(db, principal.tenantId);
      return rows.map((row) => viewOf(row, deps.publicUrl));
    },

    async create(principal, input) {
      assertAdmin(principal);
      const fields = ACCOUNT_FIELDS[input.integration];
      const problems = [
        ...checkBaseUrl(input.baseUrl, input.integration),
        ...checkFields('settings', input.settings, fields.settings, input.integration),
        ...checkFields('secrets', input.secrets, fields.secrets, input.integration),
      ];
      if (problems.length > 0) throw new InvalidInputError('The integration account is invalid.', problems);
      const name = input.name.trim();
      if (await repo.accountNameTaken(db, principal.tenantId, name)) {
        throw new ConflictError(`An integration account named "${name}" exists.`);
      }
      const id = await repo.insertIntegrationAccount(db, {
        tenantId: principal.tenantId,
        integration: input.integration,
        userId: principal.userId,
        name,
        baseUrl: input.baseUrl,
        settings: input.settings,
        secrets: deps.box.seal(input.secrets, {
          tenantId: principal.tenantId,
          integration: input.integration,
        }),
        rateLimit: input.rateLimit ?? null,
      });
      return viewOf(await find(principal, id), deps.publicUrl);
    },

    async update(principal, id, change) {
      assertAdmin(principal);
      const existing = await find(principal, id);
      const fields = ACCOUNT_FIELDS[existing.integration];
      const secrets =
        change.secrets === undefined
          ? undefined
          : { ...(await storedSecrets(principal.tenantId, existing)), ...change.secrets };
      const problems = [
        ...(change.baseUrl !== undefined ? checkBaseUrl(change.baseUrl, existing.integration) : []),
        ...(change.settings !== undefined
          ? checkFields('settings', change.settings, fields.settings, existing.integration)
          : []),
        // The secrets given replace those stored; one left out is kept (the screen's empty field).
        ...(secrets !== undefined
          ? checkFields('secrets', secrets, fields.secrets, existing.integration)
          : []),
      ];
      if (problems.length > 0) throw new InvalidInputError('The integration account is invalid.', problems);
      const name = change.name?.trim();
      if (name !== undefined && (await repo.accountNameTaken(db, principal.tenantId, name, id))) {
        throw new ConflictError(`An integration account named "${name}" exists.`);
      }
      await repo.updateIntegrationAccount(db, principal.tenantId, id, principal.userId, {
        name,
        baseUrl: change.baseUrl,
        settings: change.settings,
        secrets:
          secrets !== undefined
            ? deps.box.seal(secrets, {
                tenantId: principal.tenantId,
                integration: existing.integration,
              })
            : undefined,
        rateLimit: change.rateLimit,
      });
      deps.accounts.forget(id);
      return viewOf(await find(principal, id), deps.publicUrl);
    },

    async testConnection(principal, id) {
      assertAdmin(principal);
      const account = await find(principal, id);
      deps.accounts.forget(id);
      return testAccountConnection(deps, account.integration, id, async () =>
        deps.onConnected?.(principal.tenantId, id),
      );
    },

    async createServiceProvider(principal, input) {
      assertAdmin(principal);
      const account = await find(principal, input.credentialsId).catch(() => {
        throw new UnprocessableError('The carrier account does not exist.', [
          { path: '/credentialsId', message: `no integration account ${input.credentialsId}` },
        ]);
      });
      if (account.integration === 'revio') {
        throw new UnprocessableError('A service provider is a carrier account (ThingSpace or Jasper).', [
          { path: '/credentialsId', message: 'is a Rev.io account' },
        ]);
      }
      const name = input.name.trim();
      if (await repo.serviceProviderNameTaken(db, principal.tenantId, name)) {
        throw new ConflictError(`A service provider named "${name}" exists.`);
      }
      const id = await repo.insertServiceProvider(db, {
        tenantId: principal.tenantId,
        name,
        integration: account.integration,
        portalType: input.portalType,
        credentialsId: account.id,
      });
      return { id, name, integration: account.integration, portalType: input.portalType };
    },
  };
}
