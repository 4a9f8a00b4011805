import type { TypedApp } from '../../src/http/app.ts';

/** `POST /api/v1/bulk-changes` for a customer assignment, as a client would send it. */
export function postAssignment(
  app: TypedApp,
  headers: Record<string, string>,
  body: Record<string, unknown>,
) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/bulk-changes',
    headers,
    payload: { changeType: 'customer_assignment', ...body },
  });
}
