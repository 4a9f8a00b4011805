import { InvalidInputError } from '../errors.ts';
import type { RatePlanScheduleService } from '../services/rate-plan-schedule.service.ts';
import type { JobQueue, QueueName } from './queue.ts';

/**
 * Applies due customer rate plan changes. The cron fires daily just after midnight UTC; a run
 * applies everything due up to its day, so a day the workers were down is caught up by the next
 * run, and a run that finds nothing (a second worker, a re-run) is harmless.
 */

export const RATE_PLAN_SCHEDULE_QUEUE = 'rate-plan.apply-scheduled' satisfies QueueName;
/** 00:05 UTC: clear of midnight, where clock skew between machines could still say "yesterday". */
export const RATE_PLAN_SCHEDULE_CRON = '5 0 * * *';

/** `today` lets an operator re-run a past day (yyyy-MM-dd); the cron sends no data. */
export interface ApplyScheduledPayload {
  today?: string;
}

export function utcToday(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export async function registerRatePlanScheduleTask(
  queue: JobQueue,
  service: RatePlanScheduleService,
): Promise<void> {
  // One slot: runs are serialised by the service anyway, more would only wait on its lock.
  await queue.work<ApplyScheduledPayload | null>(RATE_PLAN_SCHEDULE_QUEUE, 1, async (job) => {
    const now = utcToday();
    const requested: unknown = job.data?.today ?? now;
    // A malformed or future `today` fails the job visibly instead of applying another day; a
    // future one would apply changes before their date. (yyyy-MM-dd strings compare as dates.)
    if (typeof requested !== 'string' || requested > now) {
      throw new InvalidInputError(`today must be a yyyy-MM-dd date no later than ${now}`);
    }
    await service.applyDue(requested);
  });
  await queue.schedule(RATE_PLAN_SCHEDULE_QUEUE, RATE_PLAN_SCHEDULE_CRON, {});
}
