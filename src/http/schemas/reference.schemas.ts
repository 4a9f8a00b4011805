import { Type } from '@fastify/type-provider-typebox';
import type { DeviceStatus } from '../../db/schema.ts';
import { ARCHIVED_FILTERS } from '../../db/repositories/device.repository.ts';
import { FLEET_SORT_KEYS } from '../../db/repositories/fleet-sort.ts';
import { Id as IdOf, ListQuery, ListResponse, Text } from './common.schemas.ts';

/**
 * Schemas of the reference-data routes. Response schemas list every field the API answers and no
 * other: the serializer drops anything else a row might carry.
 */

const Id = IdOf();
const NullableId = Type.Union([Type.Integer(), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

const DEVICE_STATUSES: DeviceStatus[] = [
  'active',
  'inactive',
  'suspended',
  'deactivated',
  'test_ready',
  'inventory',
];

export const ServiceProvider = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  integration: Type.Enum(['thingspace', 'jasper']),
  portalType: Type.Enum(['m2m', 'mobility', 'lnp']),
  hasCarrierAccount: Type.Boolean({
    description:
      'Linked to a carrier account, through which its devices are changed and synced; else devices come from CSV.',
  }),
});

/** Shared with a bulk change's `filter`: a submission selects what the list shows. */
export const ArchivedFilter = Type.Enum([...ARCHIVED_FILTERS], {
  description:
    'Archived devices: `exclude` (the default: an assignment would refuse them), `include` them too, or `only` them.',
});

/** The filter of the fleet: the list, its count and a bulk change's `filter` take the same fields. */
const DeviceFilterFields = {
  serviceProviderId: Type.Optional(Id),
  q: Type.Optional(
    Type.String({
      pattern: '^[0-9]{3,20}$',
      description: 'Prefix of an ICCID, MSISDN or IMEI: 3 to 20 digits.',
    }),
  ),
  status: Type.Optional(Type.Enum(DEVICE_STATUSES)),
  customerId: Type.Optional(IdOf({ description: 'Devices owned by this customer.' })),
  siteId: Type.Optional(IdOf({ description: "Devices at this site (their owner's site)." })),
  carrierRatePlan: Type.Optional(
    Text({
      minLength: 1,
      maxLength: 100,
      description: 'Devices on this carrier plan (its code, exactly); needs `serviceProviderId`.',
    }),
  ),
  unassigned: Type.Optional(
    Type.Boolean({ description: 'true: devices no customer owns; false: devices a customer owns.' }),
  ),
  archived: Type.Optional(ArchivedFilter),
};

export const DEVICE_SORTS = FLEET_SORT_KEYS.flatMap((key) => [key, `-${key}`]);

export const DeviceListQuery = Type.Object({
  ...DeviceFilterFields,
  sort: Type.Optional(
    Type.Enum(DEVICE_SORTS, {
      default: 'id',
      description:
        'The order: `id`, `iccid`, `msisdn`, `status`, `customer` (by name), `carrierRatePlan`, `activatedAt` or ' +
        '`updatedAt`, ascending; with a leading `-`, descending. Ties are in id order. Empty values (no MSISDN, no ' +
        'plan, unassigned) come last ascending and first descending. A `cursor` belongs to its sort.',
    }),
  ),
  ...ListQuery,
});

export const DeviceCountQuery = Type.Object({
  ...DeviceFilterFields,
  upTo: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      description:
        'Stop counting at this many (e.g. 100001, one more than a bulk change takes): fast whatever the fleet. ' +
        'Absent: the exact count.',
    }),
  ),
});

export const DeviceCount = Type.Object({
  count: Type.Integer({
    description:
      'How many devices match (at most `upTo`): those `GET /devices` pages through, and a bulk change `filter` selects.',
  }),
  exact: Type.Boolean({ description: 'false: counting stopped at `upTo`; there may be more.' }),
});

