import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify';

/**
 * Fastify's own Ajv compiler, built twice: JSON bodies are validated exactly as sent, while query
 * strings, path parameters and headers, which are text by nature, are still coerced (`?limit=50`).
 *
 * Why not coerce bodies: with coercion `"dryRun": null` became `false` and created a real bulk change,
 * `"createRevService": "false"` and `"customerId": "12"` were taken, `"devices": "x"` became `["x"]`,
 * and an ICCID sent as a JSON number (a float64 by then) was turned back into different digits.
 */

type BuildValidator = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>;
type AjvOptions = NonNullable<FastifyServerOptions['ajv']>;
/** What a built compiler really is (its published type still names the older `(schema) => …`). */
type RouteCompiler = FastifySchemaCompiler<unknown>;

const fromPool = AjvCompiler();

function partAware(externalSchemas: Parameters<typeof fromPool>[0], options: AjvOptions = {}): RouteCompiler {
  const coercing = fromPool(externalSchemas, options) as unknown as RouteCompiler;
  const exact = fromPool(externalSchemas, {
    ...options,
    customOptions: { ...options.customOptions, coerceTypes: false },
  } as AjvOptions) as unknown as RouteCompiler;
  return (route) => (route.httpPart === 'body' ? exact(route) : coercing(route));
}

export const buildValidator = partAware as unknown as BuildValidator;
