import type { Config } from '../config.ts';
import type { Services } from '../wiring.ts';
import { registerBulkChangeTasks } from './bulk-change.tasks.ts';
import { registerNotificationTask } from './notification-deliver.task.ts';
import type { JobQueue } from './queue.ts';
import { registerRatePlanScheduleTask } from './rate-plan-schedule.task.ts';
import { registerSyncTasks } from './sync.tasks.ts';

const ABANDONED_CHUNK_SWEEP_SECONDS = 5;

/** Makes this process a worker: every task of every queue, with the configured concurrency. */
export async function startWorker(queue: JobQueue, services: Services, config: Config): Promise<void> {
  await registerBulkChangeTasks(queue, services, config.worker.concurrency);
  // A killed worker's chunk is back in the queue within seconds (see resumeAbandonedChunks).
  queue.repeat(ABANDONED_CHUNK_SWEEP_SECONDS, () => services.processing.resumeAbandonedChunks());
  await registerNotificationTask(queue, services.notifications, 2);
  await registerRatePlanScheduleTask(queue, services.ratePlanSchedule);
  await registerSyncTasks(queue, services.sync);
}