export const Device = Type.Object({
  id: Type.Integer(),
  serviceProviderId: Type.Integer(),
  iccid: Type.String(),
  msisdn: NullableString,
  imei: NullableString,
  status: Type.Enum(DEVICE_STATUSES),
  customerId: Type.Union([Type.Integer(), Type.Null()], { description: 'The owner; null: unassigned.' }),
  customerName: NullableString,
  siteId: NullableId,
  siteName: NullableString,
  carrierRatePlan: NullableString,
  communicationPlan: NullableString,
  scheduledCarrierPlan: Type.Union(
    [
      Type.Object({
        ratePlan: Type.String(),
        communicationPlan: NullableString,
        effectiveDate: Type.String({ format: 'date' }),
      }),
      Type.Null(),
    ],
    {
      description:
        'A carrier plan change sent to the carrier with a later effective date: `carrierRatePlan` shows the plan in force until then.',
    },
  ),
  activatedAt: Type.Union([Type.String({ format: 'date' }), Type.Null()]),
  updatedAt: Type.String({
    format: 'date-time',
    description: "When the device's carrier record last changed here (sync, import, carrier plan).",
  }),
  archived: Type.Boolean(),
});

export const DeviceHistoryEntry = Type.Object({
  id: Type.Integer(),
  changeType: Type.String({
    description:
      'The step: `customer_assignment`, `customer_rate_plan`, `carrier_rate_plan`, `carrier_rate_plan_scheduled`, `rev_service`.',
  }),
  before: Type.Unknown({
    description:
      'The state before the change (JSON), or null. Ids come with names beside them (`customerName`, `siteName`, `ratePlanName`, `ratePoolName`), except those of customers the caller may not access.',
  }),
  after: Type.Unknown({ description: 'The state after the change (JSON), with names as in `before`.' }),
  changedBy: Type.Union([Type.Object({ id: Type.Integer(), name: Type.String() }), Type.Null()]),
  changedAt: Type.String({ format: 'date-time' }),
  bulkChangeId: NullableId,
  bulkChange: Type.Union(
    [Type.Object({ id: Type.Integer(), changeType: Type.String(), status: Type.String() }), Type.Null()],
    { description: 'The bulk change that made the change; null for a change made outside one.' },
  ),
});

export const CustomerListQuery = Type.Object({
  q: Type.Optional(
    Text({
      minLength: 1,
      maxLength: 100,
      description: 'Part of the name (any case); digits also match the exact Rev customer id.',
    }),
  ),
  ...ListQuery,
});

export const Customer = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  kind: Type.Enum(['rev', 'amop']),
  revCustomerId: NullableId,
  active: Type.Boolean(),
  defaultSiteId: NullableId,
});

export const Site = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  address: NullableString,
  isDefault: Type.Boolean(),
});

export const RatePlanQuery = Type.Object({
  kind: Type.Enum(['customer', 'carrier']),
  serviceProviderId: Type.Optional(IdOf({ description: 'Required with kind=carrier: whose carrier plans.' })),
});

export const CustomerRatePlan = Type.Object({
  id: Type.Integer(),
  code: Type.String(),
  name: Type.String(),
  dataAllocationMb: Type.Number(),
  monthlyRate: Type.Number(),
});

export const CarrierRatePlan = Type.Object({
  id: Type.Integer(),
  code: Type.String(),
  name: Type.String(),
  communicationPlan: NullableString,
  dataAllowanceMb: Type.Union([Type.Number(), Type.Null()]),
});

export const RatePool = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  sharedDataMb: Type.Number(),
});

export const ServiceProviderList = ListResponse(ServiceProvider);
export const DeviceList = ListResponse(Device);
export const DeviceHistoryList = ListResponse(DeviceHistoryEntry);
export const CustomerList = ListResponse(Customer);
export const SiteList = ListResponse(Site);
export const RatePlanList = Type.Union([ListResponse(CustomerRatePlan), ListResponse(CarrierRatePlan)]);
export const RatePoolList = ListResponse(RatePool);
