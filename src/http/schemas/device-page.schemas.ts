import { Type } from '@fastify/type-provider-typebox';

/** GET /devices/:id: what the device page shows. Every field is listed: the serializer drops others. */

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, description?: string) =>
  Type.Union([schema, Type.Null()], description ? { description } : {});
const NamedId = Type.Object({ id: Type.Integer(), name: Type.String() });
const DateTime = Type.String({ format: 'date-time' });

const Owner = Type.Object({
  customer: Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    kind: Type.Enum(['rev', 'amop']),
    revCustomerId: Nullable(Type.Integer()),
  }),
  site: Nullable(NamedId),
  accountNumber: Nullable(Type.String(), 'The Rev.io customer id the device is billed to (Rev customers).'),
  revServiceId: Nullable(Type.Integer(), "Rev.io's service id of the device's active line."),
  customerRatePlan: Nullable(Type.Object({ id: Type.Integer(), code: Type.String(), name: Type.String() })),
  customerRatePool: Nullable(NamedId),
  dataAllocationMb: Nullable(Type.Number()),
  modifiedAt: DateTime,
});

const ScheduledPlanChange = Type.Object({
  kind: Type.Enum(['carrier', 'customer'], {
    description:
      '`carrier`: a carrier plan the carrier applies on that date; `customer`: a customer plan/pool.',
  }),
  effectiveDate: Type.String({ format: 'date' }),
  bulkChangeId: Nullable(Type.Integer()),
  createdAt: DateTime,
  carrierRatePlan: Nullable(Type.Object({ code: Type.String(), communicationPlan: Nullable(Type.String()) })),
  customerRatePlan: Nullable(NamedId),
  customerRatePool: Nullable(NamedId),
});

const CATALOGUE_NAME =
  "The name in the cached catalogue of the line's Rev.io account; null when the catalogue lacks the id.";

const RevServiceLine = Type.Object({
  id: Type.Integer({ description: "simbind's record of the line." }),
  serviceId: Nullable(Type.Integer(), "Rev.io's service id; null while pending or when the create failed."),
  status: Type.Enum(['pending', 'created', 'failed', 'disconnected']),
  active: Type.Boolean(),
  customer: Type.Object({
    id: Type.Integer(),
    name: Nullable(Type.String(), 'null for a customer the caller may not access.'),
  }),
  revCustomerId: Type.Integer(),
  number: Type.String({ description: 'The number the line was created with (MSISDN, else ICCID).' }),
  serviceTypeId: Nullable(Type.Integer()),
  serviceTypeName: Nullable(Type.String(), CATALOGUE_NAME),
  packageId: Nullable(Type.Integer()),
  packageName: Nullable(Type.String(), CATALOGUE_NAME),
  createdAt: DateTime,
  disconnectedAt: Nullable(DateTime),
  bulkChangeId: Nullable(Type.Integer(), 'The bulk change that created it.'),
  products: Type.Array(
    Type.Object({
      productId: Type.Integer(),
      name: Nullable(Type.String(), CATALOGUE_NAME),
      rate: Nullable(Type.Number()),
      serviceProductId: Nullable(Type.Integer()),
      status: Type.String({ description: '`pending`, `created`, `failed` or `disconnected`.' }),
    }),
  ),
});

const DeviceBulkChange = Type.Object({
  id: Type.Integer(),
  changeType: Type.String(),
  status: Type.String(),
  customer: Type.Object({ id: Type.Integer(), name: Type.String() }),
  createdAt: DateTime,
  completedAt: Nullable(DateTime),
  device: Type.Object(
    {
      status: Type.Enum(['PENDING', 'PROCESSING', 'WAITING_CARRIER', 'PROCESSED', 'ERROR', 'CANCELLED'], {
        description: "This device's work order in the change (the change's own status is `status`).",
      }),
      message: Nullable(Type.String(), 'Why it was refused or failed; null otherwise.'),
    },
    { description: 'What became of this device in the change.' },
  ),
  links: Type.Object({
    self: Type.String(),
    logs: Type.String({ description: 'The change log of this bulk change for this device only.' }),
  }),
});

export const DevicePage = Type.Object({
  id: Type.Integer(),
  serviceProvider: Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    integration: Type.Enum(['thingspace', 'jasper']),
    portalType: Type.Enum(['m2m', 'mobility', 'lnp']),
  }),
  iccid: Type.String(),
  msisdn: Nullable(Type.String()),
  imei: Nullable(Type.String()),
  status: Type.String({ description: 'Carrier status.' }),
  activatedAt: Nullable(Type.String({ format: 'date' })),
  archived: Type.Boolean(),
  createdAt: DateTime,
  updatedAt: DateTime,
  carrierRatePlan: Nullable(
    Type.Object({
      code: Type.String(),
      name: Nullable(Type.String(), 'The plan of that code in the catalogue, when known.'),
      communicationPlan: Nullable(Type.String()),
    }),
    'The carrier plan in force.',
  ),
  owner: Nullable(Owner, 'The current owner; null: unassigned.'),
  scheduledPlanChanges: Type.Array(ScheduledPlanChange, {
    description: 'Plan changes waiting for their effective date, soonest first.',
  }),
  revServices: Type.Array(RevServiceLine, {
    description: 'Every Rev.io service line the device had (newest first, at most 50), with its products.',
  }),
  bulkChanges: Type.Array(DeviceBulkChange, {
    description:
      'The bulk changes that had the device, newest first (at most 50), each with what became of the device in it: those that changed it, the one it is open in, those that refused it at submission, failed or cancelled it, and those that created a Rev.io line for it.',
  }),
  links: Type.Object({
    history: Type.String({ description: 'Every change, step by step: before → after.' }),
  }),
});
