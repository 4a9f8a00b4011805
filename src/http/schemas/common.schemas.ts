import { Type, type Static, type TSchema } from '@fastify/type-provider-typebox';

/**
 * What every request field is held to (issues 10 and 18). Ids are bigint in PostgreSQL, but a JSON
 * or JavaScript number is exact only up to 2^53 − 1: past that, `9007199254740993` already reads as
 * another id, and past 2^63 − 1 the query fails (500). PostgreSQL stores no NUL in text or jsonb
 * either (500), so no request string may carry one.
 */
export const MAX_ID = Number.MAX_SAFE_INTEGER;
export const NO_NUL = '^[^\\u0000]*$';

/** A database id as it arrives in a body, a path or a query string. */
export function Id(options: { description?: string } = {}) {
  return Type.Integer({ minimum: 1, maximum: MAX_ID, ...options });
}

/** A request string: any text but NUL. */
export function Text(options: { minLength?: number; maxLength?: number; description?: string } = {}) {
  return Type.String({ pattern: NO_NUL, ...options });
}

/**
 * The one error body. app.ts registers it with `addSchema`, so the OpenAPI document holds it once
 * (`#/components/schemas/ErrorResponse`) and every error answer refers to it through `errorResponses`.
 */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        description:
          '`invalid_input` (400), `unauthenticated` (401), `forbidden` (403), `not_found` (404), `conflict` (409), ' +
          '`payload_too_large` (413), `unprocessable` (422), `rate_limited` (429), `internal` (500), ' +
          '`upstream_failed` (502: a partner system such as Rev.io failed; the message names it); ' +
          "other 4xx answers of the HTTP layer carry Fastify's code (`FST_ERR_…`).",
      }),
      message: Type.String({ description: 'For people: what went wrong and, where it helps, what to do.' }),
      details: Type.Optional(
        Type.Unknown({
          description:
            'With 400 and 422: the offending fields, as `[{ path, message }]` (`path` a JSON pointer).',
        }),
      ),
    }),
  },
  {
    $id: 'ErrorResponse',
    description: 'Every error answer of `/api/v1`.',
    examples: [
      {
        error: {
          code: 'invalid_input',
          message: 'The request is invalid.',
          details: [{ path: '/customerId', message: 'must be >= 1' }],
        },
      },
    ],
  },
);

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 502;

/** The 401 of every route that needs a caller. */
export const UNAUTHENTICATED =
  'Nobody is signed in: no valid session cookie and no valid `Authorization: Bearer` API token.';

/**
 * The error answers of one operation, each described in the operation's own words, each a reference
 * to the shared ErrorResponse (the description stays on the answer; the schema is only the `$ref`).
 */
export function errorResponses<S extends ErrorStatus>(descriptions: Record<S, string>) {
  return Object.fromEntries(
    Object.entries<string>(descriptions).map(([status, description]) => [
      status,
      referenceTo(ErrorResponse, description),
    ]),
  ) as Record<S, ReturnType<typeof referenceTo<typeof ErrorResponse>>>;
}

/**
 * A `$ref` to a schema registered with `addSchema`, typed as that schema. The description is the
 * answer's own: @fastify/swagger puts it on the response and keeps only the `$ref` as its schema.
 */
export function referenceTo<T extends TSchema>(schema: T, description: string) {
  const id = (schema as { $id?: unknown }).$id;
  if (typeof id !== 'string')
    throw new Error('only a schema with an $id (added with addSchema) can be referenced');
  return Type.Unsafe<Static<T>>(Type.Ref(id, { description }));
}

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(
    Type.String({
      maxLength: 500,
      pattern: '^[A-Za-z0-9_-]*$',
      description: 'The `nextCursor` of the previous page, as it came.',
    }),
  ),
};

export const IdParams = Type.Object({ id: Id() });

export function ListResponse<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page.' }),
  });
}

/** A schema with the description (and examples) of one answer, the shared definition left untouched. */
export function described<T extends TSchema>(schema: T, description: string, examples?: Static<T>[]) {
  return Type.With(schema, examples ? { description, examples } : { description });
}
