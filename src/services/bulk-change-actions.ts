import type { StatusCounts } from '../db/repositories/bulk-change.repository.ts';
import type { BulkChangeStatus } from '../db/schema.ts';
import type { Principal } from './principal.ts';

/**
 * What may be done to a bulk change now. One rule serves both sides: the read model lists the
 * actions it allows (so a screen or a client never offers what the server will refuse), and the
 * action itself refuses with the same rule's reason.
 */

export type BulkChangeAction = 'cancel' | 'retry' | 'undo';

export interface ActionFacts {
  id: number;
  status: BulkChangeStatus;
  cancelRequested: boolean;
  counts: StatusCounts;
  /** Failed work orders a retry would re-open (retryable, device not in another open change). */
  retryable: number;
  /** For the undo rule; absent where only cancel and retry are decided (they need neither). */
  changeType?: 'customer_assignment' | 'undo';
  /** The bulk change's live (not cancelled) undo. */
  undoneBy?: number | null;
  /** A failed work order changed its device anyway (a step done before the failure). */
  failedButChanged?: boolean;
}

/** Why a cancel is refused, or undefined when it may go ahead. */
export function cancelRefusal(f: ActionFacts): string | undefined {
  if (f.status !== 'NEW' && f.status !== 'PROCESSING')
    return `Bulk change ${f.id} is ${f.status}: only an open bulk change can be cancelled.`;
  if (f.cancelRequested) return `Bulk change ${f.id} is being cancelled already.`;
  if (f.counts.pending + f.counts.waiting === 0) {
    return (
      `Nothing left to cancel: every device of bulk change ${f.id} has begun, and a device always goes ` +
      `through all its steps. The bulk change finishes on its own.`
    );
  }
  return undefined;
}

/** Why a retry is refused, or undefined when it may go ahead. */
export function retryRefusal(f: ActionFacts): string | undefined {
  if (f.status !== 'PROCESSED_WITH_ERRORS' && f.status !== 'ERROR')
    return `Bulk change ${f.id} is ${f.status}: only a finished bulk change with failures can be retried.`;
  if (f.retryable === 0) {
    return (
      `Bulk change ${f.id} has no failure that a retry can fix (ineligible devices and refusals by ` +
      `the remote system stay failed).`
    );
  }
  return undefined;
}

/** Why an undo is refused, or undefined when it may go ahead (the devices are judged one by one later). */
export function undoRefusal(f: ActionFacts): string | undefined {
  if (f.changeType === 'undo')
    return `Bulk change ${f.id} is an undo: an undo cannot be undone (submit a new assignment instead).`;
  if (f.status === 'NEW' || f.status === 'PROCESSING')
    return `Bulk change ${f.id} is still running (${f.status}): cancel it first, or wait until it finishes.`;
  if (f.undoneBy !== undefined && f.undoneBy !== null)
    return `Bulk change ${f.id} is already undone by bulk change ${f.undoneBy}.`;
  if (f.counts.processed === 0 && !f.failedButChanged)
    return `Bulk change ${f.id} changed no device: nothing to undo.`;
  return undefined;
}

export function actionsOf(principal: Principal, f: ActionFacts): BulkChangeAction[] {
  if (principal.role === 'viewer') return [];
  const actions: BulkChangeAction[] = [];
  if (cancelRefusal(f) === undefined) actions.push('cancel');
  if (retryRefusal(f) === undefined) actions.push('retry');
  if (f.changeType !== undefined && undoRefusal(f) === undefined) actions.push('undo');
  return actions;
}
