import { sql, type RawBuilder } from 'kysely';

/**
 * The step a change-log entry belongs to, read from its description: the older platform's texts
 * are kept as written (its users know them), and each names its step. One mapping for the log's
 * `step` filter and the `step` of each entry, so that filtering by a step shows exactly the entries
 * labelled with it. A description no pattern matches is `other`.
 */

export const CHANGE_LOG_STEPS = [
  'validation',
  'rev_service',
  'ownership',
  'customer_rate_plan',
  'carrier_rate_plan',
  'processing',
  'other',
] as const;
export type ChangeLogStep = (typeof CHANGE_LOG_STEPS)[number];

/** LIKE patterns of each step's descriptions (the constants of the steps that write them). */
const PATTERNS: Record<Exclude<ChangeLogStep, 'other'>, string[]> = {
  // assignment.service.ts, undo.service.ts, undo.step.ts (LOG_CHECK)
  validation: ['Customer Assignment: Validate Device', 'Undo: Validate Device', 'Undo: Check Device'],
  // rev-service.step.ts, undo.step.ts: creates and disconnects, "(found after a lost answer)" included
  rev_service: [
    'Create Rev.io Service: Rev.io API%',
    'Create Rev.io Service Product%',
    'Undo: Disconnect Rev.io%',
  ],
  // local-steps.ts
  ownership: ['Create Rev.io Service: Update AMOP%', 'AMOP Customer Assignment%'],
  // local-steps.ts, rate-plan-schedule.repository.ts
  customer_rate_plan: ['AMOP Customer Rate Plan%', 'Associate Customer: Update AMOP Customer Rate Plan%'],
  // carrier.step.ts, carrier-results.ts, rate-plan-schedule.repository.ts
  carrier_rate_plan: ['Carrier Rate Plan%'],
  // processing.service.ts (a chunk that ran out of retries)
  processing: ['Processing:%'],
};

/** The step of the entry aliased `alias`, as SQL text. */
export function stepOf(alias: string): RawBuilder<ChangeLogStep> {
  const description = sql.ref(`${alias}.description`);
  const whens = Object.entries(PATTERNS).map(
    ([step, patterns]) =>
      sql`WHEN ${sql.join(
        patterns.map((p) => sql`${description} LIKE ${sql.lit(p)}`),
        sql` OR `,
      )} THEN ${sql.lit(step)}`,
  );
  return sql<ChangeLogStep>`CASE ${sql.join(whens, sql` `)} ELSE 'other' END`;
}
