import type { FastifyReply } from 'fastify';
import { INVALID_CREDENTIALS_FAULT, TS_ERRORS, type DeviceId } from './state.ts';

/** ThingSpace's wire shapes shared by the simulator's routes: error bodies and body checks. */

export function tsError(reply: FastifyReply, status: number, errorCode: string, errorMessage: string) {
  return reply.code(status).send({ errorCode, errorMessage });
}

/** The body an injected fault (`/__sim/faults`) answers with, in the shape of the real one. */
export function errorBodyFor(status: number): unknown {
  if (status === 401) return INVALID_CREDENTIALS_FAULT;
  if (status === 429) return { errorCode: TS_ERRORS.tooManyRequests, errorMessage: 'Too many requests.' };
  if (status >= 500) return { errorCode: TS_ERRORS.unexpected, errorMessage: 'Unexpected error occurred.' };
  return { errorCode: TS_ERRORS.invalidInput, errorMessage: `Simulated ${status}.` };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isDeviceId(value: unknown): value is DeviceId {
  return isRecord(value) && typeof value.kind === 'string' && typeof value.id === 'string' && value.id !== '';
}
