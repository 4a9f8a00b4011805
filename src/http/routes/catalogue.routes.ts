import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { described, errorResponses, IdParams, UNAUTHENTICATED } from '../schemas/common.schemas.ts';
import type { Services } from '../../wiring.ts';

/**
 * The catalogues read from the accounts (issue 11, item 3): a Rev customer's Rev.io catalogue for the
 * assignment form, and an administrator's "read it again now" for any integration account.
 */

const Named = Type.Object({ id: Type.Integer(), name: Type.String() });

const RevCatalogue = Type.Object({
  account: Type.Object({ id: Type.Integer(), name: Type.String() }, { description: 'The Rev.io account.' }),
  fetchedAt: Type.String({ description: 'When the account was read.' }),
  refreshError: Type.Union([Type.String(), Type.Null()], {
    description:
      'Set when the catalogue was older than CATALOGUE_TTL_MINUTES and reading the account again failed: ' +
      'the answer is the older catalogue.',
  }),
  serviceTypes: Type.Array(Named),
  products: Type.Array(
    Type.Object({
      id: Type.Integer(),
      name: Type.String(),
      rate: Type.Union([Type.Number(), Type.Null()], { description: 'The default rate.' }),
    }),
  ),
  packages: Type.Array(Named),
  providers: Type.Array(Named),
  usagePlanGroups: Type.Array(Named),
});

const Refreshed = Type.Object({
  accountId: Type.Integer(),
  integration: Type.String(),
  fetchedAt: Type.String(),
  counts: Type.Record(Type.String(), Type.Integer(), {
    description:
      'Rev.io: entries per list (`serviceTypes`, `products`, `packages`, `providers`, `usagePlanGroups`). ' +
      'Carriers: `ratePlans` (and Jasper `communicationPlans`) read, `serviceProviders` updated, ' +
      '`plansAdded`, `plansDeactivated`.',
  }),
});

export function catalogueRoutes(app: TypedApp, { catalogue }: Services): void {
  app.get(
    '/customers/:id/rev-catalogue',
    {
      schema: {
        tags: ['reference data'],
        operationId: 'getCustomerRevCatalogue',
        summary: "The Rev.io catalogue of a Rev customer's account, for the assignment form",
        description:
          'Active service types, products (with default rates), packages, providers and usage plan groups, ' +
          'from the cache of the customer’s Rev.io account; read from the account first when the cache is ' +
          'older than CATALOGUE_TTL_MINUTES.',
        params: IdParams,
        response: {
          200: described(RevCatalogue, 'The catalogue and when it was read.'),
          ...errorResponses({
            400: 'The id is not a positive integer.',
            401: UNAUTHENTICATED,
            404: 'No such customer among those the caller may access.',
            422: 'The customer is not billed in Rev.io (an AMOP customer): it has no Rev.io catalogue.',
            502: 'Nothing is cached and the Rev.io account could not be read (the message says why).',
          }),
        },
      },
    },
    async (request) => catalogue.revCatalogueOf(principalOf(request), request.params.id),
  );

  app.post(
    '/integrations/:id/catalogue/refresh',
    {
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags: ['integrations'],
        operationId: 'refreshIntegrationCatalogue',
        summary: "Read an account's catalogue again now (administrators only)",
        description:
          'Rev.io: service types, products, packages, providers, usage plan groups. ThingSpace: service plans; ' +
          'Jasper: rate and communication plans, into the carrier rate plans of the service providers on the ' +
          'account (a plan no longer listed becomes inactive, never deleted). All or nothing: a failed read ' +
          'leaves the cache as it was.',
        params: IdParams,
        response: {
          200: described(Refreshed, 'What was read.'),
          ...errorResponses({
            400: 'The id is not a positive integer.',
            401: UNAUTHENTICATED,
            403: 'Only administrators refresh the catalogues of integration accounts.',
            404: 'No integration account of the tenant has this id.',
            502: 'The account could not be read (the message names the system and why); nothing changed.',
          }),
        },
      },
    },
    async (request) => catalogue.refresh(principalOf(request), request.params.id),
  );
}
