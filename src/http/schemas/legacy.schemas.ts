import { Type } from '@fastify/type-provider-typebox';

/** The older system's bodies, kept for its clients. Numbers may arrive as strings, as they did. */

const NumberLike = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^\\d+$' })]);
const DateLike = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}(Z|T[0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$',
  description: 'yyyy-MM-dd, yyyy-MM-ddZ or an ISO date-time',
});

export const AssociateCustomerBody = Type.Object({
  Devices: Type.Array(Type.String({ maxLength: 64 })),
  ServiceProviderId: NumberLike,
  RevCustomerId: NumberLike,
  CreateRevService: Type.Optional(Type.Boolean()),
  ServiceTypeId: Type.Optional(NumberLike),
  RevPackageId: Type.Optional(Type.Union([NumberLike, Type.Null()])),
  RevProductIdList: Type.Optional(Type.Array(NumberLike, { maxItems: 50 })),
  RateList: Type.Optional(
    Type.Array(Type.Union([Type.Number({ minimum: 0 }), Type.String()]), { maxItems: 50 }),
  ),
  Prorate: Type.Optional(Type.Boolean()),
  Description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  ProviderId: Type.Optional(Type.Union([NumberLike, Type.Null()])),
  UsagePlanGroupId: Type.Optional(Type.Union([NumberLike, Type.Null()])),
  EffectiveDate: Type.Optional(Type.Union([DateLike, Type.Null()])),
  ActivatedDate: Type.Optional(Type.Union([DateLike, Type.Null()])),
  AddCarrierRatePlan: Type.Optional(Type.Boolean()),
  CarrierRatePlan: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
  CommPlan: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
  AddCustomerRatePlan: Type.Optional(Type.Boolean()),
  CustomerRatePlan: Type.Optional(Type.Union([NumberLike, Type.Null()])),
  CustomerRatePool: Type.Optional(Type.Union([NumberLike, Type.Null()])),
});

export const AssociateAmopCustomerBody = Type.Object({
  Devices: Type.Array(Type.String({ maxLength: 64 })),
  ServiceProviderId: NumberLike,
  SiteId: NumberLike,
});

/** Registered with `addSchema` (app.ts): one component in the OpenAPI document for every answer. */
export const LegacyResponse = Type.Object(
  {
    Success: Type.Boolean(),
    ChangeId: Type.Optional(Type.Integer({ description: 'The bulk change, when Success is true.' })),
    Message: Type.Optional(Type.String({ description: 'What went wrong, when Success is false.' })),
  },
  {
    $id: 'LegacyResponse',
    description: 'The answer of the older entry points, success or failure.',
  },
);
