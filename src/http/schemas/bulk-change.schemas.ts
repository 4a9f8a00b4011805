import { Type } from '@fastify/type-provider-typebox';
import { Id as IdOf, ListQuery, Text } from './common.schemas.ts';
import { CHANGE_LOG_STEPS } from '../../db/repositories/change-log-steps.ts';
import { ArchivedFilter } from './reference.schemas.ts';

const Id = IdOf();
const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'yyyy-MM-dd' });

export const BulkChangeStatus = Type.Union([
  Type.Literal('NEW'),
  Type.Literal('PROCESSING'),
  Type.Literal('PROCESSED'),
  Type.Literal('PROCESSED_WITH_ERRORS'),
  Type.Literal('ERROR'),
  Type.Literal('CANCELLED'),
]);
export const WorkOrderStatus = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('PROCESSING'),
  Type.Literal('WAITING_CARRIER'),
  Type.Literal('PROCESSED'),
  Type.Literal('ERROR'),
  Type.Literal('CANCELLED'),
]);

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
      {
        changeType: 'customer_assignment',
        serviceProviderId: 1,
        devices: ['8914800000123456788', '8914800000123456796'],
        customerId: 12,
        createRevService: true,
        revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }], prorate: true },
        addCarrierRatePlan: true,
        carrierRatePlan: { ratePlan: 'M2M-1GB-SHR' },
        addCustomerRatePlan: false,
        effectiveDate: '2025-07-01',
      },
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

export const Counts = Type.Object(
  {
    total: Type.Integer({ description: 'Work orders: the sum of the six counts below.' }),
    pending: Type.Integer({ description: 'Not begun (a cancel still takes them).' }),
    processing: Type.Integer({ description: 'Begun: going through their steps.' }),
    waiting: Type.Integer({ description: "Waiting for a carrier's asynchronous confirmation." }),
    processed: Type.Integer({ description: 'Done, every step. Moves as devices finish, not per chunk.' }),
    error: Type.Integer({ description: 'Failed (ineligible at submission, or a step failed).' }),
    cancelled: Type.Integer({
      description: 'Cancelled before they began: apart from `processed` and `error`, never counted in them.',
    }),
  },
  { description: 'Work orders by status; a device is in exactly one.' },
);

export const Links = Type.Object({ self: Type.String(), devices: Type.String(), logs: Type.String() });

export const SubmitResponse = Type.Object({
  id: Type.Integer(),
  status: BulkChangeStatus,
  counts: Counts,
  duplicates: Type.Array(Type.String()),
  links: Links,
});

export const DryRunResponse = Type.Object({
  dryRun: Type.Literal(true),
  counts: Type.Object({
    total: Type.Integer(),
    eligible: Type.Integer(),
    ineligible: Type.Integer(),
    changingHands: Type.Integer({
      description: 'Eligible devices that another customer owns today (they move only with `reassign`).',
    }),
  }),
  duplicates: Type.Array(Type.String()),
  devices: Type.Array(
    Type.Object({
      identifier: Type.String(),
      deviceId: Type.Union([Type.Integer(), Type.Null()]),
      eligible: Type.Boolean(),
      errorCategory: Type.Union([Type.String(), Type.Null()], {
        description: '`eligibility`, `owned` (another customer owns it), `permission`; null when eligible.',
      }),
      message: Type.Union([Type.String(), Type.Null()]),
      currentOwner: Type.Union(
        [
          Type.Object({
            customerId: Type.Integer(),
            name: Type.Union([Type.String(), Type.Null()]),
            siteId: Type.Union([Type.Integer(), Type.Null()]),
            siteName: Type.Union([Type.String(), Type.Null()]),
          }),
          Type.Null(),
        ],
        { description: 'Who owns the device today (null: nobody).' },
      ),
      changesHands: Type.Boolean({ description: 'Owned by a customer other than the one named.' }),
    }),
  ),
});

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

const RevServiceNames = Type.Object({
  serviceType: Nullable(Type.String()),
  package: Nullable(Type.String()),
  provider: Nullable(Type.String()),
  usagePlanGroup: Nullable(Type.String()),
  products: Type.Record(Type.String(), Type.String(), { description: 'Product id → name.' }),
});

