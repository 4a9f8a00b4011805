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
  return (route) =>
    route.httpPart === 'body'
      ? exact(route)
      : (finiteOnly(coercing(route)) as unknown as ReturnType<RouteCompiler>);
}

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };

/**
 * Coercion turns `?limit=1e400` or `/bulk-changes/-Infinity` into a non-finite number, which Ajv then
 * lets through as an "integer" (even with `strictNumbers`), and PostgreSQL refused with a 500. A
 * coerced value that is not finite is refused here, at its JSON pointer, like any other bad value.
 */
function finiteOnly(compiled: unknown): Validate {
  const validate = compiled as Validate;
  const wrapped: Validate = (data) => {
    if (!validate(data)) {
      wrapped.errors = validate.errors;
      return false;
    }
    const at = nonFinite(data, '');
    if (at === undefined) {
      wrapped.errors = null;
      return true;
    }
    wrapped.errors = [
      { instancePath: at, schemaPath: '#', keyword: 'type', params: {}, message: 'must be a finite number' },
    ];
    return false;
  };
  return wrapped;
}

function nonFinite(value: unknown, path: string): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = nonFinite(child, `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`);
    if (found !== undefined) return found;
  }
  return undefined;
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
