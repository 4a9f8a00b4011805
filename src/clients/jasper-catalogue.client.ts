import type { Call } from './http-client.ts';
import { unexpectedAnswer, type JasperCall, type JasperCredentials } from './jasper-transport.ts';

/** Control Center's catalogue reads: the account's rate plans and communication plans. */

/** A rate plan of the account, as the catalogue list gives it. */
export interface JasperRatePlan {
  /** What devices name in `ratePlan`. */
  name: string;
  description: string | null;
  /** The communication plan the rate plan goes with, when Control Center says. */
  communicationPlan: string | null;
  active: boolean;
}

export interface JasperCommunicationPlan {
  name: string;
  description: string | null;
  active: boolean;
}

/**
 * The catalogue lists, *(inferred)*: Control Center's REST API publishes no rate plan or
 * communication plan list, so the paths and their answers (`{ ratePlans: [...] }`,
 * `{ communicationPlans: [...] }`, or a bare array) are kept here, in one place, to be changed.
 */
export const JASPER_CATALOGUE_PATHS = {
  ratePlans: { path: '/rateplans', field: 'ratePlans' },
  communicationPlans: { path: '/communicationplans', field: 'communicationPlans' },
} as const;

export interface JasperCatalogueClient {
  /** The account's rate plans (see `JASPER_CATALOGUE_PATHS`). */
  listRatePlans(creds: JasperCredentials): Promise<Call<JasperRatePlan[]>>;
  /** The account's communication plans (see `JASPER_CATALOGUE_PATHS`). */
  listCommunicationPlans(creds: JasperCredentials): Promise<Call<JasperCommunicationPlan[]>>;
}

export function createJasperCatalogueReads(call: JasperCall): JasperCatalogueClient {
  /** One catalogue list: its records, each with a non-empty `name`. */
  const listPlans = async (
    creds: JasperCredentials,
    list: keyof typeof JASPER_CATALOGUE_PATHS,
  ): Promise<Call<Record<string, unknown>[]>> => {
    const { path, field } = JASPER_CATALOGUE_PATHS[list];
    const res = await call(creds, { method: 'GET', operation: `GET ${path}`, path });
    const body = res.body as Record<string, unknown> | unknown[] | undefined;
    const records = Array.isArray(body) ? body : body?.[field];
    const valid =
      Array.isArray(records) &&
      records.every(
        (r: unknown) =>
          typeof r === 'object' && r !== null && typeof (r as { name?: unknown }).name === 'string',
      );
    if (!valid || (records as { name: string }[]).some((r) => r.name.trim() === '')) {
      throw unexpectedAnswer(res, `GET ${path} answered no list of named plans`);
    }
    return { value: records as Record<string, unknown>[], exchange: res.exchange };
  };
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const activeOf = (r: Record<string, unknown>) =>
    typeof r.status === 'string' ? /^active$/i.test(r.status) : r.active !== false;

  return {
    listRatePlans: async (creds) => {
      const { value, exchange } = await listPlans(creds, 'ratePlans');
      return {
        value: value.map((r) => ({
          name: r.name as string,
          description: text(r.description),
          communicationPlan: text(r.communicationPlan),
          active: activeOf(r),
        })),
        exchange,
      };
    },

    listCommunicationPlans: async (creds) => {
      const { value, exchange } = await listPlans(creds, 'communicationPlans');
      return {
        value: value.map((r) => ({
          name: r.name as string,
          description: text(r.description),
          active: activeOf(r),
        })),
        exchange,
      };
    },
  };
}
