/**
 * A PostgreSQL array literal (`{…}`) of `values`, sent as ONE text parameter and cast to an array
 * type in the statement (`${arrayLiteral(ids)}::bigint[]`). node-postgres builds the same literal
 * from a JavaScript array, but quotes and escapes every element through several string copies:
 * the nine columns of a 100,000-device submission took 210–310 ms of the event loop that way
 * (issue 13, B3), against ~20 ms here. An element is quoted only when PostgreSQL would misread it
 * bare; `null` and `undefined` are SQL NULL.
 */
export function arrayLiteral(values: readonly (string | number | null | undefined)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (value === null || value === undefined) parts[i] = 'NULL';
    else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new RangeError(`arrayLiteral: ${value} is not a finite number`);
      parts[i] = String(value);
    } else parts[i] = BARE.test(value) && !NULL_WORD.test(value) ? value : quote(value);
  }
  return `{${parts.join(',')}}`;
}

/** Read as itself unquoted: not empty, no delimiter, brace, quote, backslash or white space. */
const BARE = /^[^{}",\\\s]+$/;
/** Unquoted, PostgreSQL reads NULL (any case) as a null element. */
const NULL_WORD = /^null$/i;

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
