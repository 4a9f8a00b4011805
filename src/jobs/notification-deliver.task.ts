import type { NotificationService } from '../services/notification.service.ts';
import type { JobQueue } from './queue.ts';

/**
 * `notification.deliver`: one attempt of one notification. A throw (transient failure) fails the
 * job and pg-boss retries it with the queue's backoff; the service decides when to stop.
 */

export interface NotificationDeliverJob {
  deliveryId: number;
}

export async function registerNotificationTask(
  queue: JobQueue,
  notifications: NotificationService,
  concurrency: number,
): Promise<void> {
  await queue.work<Partial<NotificationDeliverJob>>('notification.deliver', concurrency, async (job) => {
    const { deliveryId } = job.data;
    if (typeof deliveryId !== 'number' || !Number.isSafeInteger(deliveryId) || deliveryId <= 0) {
      throw new Error(`notification.deliver job ${job.id}: invalid deliveryId ${JSON.stringify(deliveryId)}`);
    }
    await notifications.deliver(deliveryId);
  });
}
