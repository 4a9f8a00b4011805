import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayLiteral } from '../../src/db/array-literal.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * arrayLiteral's text, cast by PostgreSQL itself, gives back exactly the elements it was made of:
 * any text (quotes, backslashes, braces, commas, white space, the word NULL, the empty string,
 * non-ASCII), any integer, and nulls, in order.
 */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(1);
});
afterAll(async () => {
  await database?.drop();
});

async function castText(literal: string): Promise<(string | null)[]> {
  const { rows } = await database.pool.query<{ a: (string | null)[] }>('SELECT $1::text[] AS a', [literal]);
  return rows[0]!.a;
}

describe('arrayLiteral', () => {
  it('reads back as the same texts and nulls', async () => {
    // Texts PostgreSQL's array input has to be told apart; NUL cannot be in a PostgreSQL text.
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.constantFrom('', 'NULL', 'null', 'Null', ' ', '"', '\\', '{', '}', ',', 'a b', '{1,2}', '\t\n'),
      fc.stringMatching(/^[0-9]{10,20}$/),
    );
    const element = fc.option(text.filter((s) => !s.includes('\u0000')));
    await fc.assert(
      fc.asyncProperty(fc.array(element, { maxLength: 20 }), async (values) => {
        expect(await castText(arrayLiteral(values))).toEqual(values.map((v) => v ?? null));
      }),
      { numRuns: 300 },
    );
  });

  it('reads back as the same integers, and as dates', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.maxSafeInteger()), { maxLength: 20 }), async (values) => {
        const { rows } = await database.pool.query<{ a: (string | null)[] }>(
          'SELECT $1::bigint[]::text[] AS a',
          [arrayLiteral(values)],
        );
        expect(rows[0]!.a).toEqual(values.map((v) => (v === null ? null : String(v))));
      }),
      { numRuns: 100 },
    );
    const { rows } = await database.pool.query<{ a: string }>('SELECT ($1::date[])[2]::text AS a', [
      arrayLiteral(['2026-12-01', '2026-12-04', null]),
    ]);
    expect(rows[0]!.a).toBe('2026-12-04');
  });

  it('refuses a number PostgreSQL cannot read', () => {
    expect(() => arrayLiteral([1, Number.NaN])).toThrow(RangeError);
    expect(() => arrayLiteral([Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });

  it('is the empty array for no values', async () => {
    expect(arrayLiteral([])).toBe('{}');
    expect(await castText(arrayLiteral([]))).toEqual([]);
  });
});
