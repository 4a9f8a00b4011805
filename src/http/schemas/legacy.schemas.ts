import { Type } from '@fastify/type-provider-typebox';
import { Id, Text } from './common.schemas.ts';

/**
 * The older system's bodies, kept for its clients. Numbers may arrive as strings, as they did;
 * nothing else is converted (a `"false"` or a `null` where a boolean goes is refused, not read as no).
 */

/**
 * An id, or its digits: at most 15 of them past any leading zeros, so that `Number()` of the string
 * is exact and within bigint (a number is held to the bound of the API's ids).
 */
const NumberLike = Type.Union([Id(), Type.String({ pattern: '^0*[0-9]{1,15}$', maxLength: 20 })]);
const DateLike = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}(Z|T[0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$',
  description: 'yyyy-MM-dd, yyyy-MM-ddZ or an ISO date-time',
});

export const AssociateCustomerBody = Type.Object(
  {
    Devices: Type.Array(Text({ maxLength: 64 })),
    ServiceProviderId: NumberLike,
    RevCustomerId: NumberLike,
    CreateRevService: Type.Optional(Type.Boolean()),
    ServiceTypeId: Type.Optional(NumberLike),
    RevPackageId: Type.Optional(Type.Union([NumberLike, Type.Null()])),
    RevProductIdList: Type.Optional(Type.Array(NumberLike, { maxItems: 50 })),
    RateList: Type.Optional(
      Type.Array(Type.Union([Type.Number({ minimum: 0 }), Text({ maxLength: 32 })]), { maxItems: 50 }),
    ),
    Prorate: Type.Optional(Type.Boolean()),
    Description: Type.Optional(Type.Union([Text({ maxLength: 1000 }), Type.Null()])),
    ProviderId: Type.Optional(Type.Union([NumberLike, Type.Null()])),
    UsagePlanGroupId: Type.Optional(Type.Union([NumberLike, Type.Null()])),
    EffectiveDate: Type.Optional(Type.Union([DateLike, Type.Null()])),
    ActivatedDate: Type.Optional(Type.Union([DateLike, Type.Null()])),
    AddCarrierRatePlan: Type.Optional(Type.Boolean()),
    CarrierRatePlan: Type.Optional(Type.Union([Text({ maxLength: 100 }), Type.Null()])),
    CommPlan: Type.Optional(Type.Union([Text({ maxLength: 100 }), Type.Null()])),
    AddCustomerRatePlan: Type.Optional(Type.Boolean()),
    CustomerRatePlan: Type.Optional(Type.Union([NumberLike, Type.Null()])),
    CustomerRatePool: Type.Optional(Type.Union([NumberLike, Type.Null()])),
  },
  // A misspelt option (`CreateRevservice`) must not be ignored silently: it would change the billing.
  { additionalProperties: false },
);

export const AssociateAmopCustomerBody = Type.Object(
  {
    Devices: Type.Array(Text({ maxLength: 64 })),
    ServiceProviderId: NumberLike,
    SiteId: NumberLike,
  },
  { additionalProperties: false },
);

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
