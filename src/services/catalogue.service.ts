import type { JasperClient } from '../clients/jasper.client.ts';
import type { RevioClient } from '../clients/revio.client.ts';
import type { ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import * as repo from '../db/repositories/catalogue.repository.ts';
import { listIntegrationAccounts } from '../db/repositories/integration-account.repository.ts';
import type { Integration } from '../db/schema.ts';
import {
  DomainError,
  ForbiddenError,
  isIntegrationError,
  NotFoundError,
  UnprocessableError,
  UpstreamError,
} from '../errors.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import { mayAccessCustomer, type Principal } from './principal.ts';

/**
 * The catalogues the assignment form picks from (issue 11, item 3), read from the accounts and
 * cached instead of typed as numbers. A Rev.io account's service types, products, packages,
 * providers and usage plan groups go to catalogue_entry; a carrier account's rate plans go to
 * carrier_rate_plan of its service providers (Jasper's communication plans to catalogue_entry).
 *
 * A refresh reads everything first and writes only when every list was read, in one transaction:
 * a failure leaves the cache as it was. It runs on demand (administrators), when a Rev.io catalogue
 * is read and older than CATALOGUE_TTL_MINUTES, and after an account's first good test connection.
 */

export interface RefreshResult {
  accountId: number;
  integration: Integration;
  fetchedAt: string;
  /** Entries read per kind (Rev.io), or plans read and service providers updated (carriers). */
  counts: Record<string, number>;
}

export interface RevCatalogueView {
  account: { id: number; name: string };
  fetchedAt: string;
  /** The cache is older than the TTL and reading the account again failed just now: why. */
  refreshError: string | null;
  serviceTypes: { id: number; name: string }[];
  products: { id: number; name: string; rate: number | null }[];
  packages: { id: number; name: string }[];
  providers: { id: number; name: string }[];
  usagePlanGroups: { id: number; name: string }[];
}

export interface CatalogueService {
  /** Administrators: reads the account's catalogue now. 502 (`UpstreamError`) when it cannot. */
  refresh(principal: Principal, credentialsId: number): Promise<RefreshResult>;
  /** The catalogue of the customer's Rev.io account, read again first when older than the TTL. */
  revCatalogueOf(principal: Principal, customerId: number): Promise<RevCatalogueView>;
  /** After a good test connection: the first refresh of an account that never had one. */
  refreshIfNeverFetched(tenantId: number, credentialsId: number): Promise<RefreshResult | undefined>;
}

const SYSTEM_NAMES: Record<Integration, string> = {
  revio: 'Rev.io',
  thingspace: 'ThingSpace',
  jasper: 'Control Center (Jasper)',
};

/** Rev.io's lists, in the order they are read, with the kind each is cached as. */
const REVIO_KINDS = [
  ['serviceTypes', 'service_type'],
  ['products', 'product'],
  ['packages', 'package'],
  ['providers', 'provider'],
  ['usagePlanGroups', 'usage_plan_group'],
] as const;

export function createCatalogueService(deps: {
  db: Database;
  accounts: IntegrationAccounts;
  revio: RevioClient;
  thingspace: ThingSpaceClient;
  jasper: JasperClient;
  ttlMinutes: number;
  now?: () => Date;
}): CatalogueService {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  /** Every list of a Rev.io account, as cache entries. */
  async function readRevio(credentialsId: number): Promise<repo.CatalogueEntry[]> {
    const creds = await deps.accounts.revio(credentialsId);
    const [serviceTypes, products, packages, providers, groups] = [
      (await deps.revio.listServiceTypes(creds)).value,
      (await deps.revio.listProducts(creds)).value,
      (await deps.revio.listPackages(creds)).value,
      (await deps.revio.listProviders(creds)).value,
      (await deps.revio.listUsagePlanGroups(creds)).value,
    ];
    const entry = (
      kind: repo.CatalogueKind,
      id: number,
      name: string,
      active: boolean,
      rate = null as number | null,
    ) =>
      ({
        kind,
        remoteId: String(id),
        name: name || `#${id}`,
        active,
        rate,
        details: {},
      }) satisfies repo.CatalogueEntry;
    return [
      ...serviceTypes.map((t) => entry('service_type', t.serviceTypeId, t.description, t.active)),
      ...products.map((p) => entry('product', p.productId, p.description, p.active, p.rate)),
      ...packages.map((p) => entry('package', p.packageId, p.description, p.active)),
      ...providers.map((p) => entry('provider', p.providerId, p.name, p.active)),
      ...groups.map((g) => entry('usage_plan_group', g.usagePlanGroupId, g.description, g.active)),
    ];
  }

  async function refreshAccount(
    tenantId: number,
    account: { id: number; integration: Integration; name: string },
  ): Promise<RefreshResult> {
    const fetchedAt = now();
    try {
      switch (account.integration) {
        case 'revio': {
          const entries = await readRevio(account.id);
          const counts = Object.fromEntries(
            REVIO_KINDS.map(([list, kind]) => [list, entries.filter((e) => e.kind === kind).length]),
          );
          await db.transaction().execute(async (trx) => {
            await repo.lockAccountCatalogue(trx, account.id);
            await repo.replaceCatalogue(
              trx,
              { tenantId, credentialsId: account.id, fetchedAt, counts },
              entries,
            );
          });
          return { accountId: account.id, integration: 'revio', fetchedAt: fetchedAt.toISOString(), counts };
        }
        case 'thingspace': {
          const creds = await deps.accounts.thingspace(account.id);
          const plans = (await deps.thingspace.listServicePlans(creds)).value.map((p) => ({
            code: p.code,
            name: p.name,
            active: p.active,
            communicationPlan: null,
          }));
          return await writeCarrier(tenantId, account, fetchedAt, plans, []);
        }
        case 'jasper': {
          const creds = await deps.accounts.jasper(account.id);
          const ratePlans = (await deps.jasper.listRatePlans(creds)).value;
          const commPlans = (await deps.jasper.listCommunicationPlans(creds)).value;
          return await writeCarrier(
            tenantId,
            account,
            fetchedAt,
            ratePlans.map((p) => ({
              code: p.name,
              name: p.description ?? p.name,
              active: p.active,
              communicationPlan: p.communicationPlan,
            })),
            commPlans.map((p) => ({
              kind: 'communication_plan',
              remoteId: p.name,
              name: p.description ?? p.name,
              active: p.active,
              rate: null,
              details: {},
            })),
          );
        }
      }
    } catch (error) {
      // Only a partner's failure is a 502; our own (the database) stays a 500.
      if (!isIntegrationError(error)) throw error;
      throw new UpstreamError(
        `${SYSTEM_NAMES[account.integration]} account "${account.name}" could not be read: ${error.message}. ` +
          'The cached catalogue is unchanged.',
      );
    }
  }

  async function writeCarrier(
    tenantId: number,
    account: { id: number; integration: Integration },
    fetchedAt: Date,
    plans: repo.CarrierPlan[],
    entries: repo.CatalogueEntry[],
  ): Promise<RefreshResult> {
    const counts: Record<string, number> = { ratePlans: plans.length };
    if (account.integration === 'jasper') counts.communicationPlans = entries.length;
    await db.transaction().execute(async (trx) => {
      await repo.lockAccountCatalogue(trx, account.id);
      const written = await repo.upsertCarrierPlans(
        trx,
        { tenantId, credentialsId: account.id, listedAt: fetchedAt },
        plans,
      );
      counts.serviceProviders = written.providers;
      counts.plansAdded = written.added;
      counts.plansDeactivated = written.deactivated;
      await repo.replaceCatalogue(trx, { tenantId, credentialsId: account.id, fetchedAt, counts }, entries);
    });
    return {
      accountId: account.id,
      integration: account.integration,
      fetchedAt: fetchedAt.toISOString(),
      counts,
    };
  }

  async function accountOf(tenantId: number, credentialsId: number) {
    const [row] = await listIntegrationAccounts(db, tenantId, credentialsId);
    return row && { id: row.id, integration: row.integration, name: row.name };
  }

  return {
    async refresh(principal, credentialsId) {
      if (principal.role !== 'admin') {
        throw new ForbiddenError('Only administrators refresh the catalogues of integration accounts.');
      }
      const account = await accountOf(principal.tenantId, credentialsId);
      if (!account) throw new NotFoundError(`Integration account ${credentialsId} not found.`);
      return refreshAccount(principal.tenantId, account);
    },

    async revCatalogueOf(principal, customerId) {
      const customer = mayAccessCustomer(principal, customerId)
        ? await db
            .selectFrom('customer')
            .select(['id', 'name', 'kind', 'rev_credentials_id'])
            .where('tenant_id', '=', principal.tenantId)
            .where('id', '=', customerId)
            .executeTakeFirst()
        : undefined;
      if (!customer) throw new NotFoundError(`Customer ${customerId} not found.`);
      const account =
        customer.kind === 'rev' && customer.rev_credentials_id !== null
          ? await accountOf(principal.tenantId, customer.rev_credentials_id)
          : undefined;
      if (!account || account.integration !== 'revio') {
        throw new UnprocessableError(
          `${customer.name} is not billed in Rev.io (no Rev.io account): it has no Rev.io catalogue.`,
          [{ path: '/customerId', message: 'is not a Rev.io customer' }],
        );
      }

      let fetch = await repo.findCatalogueFetch(db, principal.tenantId, account.id);
      let refreshError: string | null = null;
      const ttlMs = deps.ttlMinutes * 60_000;
      if (!fetch || now().getTime() - fetch.fetchedAt.getTime() > ttlMs) {
        try {
          await refreshAccount(principal.tenantId, account);
          fetch = await repo.findCatalogueFetch(db, principal.tenantId, account.id);
        } catch (error) {
          // A stale catalogue beats none: the form still works, and says how old it is.
          if (!(error instanceof UpstreamError) || !fetch) throw error;
          refreshError = error.message;
        }
      }
      const entries = await repo.listCatalogueEntries(db, account.id);
      const of = (kind: repo.CatalogueKind) =>
        entries.filter((e) => e.kind === kind).map((e) => ({ id: Number(e.remoteId), name: e.name }));
      return {
        account: { id: account.id, name: account.name },
        fetchedAt: fetch!.fetchedAt.toISOString(),
        refreshError,
        serviceTypes: of('service_type'),
        products: entries
          .filter((e) => e.kind === 'product')
          .map((e) => ({ id: Number(e.remoteId), name: e.name, rate: e.rate })),
        packages: of('package'),
        providers: of('provider'),
        usagePlanGroups: of('usage_plan_group'),
      };
    },

    async refreshIfNeverFetched(tenantId, credentialsId) {
      if (await repo.findCatalogueFetch(db, tenantId, credentialsId)) return undefined;
      const account = await accountOf(tenantId, credentialsId);
      if (!account) return undefined;
      try {
        return await refreshAccount(tenantId, account);
      } catch (error) {
        // The connection works; the catalogue will be read on first use or on demand.
        if (error instanceof DomainError) return undefined;
        throw error;
      }
    },
  };
}
