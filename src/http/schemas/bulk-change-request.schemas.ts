import { Type } from '@fastify/type-provider-typebox';
import { Id as IdOf, ListQuery, Text } from './common.schemas.ts';
import { CHANGE_LOG_STEPS } from '../../db/repositories/change-log-steps.ts';
import { ArchivedFilter } from './reference.schemas.ts';
import { BulkChangeStatus, WorkOrderStatus } from './bulk-change-response.schemas.ts';

/** What a client sends about bulk changes: a submission, an undo, the list filters, the headers. */

const Id = IdOf();

/** The OpenAPI example of a submission (a bulk change's `options` example is this, devices aside). */
export const ASSIGNMENT_EXAMPLE = {
  changeType: 'customer_assignment' as const,
  serviceProviderId: 1,
  devices: ['8914800000123456788', '8914800000123456796'],
  customerId: 12,
  createRevService: true,
  revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }], prorate: true },
  addCarrierRatePlan: true,
  carrierRatePlan: { ratePlan: 'M2M-1GB-SHR' },
  addCustomerRatePlan: false,
  effectiveDate: '2025-07-01',
};
const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'yyyy-MM-dd' });

export const CreateBulkChangeBody = Type.Object(
  {
    changeType: Type.Literal('customer_assignment'),
    serviceProviderId: Id,
    devices: Type.Optional(
      Type.Array(Text({ maxLength: 64 }), {
        description: 'ICCIDs (M2M providers) or MSISDNs (Mobility, LNP). At most 100,000.',
      }),
    ),
    filter: Type.Optional(
      Type.Object(
        {
          q: Type.Optional(Text({ maxLength: 20 })),
          status: Type.Optional(
            Type.Union([
              Type.Literal('active'),
              Type.Literal('inactive'),
              Type.Literal('suspended'),
              Type.Literal('deactivated'),
              Type.Literal('test_ready'),
              Type.Literal('inventory'),
            ]),
          ),
          customerId: Type.Optional(Id),
          unassigned: Type.Optional(Type.Boolean()),
          siteId: Type.Optional(Id),
          carrierRatePlan: Type.Optional(Text({ minLength: 1, maxLength: 100 })),
          archived: Type.Optional(ArchivedFilter),
        },
        {
          additionalProperties: false,
          description: 'All devices of the provider matching this filter (as GET /devices).',
        },
      ),
    ),
    customerId: Id,
    siteId: Type.Optional(Id),
    reassign: Type.Optional(
      Type.Boolean({
        description:
          'Also move devices that belong to another customer. Absent or false: such a device is ineligible ' +
          '(category `owned`, the message names its owner). The dry run counts the devices that would change hands.',
      }),
    ),
    createRevService: Type.Boolean({ default: false }),
    revService: Type.Optional(
      Type.Object(
        {
          serviceTypeId: Id,
          products: Type.Optional(
            Type.Array(
              Type.Object(
                { productId: Id, rate: Type.Number({ minimum: 0 }) },
                { additionalProperties: false },
              ),
              {
                maxItems: 50,
              },
            ),
          ),
          packageId: Type.Optional(Id),
          prorate: Type.Optional(Type.Boolean()),
          providerId: Type.Optional(Id),
          usagePlanGroupId: Type.Optional(Id),
          description: Type.Optional(Text({ maxLength: 1000 })),
        },
        { additionalProperties: false },
      ),
    ),
    addCarrierRatePlan: Type.Boolean({ default: false }),
    carrierRatePlan: Type.Optional(
      Type.Object(
        {
          ratePlan: Text({ minLength: 1, maxLength: 100 }),
          communicationPlan: Type.Optional(Text({ minLength: 1, maxLength: 100 })),
        },
        { additionalProperties: false },
      ),
    ),
    addCustomerRatePlan: Type.Boolean({ default: false }),
    customerRatePlan: Type.Optional(
      Type.Object(
        { ratePlanId: Type.Optional(Id), ratePoolId: Type.Optional(Id) },
        { additionalProperties: false },
      ),
    ),
    effectiveDate: Type.Optional(IsoDate),
    activatedDate: Type.Optional(IsoDate),
    dryRun: Type.Optional(
      Type.Boolean({
        description: 'true: check every device and answer 200 with the verdicts; nothing is written.',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      ASSIGNMENT_EXAMPLE,
      {
        changeType: 'customer_assignment',
        serviceProviderId: 1,
        devices: ['8914800000123456788', '8914800000123456796', '8914800000123456804'],
        customerId: 12,
        siteId: 31,
        createRevService: false,
        addCarrierRatePlan: false,
        addCustomerRatePlan: false,
        dryRun: true,
      },
    ],
  },
);

export const ListBulkChangesQuery = Type.Object({
  ...ListQuery,
  status: Type.Optional(BulkChangeStatus),
  changeType: Type.Optional(
    Type.Union([Type.Literal('customer_assignment'), Type.Literal('undo')], {
      description: 'The kind of change: `customer_assignment`, or `undo` (one that takes another back).',
    }),
  ),
  customerId: Type.Optional(Id),
  serviceProviderId: Type.Optional(Id),
  createdBy: Type.Optional(Id),
  source: Type.Optional(
    Type.Union([Type.Literal('ui'), Type.Literal('api'), Type.Literal('legacy')], {
      description: 'Entry point the change was submitted through.',
    }),
  ),
  createdFrom: Type.Optional(
    Type.String({
      format: 'date-time',
      maxLength: 40,
      description: 'Created at or after this instant (ISO 8601).',
    }),
  ),
  createdBefore: Type.Optional(
    Type.String({
      format: 'date-time',
      maxLength: 40,
      description: 'Created before this instant (ISO 8601).',
    }),
  ),
});
export const ListWorkOrdersQuery = Type.Object({ ...ListQuery, status: Type.Optional(WorkOrderStatus) });
export const ListLogsQuery = Type.Object({
  ...ListQuery,
  deviceId: Type.Optional(IdOf({ description: 'The entries of this device only.' })),
  iccid: Type.Optional(
    Type.String({
      pattern: '^[0-9]{19,20}$',
      description: 'The entries of the device with this ICCID (or submitted as it, when no device matched).',
    }),
  ),
  step: Type.Optional(
    Type.Enum(CHANGE_LOG_STEPS, {
      description: 'The entries of this step only (each entry names its `step`).',
    }),
  ),
});
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Text({ minLength: 1, maxLength: 200 })),
});

export const UndoBody = Type.Object(
  {
    dryRun: Type.Optional(
      Type.Boolean({
        description:
          'true: answer 200 with what the undo would do (devices put back, conflicts, Rev.io lines disconnected); nothing is written.',
      }),
    ),
  },
  // No body at all is fine too (Fastify validates a missing body as null).
  {
    additionalProperties: false,
    nullable: true,
    description: 'Optional; `{ "dryRun": true }` for a dry run.',
  },
);
