/** Control Center's records and answers, as the simulator writes them. */

export const JASPER_STATUSES = ['ACTIVATED', 'DEACTIVATED', 'INVENTORY', 'TEST_READY', 'RETIRED'] as const;
export type JasperSimStatus = (typeof JASPER_STATUSES)[number];

// prettier-ignore
export const CUSTOM_FIELDS = [
  'accountCustom1', 'accountCustom2', 'accountCustom3', 'accountCustom4', 'accountCustom5',
  'accountCustom6', 'accountCustom7', 'accountCustom8', 'accountCustom9', 'accountCustom10',
] as const;
export type CustomField = (typeof CUSTOM_FIELDS)[number];

export type JasperSimDevice = {
  iccid: string;
  imsi: string;
  msisdn: string;
  imei: string;
  status: JasperSimStatus;
  ratePlan: string;
  communicationPlan: string;
  customer: string;
  dateActivated: string;
  dateUpdated: string;
} & Record<CustomField, string>;

/** How long ahead a device edit may be dated. */
export const MAX_EFFECTIVE_DAYS = 180;

export const err = (errorMessage: string, errorCode: string) => ({ errorMessage, errorCode });
export const ERRORS = {
  credentials: err('Invalid credentials', '10000001'),
  badJson: err('The JSON in the request is not well formed.', '10000023'),
  badRequest: err('Invalid request. The request contained one or more unrecognized parameters.', '10000028'),
  notFound: err('Resource not found - Invalid ICCID.', '20000001'),
  ratePlan: err('Invalid rate plan', '20000017'),
  communicationPlan: err('Invalid communication plan', '20000018'),
  status: err('Invalid status', '20000019'),
  effectiveDate: err(
    `Invalid effectiveDate: must be yyyy-MM-dd, today or up to ${MAX_EFFECTIVE_DAYS} days ahead`,
    '20000020',
  ),
  tooMany: err('Too many requests', '40000029'),
  server: err('Unknown server error.', '30000001'),
};

export function errorBody(status: number) {
  if (status === 401) return ERRORS.credentials;
  if (status === 404) return ERRORS.notFound;
  if (status === 429) return ERRORS.tooMany;
  if (status >= 500) return ERRORS.server;
  return ERRORS.badRequest;
}

export function utcToday(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Control Center's timestamp format, e.g. `2016-06-27 17:47:13.000+0000`. */
export function jasperTime(date: Date): string {
  return `${date.toISOString().slice(0, 23).replace('T', ' ')}+0000`;
}
