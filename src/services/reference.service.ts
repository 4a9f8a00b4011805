import type { Database } from '../db/database.ts';

/** Placeholder until the reference-data work lands. */
export type ReferenceService = Record<string, never>;

export function createReferenceService(_deps: { db: Database }): ReferenceService {
  return {};
}
