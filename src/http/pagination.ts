import { InvalidInputError } from '../errors.ts';

/**
 * Keyset pagination: the cursor is an opaque base64url of the last row's sort key, so pages stay
 * correct while rows are added and each page is an index range scan, not an OFFSET.
 */

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T>(
  cursor: string | undefined,
  isValid: (value: unknown) => value is T,
): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (isValid(value)) return value;
  } catch {
    // fall through
  }
  throw new InvalidInputError('The cursor is not valid; start again without it.', [
    { path: '/cursor', message: 'is not a cursor this API issued' },
  ]);
}

/**
 * Cursor of a list ordered by a numeric id. A cursor comes back from the client, so its id is held
 * to what this API issues: a whole id within the exact integers of JavaScript (a fraction or an id
 * past bigint used to reach the query and answer 500).
 */
export const isIdCursor = (value: unknown): value is { id: number } => {
  if (typeof value !== 'object' || value === null) return false;
  const { id } = value as { id?: unknown };
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 1;
};

/**
 * Fetch `limit + 1` rows; this turns them into a page and the cursor of its last item.
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => unknown): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
