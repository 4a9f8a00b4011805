import { Type } from '@fastify/type-provider-typebox';
import { CHANGE_LOG_STEPS } from '../../db/repositories/change-log-steps.ts';

/** What the API answers about bulk changes: their states, counts, submissions, pages, undos. */

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
