import type { Static } from '@fastify/type-provider-typebox';
import { InvalidInputError } from '../../errors.ts';
import type { AssociateAmopCustomerBody, AssociateCustomerBody } from '../../http/schemas/legacy.schemas.ts';
import type { AssignmentRequest } from './request.ts';

/**
 * Translation of the older system's PascalCase requests into simbind's request. Its quirks are kept
 * where clients rely on them (numbers as strings, `yyyy-MM-ddZ` dates, parallel product/rate lists)
 * and its defects are not (the customer is matched exactly, never by substring).
 */

export type AssociateCustomer = Static<typeof AssociateCustomerBody>;
export type AssociateAmopCustomer = Static<typeof AssociateAmopCustomerBody>;

const num = (value: number | string | null | undefined): number | undefined =>
  value === null || value === undefined || value === '' ? undefined : Number(value);

/** `2024-05-01`, `2024-05-01Z` and `2024-05-01T10:00:00Z` all mean the calendar date 2024-05-01. */
export function legacyDate(value: string | null | undefined): string | undefined {
  return value ? value.slice(0, 10) : undefined;
}

export function fromAssociateCustomer(body: AssociateCustomer, customerId: number): AssignmentRequest {
  const productIds = (body.RevProductIdList ?? []).map(Number);
  const rates = (body.RateList ?? []).map(Number);
  if (body.CreateRevService && productIds.length !== rates.length) {
    throw new InvalidInputError('RevProductIdList and RateList must have the same length.', [
      { path: '/RateList', message: `${rates.length} rates for ${productIds.length} products` },
    ]);
  }
  if (rates.some((rate) => !Number.isFinite(rate) || rate < 0)) {
    throw new InvalidInputError('RateList holds a rate that is not a number.', [
      { path: '/RateList', message: 'must be numbers ≥ 0' },
    ]);
  }
  const packageId = num(body.RevPackageId);
  return {
    changeType: 'customer_assignment',
    serviceProviderId: Number(body.ServiceProviderId),
    devices: body.Devices,
    customerId,
    createRevService: body.CreateRevService ?? false,
    revService: body.CreateRevService
      ? {
          // Absent stays absent: the API's rules refuse it (the older system sent 0 to Rev.io).
          serviceTypeId: num(body.ServiceTypeId) as number,
          ...(packageId !== undefined
            ? { packageId }
            : { products: productIds.map((productId, i) => ({ productId, rate: rates[i]! })) }),
          prorate: body.Prorate ?? false,
          providerId: num(body.ProviderId),
          usagePlanGroupId: num(body.UsagePlanGroupId),
          description: body.Description ?? undefined,
        }
      : undefined,
    addCarrierRatePlan: body.AddCarrierRatePlan ?? false,
    carrierRatePlan:
      body.AddCarrierRatePlan && body.CarrierRatePlan
        ? { ratePlan: body.CarrierRatePlan, communicationPlan: body.CommPlan ?? undefined }
        : undefined,
    addCustomerRatePlan: body.AddCustomerRatePlan ?? false,
    customerRatePlan: body.AddCustomerRatePlan
      ? { ratePlanId: num(body.CustomerRatePlan), ratePoolId: num(body.CustomerRatePool) }
      : undefined,
    effectiveDate: legacyDate(body.EffectiveDate),
    activatedDate: legacyDate(body.ActivatedDate),
  };
}

export function fromAssociateAmopCustomer(
  body: AssociateAmopCustomer,
  customerId: number,
): AssignmentRequest {
  return {
    changeType: 'customer_assignment',
    serviceProviderId: Number(body.ServiceProviderId),
    devices: body.Devices,
    customerId,
    siteId: Number(body.SiteId),
    createRevService: false,
    addCarrierRatePlan: false,
    addCustomerRatePlan: false,
  };
}

/** The older bodies' field for each field of the API's request, for messages in their own terms. */
const LEGACY_FIELDS: [RegExp, string][] = [
  [/^\/devices(?=\/|$)/, '/Devices'],
  [/^\/serviceProviderId$/, '/ServiceProviderId'],
  [/^\/siteId$/, '/SiteId'],
  [/^\/createRevService$/, '/CreateRevService'],
  [/^\/revService\/serviceTypeId$/, '/ServiceTypeId'],
  [/^\/revService\/packageId$/, '/RevPackageId'],
  [/^\/revService\/products\/(\d+)\/rate$/, '/RateList/$1'],
  [/^\/revService\/products\/(\d+)(\/productId)?$/, '/RevProductIdList/$1'],
  [/^\/revService\/products$/, '/RevProductIdList'],
  [/^\/revService\/prorate$/, '/Prorate'],
  [/^\/revService\/providerId$/, '/ProviderId'],
  [/^\/revService\/usagePlanGroupId$/, '/UsagePlanGroupId'],
  [/^\/revService\/description$/, '/Description'],
  [/^\/revService$/, '/ServiceTypeId'],
  [/^\/addCarrierRatePlan$/, '/AddCarrierRatePlan'],
  [/^\/carrierRatePlan\/communicationPlan$/, '/CommPlan'],
  [/^\/carrierRatePlan(\/ratePlan)?$/, '/CarrierRatePlan'],
  [/^\/addCustomerRatePlan$/, '/AddCustomerRatePlan'],
  [/^\/customerRatePlan\/ratePoolId$/, '/CustomerRatePool'],
  [/^\/customerRatePlan(\/ratePlanId)?$/, '/CustomerRatePlan'],
  [/^\/effectiveDate$/, '/EffectiveDate'],
  [/^\/activatedDate$/, '/ActivatedDate'],
];

/**
 * `/revService/serviceTypeId` → `/ServiceTypeId`: the older field a problem is about. `customerId`
 * is the older body's RevCustomerId or SiteId, whichever named the customer.
 */
export function legacyPath(path: string, customerField: '/RevCustomerId' | '/SiteId'): string {
  if (path === '/customerId') return customerField;
  for (const [pattern, field] of LEGACY_FIELDS) if (pattern.test(path)) return path.replace(pattern, field);
  return path;
}
