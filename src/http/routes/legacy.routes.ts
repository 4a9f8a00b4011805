import type { FastifyError } from 'fastify';
import type { TypedApp } from '../app.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { principalOf } from '../auth.ts';
import { pointerOf, statusOf } from '../error-handler.ts';
import { referenceTo } from '../schemas/common.schemas.ts';
import {
  AssociateAmopCustomerBody,
  AssociateCustomerBody,
  LegacyResponse,
} from '../schemas/legacy.schemas.ts';
import { DomainError } from '../../errors.ts';
import type { Services } from '../../wiring.ts';

/**
 * The older system's entry points, kept for its clients: `POST /M2M/AssociateCustomer` (Rev.io
 * customer, by Rev customer id) and `POST /M2M/AssociateAmopCustomer` (by site), and the same pair
 * for the Mobility portal (`/Mobility/…`, devices by MSISDN). Same service as
 * `POST /api/v1/bulk-changes`; answers `{ Success, ChangeId }` or `{ Success: false, Message }`
 * with the status code of the failure. POST only (the older one also answered GET: a defect).
 */

const tags = ['older entry points'];

/** The answers of both entry points: the submission's, in the older shape. */
const answers = {
  200: referenceTo(LegacyResponse, '`{ Success: true, ChangeId }`: the bulk change is recorded and queued.'),
  400: referenceTo(LegacyResponse, 'The body is not JSON or is invalid; `Message` names the fields.'),
  401: referenceTo(LegacyResponse, 'Nobody is signed in: no valid session cookie or API token.'),
  403: referenceTo(LegacyResponse, 'The caller is a viewer, or may not access this customer.'),
  404: referenceTo(LegacyResponse, 'The service provider, the customer or the site does not exist.'),
  413: referenceTo(LegacyResponse, 'More than 100,000 devices, or a body over 16 MB.'),
  422: referenceTo(
    LegacyResponse,
    'The change cannot be made as asked (a plan that does not exist, a provider of the other portal, a Rev.io customer’s site for the AMOP path); `Message` says why.',
  ),
};

export async function legacyRoutes(app: TypedApp, services: Services): Promise<void> {
  await app.register(async (legacy: TypedApp) => {
    legacy.setErrorHandler((error: FastifyError | Error, request, reply) => {
      if (error instanceof DomainError) {
        const status = statusOf(error);
        if (status < 500) return reply.code(status).send({ Success: false, Message: describe(error) });
      } else if ((error as FastifyError).validation) {
        // Each problem at its field (`/Priority: must NOT have additional properties`), as the API's details.
        const problems = (error as FastifyError).validation!.map(
          (v) => `${pointerOf(v as Parameters<typeof pointerOf>[0]) || '/'}: ${v.message ?? 'is invalid'}`,
        );
        return reply.code(400).send({ Success: false, Message: `Invalid request (${problems.join('; ')})` });
      } else if (isClientError(error)) {
        // Fastify's own refusals of the body (not JSON, too large, unsupported type): theirs, not ours.
        return reply.code(error.statusCode).send({ Success: false, Message: error.message });
      }
      request.log.error({ err: error }, 'unhandled error');
      return reply.code(500).send({ Success: false, Message: 'Something went wrong on our side.' });
    });

    for (const portal of ['m2m', 'mobility'] as const) {
      const prefix = portal === 'm2m' ? '/M2M' : '/Mobility';
      const Portal = portal === 'm2m' ? '' : 'Mobility';
      const devices = portal === 'm2m' ? 'ICCIDs (M2M portal)' : 'MSISDNs (Mobility portal)';

      legacy.post(
        `${prefix}/AssociateCustomer`,
        {
          bodyLimit: BODY_LIMITS.submission,
          schema: {
            tags,
            operationId: `associate${Portal}Customer`,
            summary: `Assign devices to a Rev.io customer, by ${devices} (older clients)`,
            description:
              "The older system's entry point, kept for its clients; `POST /api/v1/bulk-changes` does the same " +
              "with the API's usual shapes, and every rule of the API holds here too. The customer is named by its " +
              `Rev.io customer id; the service provider must be a ${portal === 'm2m' ? 'M2M' : 'Mobility'} provider.`,
            body: AssociateCustomerBody,
            response: answers,
          },
        },
        async (request) => {
          const result = await services.legacy.associateCustomer(principalOf(request), request.body, portal);
          return { Success: true, ChangeId: result.id };
        },
      );

      legacy.post(
        `${prefix}/AssociateAmopCustomer`,
        {
          bodyLimit: BODY_LIMITS.submission,
          schema: {
            tags,
            operationId: `associate${Portal}AmopCustomer`,
            summary: `Assign devices to a customer site, no billing, by ${devices} (older clients)`,
            description:
              "The older system's entry point, kept for its clients: assigns the devices to the customer " +
              'owning the site, without a Rev.io service. A site of a Rev.io customer is refused (422): its devices ' +
              'would be left unbilled.',
            body: AssociateAmopCustomerBody,
            response: answers,
          },
        },
        async (request) => {
          const result = await services.legacy.associateAmopCustomer(
            principalOf(request),
            request.body,
            portal,
          );
          return { Success: true, ChangeId: result.id };
        },
      );
    }
  });
}

function isClientError(error: Error): error is FastifyError & { statusCode: number } {
  const { statusCode } = error as FastifyError;
  return statusCode !== undefined && statusCode >= 400 && statusCode < 500;
}

function describe(error: DomainError): string {
  const details = Array.isArray(error.details)
    ? (error.details as { path: string; message: string }[]).map((d) => `${d.path}: ${d.message}`).join('; ')
    : '';
  return details ? `${error.message} (${details})` : error.message;
}
