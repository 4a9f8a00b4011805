import type { Integration } from '../db/schema.ts';
import type { FieldProblem } from '../errors.ts';

/** The shape rules of an integration account as entered: each problem names its field. */

/** Exactly these fields, each a non-empty string; problems name `/<bag>/<field>`. */
export function checkFields(
  bag: 'settings' | 'secrets',
  given: Record<string, string>,
  wanted: readonly string[],
  integration: Integration,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  // A JSON pointer: `~` and `/` in a key are escaped (RFC 6901).
  const at = (field: string) => `/${bag}/${field.replaceAll('~', '~0').replaceAll('/', '~1')}`;
  for (const field of wanted) {
    if (typeof given[field] !== 'string' || given[field].trim() === '') {
      problems.push({ path: at(field), message: `is required for ${integration}` });
    }
  }
  for (const field of Object.keys(given)) {
    if (!wanted.includes(field)) {
      problems.push({ path: at(field), message: `is not a ${integration} ${bag} field` });
    }
  }
  return problems;
}

export function checkBaseUrl(baseUrl: string, integration: Integration): FieldProblem[] {
  if (baseUrl === `simulator://${integration}`) return [];
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return [{ path: '/baseUrl', message: `must be https://… (or simulator://${integration})` }];
    }
    if (url.username || url.password) {
      return [{ path: '/baseUrl', message: 'must not hold credentials: put them in secrets' }];
    }
    return [];
  } catch {
    return [{ path: '/baseUrl', message: 'is not a URL' }];
  }
}
