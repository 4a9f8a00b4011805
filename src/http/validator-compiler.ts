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

/**
 * A JSON body validator built like the routes' (exact types, every error): for a request that did
 * not come in as that body, e.g. the older entry points' translation into the API's request.
 */
export function compileBodyValidator(
  schema: unknown,
): (body: unknown) => { instancePath: string; params: Record<string, unknown>; message?: string }[] {
  const compile = fromPool(
    {},
    {
      customOptions: { allErrors: true, coerceTypes: false, removeAdditional: false },
    },
  ) as unknown as RouteCompiler;
  const validate = compile({
    schema,
    method: 'POST',
    url: '/',
    httpPart: 'body',
  }) as unknown as {
    (body: unknown): boolean;
    errors?: { instancePath: string; params: Record<string, unknown>; message?: string }[] | null;
  };
  return (body) => (validate(body) ? [] : [...(validate.errors ?? [])]);
}
