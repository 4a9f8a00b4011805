import type { Database } from '../db/database.ts';
import {
  applyDueCarrierPlans,
  applyDueChanges,
  lockAppliers,
  lockDueOwners,
} from '../db/repositories/rate-plan-schedule.repository.ts';
import { InvalidInputError } from '../errors.ts';

/**
 * Future-dated customer rate plan changes (DESIGN §5.3: `addCustomerRatePlan` with an effective
 * date after today becomes a `scheduled_rate_plan_change`), applied once their date has come.
 */
export interface RatePlanScheduleService {
  /**
   * Applies every scheduled change with effective_date <= `today` (yyyy-MM-dd) in one transaction:
   * device_tenant takes the fields the change sets, one device_history row and (for a bulk change)
   * one change_log row per change, status `applied`. A change whose device is no longer owned (row
   * gone or deleted, or now owned by another customer than its bulk change's) is `cancelled` and
   * changes nothing. Future-dated carrier plans due by then move onto their device rows
   * (`carrierPlans`). Idempotent, and safe from any number of workers at once.
   */
  applyDue(today: string): Promise<{ applied: number; cancelled: number; carrierPlans: number }>;
}

/**
 * A real calendar date written yyyy-MM-dd ('2026-02-30' is not). Checked here so that an operator's
 * typo in a re-run is an input error, not a database error in the middle of the job.
 */
export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

export function createRatePlanScheduleService(deps: { db: Database }): RatePlanScheduleService {
  return {
    async applyDue(today) {
      if (!isCalendarDate(today)) {
        throw new InvalidInputError(`today must be a date as yyyy-MM-dd, got "${today}"`, [
          { path: '/today', message: 'expected yyyy-MM-dd' },
        ]);
      }
      // One transaction: the advisory lock is held until commit, so a second applier starts only
      // once this one's changes are visible, and finds them no longer `scheduled`.
      return deps.db.transaction().execute(async (trx) => {
        await lockAppliers(trx);
        await lockDueOwners(trx, today);
        const customerPlans = await applyDueChanges(trx, today);
        const carrierPlans = await applyDueCarrierPlans(trx, today);
        return { ...customerPlans, carrierPlans };
      });
    },
  };
}