export const BulkChange = Type.Object({
  id: Type.Integer(),
  changeType: Type.Union([Type.Literal('customer_assignment'), Type.Literal('undo')], {
    description: '`undo`: takes back the bulk change named by `undoOf`.',
  }),
  status: BulkChangeStatus,
  serviceProviderId: Type.Integer(),
  customerId: Type.Integer(),
  siteId: Type.Union([Type.Integer(), Type.Null()]),
  options: Type.Unknown(),
  source: Type.String({
    description: 'Entry point: `ui` (the screens), `api` (an API token) or `legacy` (the older endpoints).',
  }),
  createdBy: Type.Object({ id: Type.Integer(), name: Type.String(), email: Type.String() }),
  createdAt: Type.String(),
  startedAt: Nullable(Type.String()),
  completedAt: Nullable(Type.String()),
  cancelRequestedAt: Type.Union([Type.String(), Type.Null()], {
    description: 'When a cancel was requested; devices already begun still finish all their steps.',
  }),
  counts: Counts,
  actions: Type.Array(Type.Union([Type.Literal('cancel'), Type.Literal('retry'), Type.Literal('undo')]), {
    description:
      'What the caller may do now (`POST …/cancel`, `POST …/retry`, `POST …/undo`); the same rule guards the actions, so a client need never offer one the server refuses.',
  }),
  undoOf: Type.Union([Type.Integer(), Type.Null()], {
    description: 'For an undo: the bulk change it takes back.',
  }),
  undoneBy: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The undo (not cancelled) that takes this bulk change back.',
  }),
  revServiceNames: Type.Union([RevServiceNames, Type.Null()], {
    description:
      "The names of `options.revService`'s ids, from the cached Rev.io catalogue of the customer's account; " +
      'null: no Rev.io options. An id the catalogue does not know has no name (null, or no entry in `products`).',
  }),
  stats: Type.Union(
    [
      Type.Object({
        durationMs: Type.Integer({ description: 'From the start of processing to the finish.' }),
        devicesPerSecond: Type.Number({
          description: 'Devices processed (all but the cancelled) per second.',
        }),
        externalCalls: Type.Record(Type.String(), Type.Integer(), {
          description:
            'Requests recorded in the change log per external system (`revio`, `thingspace`, `jasper`).',
        }),
      }),
      Type.Null(),
    ],
    { description: 'Completion statistics, written when the bulk change finishes; null while it runs.' },
  ),
});

export const WorkOrder = Type.Object({
  id: Type.Integer(),
  deviceId: Type.Union([Type.Integer(), Type.Null()]),
  identifier: Type.String(),
  iccid: Nullable(Type.String()),
  msisdn: Nullable(Type.String()),
  status: WorkOrderStatus,
  errorCategory: Nullable(Type.String()),
  message: Nullable(Type.String()),
  revServiceId: Type.Union([Type.Integer(), Type.Null()]),
  stepsDone: Type.Array(Type.String()),
  processedAt: Nullable(Type.String()),
});

export const ChangeLog = Type.Object({
  id: Type.Integer(),
  workOrderId: Type.Union([Type.Integer(), Type.Null()]),
  deviceId: Type.Union([Type.Integer(), Type.Null()]),
  iccid: Nullable(Type.String({ description: "The device's ICCID; null for an entry about no device." })),
  identifier: Nullable(
    Type.String({ description: 'The device as submitted (ICCID or MSISDN), matched or not.' }),
  ),
  description: Type.String(),
  portalType: Type.String(),
  requestText: Nullable(Type.String()),
  responseStatus: Nullable(Type.String()),
  responseText: Nullable(Type.String()),
  hasError: Type.Boolean(),
  errorText: Nullable(Type.String()),
  processedBy: Type.String({
    description:
      'The process that ran the step: `simbind-api` (checked at submission), a worker, `scheduler`, `thingspace-callback` / `thingspace-poll`.',
  }),
  submittedBy: Nullable(
    Type.String({
      description: 'The person who submitted the bulk change (the older platform\'s "processed by").',
    }),
  ),
  system: Nullable(
    Type.String({
      description:
        'The external system the request went to (`revio`, `thingspace`, `jasper`); null for a local step.',
    }),
  ),
  processedAt: Type.String(),
  step: Type.Enum(CHANGE_LOG_STEPS, {
    description:
      'The step: `validation` (checked at submission), `rev_service`, `ownership`, `customer_rate_plan`, ' +
      '`carrier_rate_plan`, `processing` (the worker gave up), `other`.',
  }),
});

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

export const UndoDryRunResponse = Type.Object({
  dryRun: Type.Literal(true),
  undoOf: Type.Integer(),
  counts: Type.Object({
    total: Type.Integer({ description: 'Devices the original changed.' }),
    restorable: Type.Integer({ description: 'Devices that would be put back as they were.' }),
    conflicts: Type.Integer({ description: 'Devices changed since: left alone and reported.' }),
    revServices: Type.Integer({ description: 'Rev.io service lines that would be disconnected.' }),
    revServiceProducts: Type.Integer({ description: 'Rev.io service products that would be disconnected.' }),
    carrierPlans: Type.Integer({ description: 'Carrier rate plans that would be changed back.' }),
  }),
  conflicts: Type.Array(
    Type.Object({ deviceId: Type.Integer(), identifier: Type.String(), message: Type.String() }),
  ),
});

export const UndoResponse = Type.Object({
  id: Type.Integer({ description: 'The new bulk change (type `undo`).' }),
  undoOf: Type.Integer(),
  status: BulkChangeStatus,
  counts: Counts,
  links: Links,
});
