import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { described, errorResponses, Id, IdParams, Text, UNAUTHENTICATED } from '../schemas/common.schemas.ts';
import { CUSTOMER_IMPORT_COLUMNS, MAX_CUSTOMER_IMPORT_ROWS } from '../../services/customer-import.service.ts';
import { IMPORT_COLUMNS, MAX_IMPORT_ROWS } from '../../services/device-import.service.ts';
import type { Services } from '../../wiring.ts';

/**
 * An operator's own world, without SQL (issue 11): customers and their sites, customer rate plans
 * and pools, and devices from a CSV file. Administrators only.
 */

const ADMIN_ONLY = 'Only administrators manage customers, plans and devices.';
const Money = Type.Number({ minimum: 0, maximum: 1_000_000 });

export function onboardingRoutes(app: TypedApp, { customers, customerImport, deviceImport }: Services): void {
  const tags = ['onboarding'];

  app.post(
    '/customers',
    {
      schema: {
        tags,
        operationId: 'createCustomer',
        summary:
          'Add a customer: AMOP (not billed in Rev.io), or a Rev.io customer checked in its Rev.io account',
        description: 'A default site is created with it ("Headquarters" unless `site` names it).',
        body: Type.Object(
          {
            name: Text({ minLength: 1, maxLength: 200 }),
            kind: Type.Union([Type.Literal('amop'), Type.Literal('rev')]),
            revCustomerId: Type.Optional(Id({ description: 'Rev.io customers: its id in Rev.io.' })),
            revCredentialsId: Type.Optional(
              Id({ description: 'Rev.io customers: the Rev.io account billing it.' }),
            ),
            site: Type.Optional(
              Type.Object(
                {
                  name: Text({ minLength: 1, maxLength: 200 }),
                  address: Type.Optional(Text({ maxLength: 500 })),
                },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: described(
            Type.Object({
              id: Type.Integer(),
              name: Type.String(),
              kind: Type.String(),
              revCustomerId: Type.Union([Type.Integer(), Type.Null()]),
              defaultSiteId: Type.Integer(),
            }),
            'Created, with its default site.',
          ),
          ...errorResponses({
            400: 'The body is invalid: `error.details` names the fields.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            409: 'A customer with this Rev.io id exists.',
            422: 'Rev.io does not know the customer, or the Rev.io account does not exist.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await customers.createCustomer(principalOf(request), request.body)),
  );

  app.post(
    '/customers/import',
    {
      bodyLimit: BODY_LIMITS.submission,
      schema: {
        tags,
        operationId: 'importCustomers',
        summary: 'Import customers, each with its default site, from a CSV file',
        description:
          `Columns (header row): ${CUSTOMER_IMPORT_COLUMNS.join(', ')}; \`name\` and \`kind\` (\`amop\` or ` +
          '`rev`) required. A `rev` row gives `rev_customer_id` (its id in Rev.io) and `rev_account` (the name ' +
          "or id of one of the tenant's Rev.io accounts; may be left empty when the tenant has only one). " +
          `\`site_name\` (default "Headquarters") and \`site_address\` make the default site. At most ` +
          `${MAX_CUSTOMER_IMPORT_ROWS.toLocaleString('en')} rows. Every row is checked first: one bad row ` +
          'refuses the file, listing the problems as `/rows/<line>/<column>`, and nothing is written. ' +
          'Importing a file again creates nothing twice: an AMOP row matches a customer by name (any case) ' +
          'and is left unchanged, a Rev.io row matches by Rev.io id and takes the name of the file; existing ' +
          'customers keep their sites. Rev.io ids are not looked up in Rev.io (the Rev.io customer sync does).',
        body: Type.Object(
          {
            csv: Type.String({
              minLength: 1,
              maxLength: 16 * 1024 * 1024,
              description: 'The file, as text.',
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: described(
            Type.Object({
              rows: Type.Integer(),
              created: Type.Integer(),
              updated: Type.Integer(),
              unchanged: Type.Integer(),
            }),
            'Imported: how many rows, customers created, renamed, and already there as in the file.',
          ),
          ...errorResponses({
            400: 'The file or a row is invalid: `error.details` lists them.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            409: 'A Rev.io customer of the file was created meanwhile (by the API or a sync): import again.',
            413: 'More rows than allowed.',
          }),
        },
      },
    },
    async (request) => customerImport.importCsv(principalOf(request), request.body.csv),
  );

  app.post(
    '/customers/:id/sites',
    {
      schema: {
        tags,
        operationId: 'createSite',
        summary: 'Add a site to a customer',
        params: IdParams,
        body: Type.Object(
          {
            name: Text({ minLength: 1, maxLength: 200 }),
            address: Type.Optional(Text({ maxLength: 500 })),
            isDefault: Type.Optional(Type.Boolean({ description: 'true: becomes the default site.' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: described(
            Type.Object({
              id: Type.Integer(),
              customerId: Type.Integer(),
              name: Type.String(),
              isDefault: Type.Boolean(),
            }),
            'Created.',
          ),
          ...errorResponses({
            400: 'The body is invalid.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: 'No customer of the tenant has this id.',
            409: 'The customer has a site with this name.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await customers.createSite(principalOf(request), request.params.id, request.body)),
  );

  app.post(
    '/rate-plans',
    {
      schema: {
        tags,
        operationId: 'createCustomerRatePlan',
        summary: 'Add a customer rate plan',
        body: Type.Object(
          {
            code: Text({ minLength: 1, maxLength: 50 }),
            name: Text({ minLength: 1, maxLength: 200 }),
            dataAllocationMb: Money,
            monthlyRate: Money,
          },
          { additionalProperties: false },
        ),
        response: {
          201: described(Type.Object({ id: Type.Integer(), code: Type.String() }), 'Created.'),
          ...errorResponses({
            400: 'The body is invalid.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            409: 'A plan with this code exists.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await customers.createRatePlan(principalOf(request), request.body)),
  );

  app.post(
    '/rate-pools',
    {
      schema: {
        tags,
        operationId: 'createCustomerRatePool',
        summary: 'Add a customer rate pool',
        body: Type.Object(
          { name: Text({ minLength: 1, maxLength: 200 }), sharedDataMb: Money },
          { additionalProperties: false },
        ),
        response: {
          201: described(Type.Object({ id: Type.Integer(), name: Type.String() }), 'Created.'),
          ...errorResponses({
            400: 'The body is invalid.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            409: 'A pool with this name exists.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await customers.createRatePool(principalOf(request), request.body)),
  );

  app.post(
    '/service-providers/:id/devices/import',
    {
      bodyLimit: BODY_LIMITS.submission,
      schema: {
        tags,
        operationId: 'importDevices',
        summary: 'Import devices from a CSV file (carriers without an API, a first load)',
        description:
          `Columns (header row): ${IMPORT_COLUMNS.join(', ')}; \`iccid\` required, at most ` +
          `${MAX_IMPORT_ROWS.toLocaleString('en')} rows. Every row is checked first: one bad row refuses the ` +
          'file, listing the problems as `/rows/<line>/<column>`, and nothing is written. Devices are matched ' +
          'by ICCID: new ones are created, known ones get the carrier facts of the file; ownership and customer ' +
          'plans are never touched.',
        params: IdParams,
        body: Type.Object(
          {
            csv: Type.String({
              minLength: 1,
              maxLength: 16 * 1024 * 1024,
              description: 'The file, as text.',
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: described(
            Type.Object({ rows: Type.Integer(), created: Type.Integer(), updated: Type.Integer() }),
            'Imported: how many rows, devices created, devices changed.',
          ),
          ...errorResponses({
            400: 'The file or a row is invalid: `error.details` lists them.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: 'No service provider of the tenant has this id.',
            413: 'More rows than allowed.',
          }),
        },
      },
    },
    async (request) => deviceImport.importCsv(principalOf(request), request.params.id, request.body.csv),
  );
}
