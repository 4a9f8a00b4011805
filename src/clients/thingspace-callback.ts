import { InvalidInputError, type FieldProblem } from '../errors.ts';
import { isRecord } from './thingspace-transport.ts';

/** What ThingSpace sends simbind back: the `CarrierService` callback of a plan change. */

export interface CarrierCallback {
  requestId: string;
  status: 'Success' | 'Failed';
  iccids: string[];
  faultCode?: string;
  faultString?: string;
}

/**
 * Validates what ThingSpace POSTs to the `CarrierService` callback:
 * `{ requestId, deviceIds: [{ kind, id }], status: "Success"|"Failed", faultResponse? }`.
 * Throws `InvalidInputError` listing every problem.
 */
export function parseCarrierCallback(body: unknown): CarrierCallback {
  if (!isRecord(body)) throw new InvalidInputError('ThingSpace callback: body must be a JSON object');
  const problems: FieldProblem[] = [];
  const { requestId, status, deviceIds, faultResponse } = body;
  if (typeof requestId !== 'string' || requestId === '') {
    problems.push({ path: '/requestId', message: 'must be a non-empty string' });
  }
  if (status !== 'Success' && status !== 'Failed') {
    problems.push({ path: '/status', message: 'must be "Success" or "Failed"' });
  }
  const iccids: string[] = [];
  if (!Array.isArray(deviceIds)) {
    problems.push({ path: '/deviceIds', message: 'must be an array of { kind, id }' });
  } else {
    deviceIds.forEach((entry: unknown, i) => {
      if (!isRecord(entry) || typeof entry.kind !== 'string' || typeof entry.id !== 'string') {
        problems.push({ path: `/deviceIds/${i}`, message: 'must be { kind: string, id: string }' });
      } else if (entry.kind.toLowerCase() === 'iccid') {
        iccids.push(entry.id);
      }
    });
  }
  if (faultResponse !== undefined && !isRecord(faultResponse)) {
    problems.push({ path: '/faultResponse', message: 'must be an object { faultcode, faultstring }' });
  }
  if (problems.length > 0 || typeof requestId !== 'string' || (status !== 'Success' && status !== 'Failed')) {
    throw new InvalidInputError('ThingSpace callback: invalid payload', problems);
  }
  return { requestId, status, iccids, ...faultOf(faultResponse) };
}

/** A callback's or a request status's `faultResponse`, as simbind names its fields. */
export function faultOf(value: unknown): { faultCode?: string; faultString?: string } {
  if (!isRecord(value)) return {};
  return {
    ...(typeof value.faultcode === 'string' ? { faultCode: value.faultcode } : {}),
    ...(typeof value.faultstring === 'string' ? { faultString: value.faultstring } : {}),
  };
}
