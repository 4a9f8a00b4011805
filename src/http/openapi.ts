import type { Config } from '../config.ts';
import { createDatabase } from '../db/database.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { createServices } from '../wiring.ts';
import { buildApp } from './app.ts';

/**
 * The OpenAPI document exactly as the running server publishes it at `/docs/json`, produced without
 * a database or a port: routes only capture their services, so a pool that never connects and a
 * queue that refuses use are enough. Used by `simbind openapi`, the contract lint and the typed
 * client's build.
 */
export async function openApiDocument(config: Config): Promise<Record<string, unknown>> {
  const database = createDatabase('postgres://openapi.invalid:1/none', 1, 'simbind-openapi');
  const unusable = (): never => {
    throw new Error('the OpenAPI document is built without a queue');
  };
  const queue: JobQueue = {
    enqueue: unusable,
    enqueueMany: unusable,
    work: unusable,
    schedule: unusable,
    repeat: unusable,
    fail: unusable,
    stop: async () => undefined,
  };
  const app = await buildApp({
    services: createServices({ config, database, queue }),
    cookieSecret: 'openapi-document-only-0123456789abcdef',
    logLevel: 'silent',
    publicUrl: config.http.publicUrl ?? `http://localhost:${config.http.port}`,
  });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
    await database.close();
  }
}
