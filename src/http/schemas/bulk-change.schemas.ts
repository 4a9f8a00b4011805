/**
 * The bulk change schemas: requests in bulk-change-request.schemas.ts, responses (and the status
 * enums both use) in bulk-change-response.schemas.ts. Routes import them from here.
 */

export * from './bulk-change-request.schemas.ts';
export * from './bulk-change-response.schemas.ts';
