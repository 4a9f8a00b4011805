import type { Call } from './http-client.ts';
import { isRecord, unexpected, type M2mCall, type ThingSpaceCredentials } from './thingspace-transport.ts';

/** ThingSpace's catalogue read: the account's service plans, which a plan change names by `code`. */

/** A service plan of the account: `code` is what a plan change sends as `servicePlan`. */
export interface ThingSpaceServicePlan {
  code: string;
  name: string;
  active: boolean;
  carrierServicePlanCode: string | null;
}

export interface ThingSpaceCatalogueClient {
  /** `GET /m2m/v1/plans/{accountName}`: the account's service plans. */
  listServicePlans(creds: ThingSpaceCredentials): Promise<Call<ThingSpaceServicePlan[]>>;
}

export function createThingSpaceCatalogueReads(m2m: M2mCall): ThingSpaceCatalogueClient {
  return {
    async listServicePlans(creds) {
      const res = await m2m<unknown>(creds, {
        method: 'GET',
        operation: 'GET /m2m/v1/plans/:account',
        path: `/m2m/v1/plans/${encodeURIComponent(creds.accountName)}`,
      });
      if (!Array.isArray(res.body)) throw unexpected('service plan list that is not an array', res);
      const plans: ThingSpaceServicePlan[] = [];
      for (const entry of res.body as unknown[]) {
        const code = isRecord(entry) && typeof entry.code === 'string' ? entry.code.trim() : '';
        if (!isRecord(entry) || code === '') throw unexpected('a service plan without a code', res);
        plans.push({
          code,
          name: typeof entry.name === 'string' && entry.name !== '' ? entry.name : code,
          active: entry.isActive !== false,
          carrierServicePlanCode:
            typeof entry.carrierServicePlanCode === 'string' ? entry.carrierServicePlanCode : null,
        });
      }
      return { value: plans, exchange: res.exchange };
    },
  };
}
