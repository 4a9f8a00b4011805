import type { Generated } from 'kysely';
import type { CreatedAt, Json, Timestamp } from './columns.ts';
import type { PortalType } from './catalogue.ts';

/** Bulk changes, their work orders, the change log, and the carriers' asynchronous results. */

export type BulkChangeStatus =
  'NEW' | 'PROCESSING' | 'PROCESSED' | 'PROCESSED_WITH_ERRORS' | 'ERROR' | 'CANCELLED';
export type WorkOrderStatus =
  'PENDING' | 'PROCESSING' | 'WAITING_CARRIER' | 'PROCESSED' | 'ERROR' | 'CANCELLED';
export type ErrorCategory = 'eligibility' | 'owned' | 'permission' | 'integration' | 'internal';

export interface BulkChangeTable {
  id: Generated<number>;
  tenant_id: number;
  change_type: 'customer_assignment' | 'undo';
  service_provider_id: number;
  portal_type: PortalType;
  customer_id: number;
  site_id: number | null;
  status: Generated<BulkChangeStatus>;
  options: Json;
  total_count: Generated<number>;
  created_by: number;
  idempotency_key: string | null;
  request_hash: string | null;
  source: Generated<string>;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  completed_at: Timestamp | null;
  stats: Json | null;
  cancel_requested_at: Timestamp | null;
  /** The bulk change an `undo` takes back. */
  undo_of: number | null;
  /**
   * The bulk-level half of its work orders' request snapshot (customer, site, Rev.io ids, activated
   * date), joined to each work order's own half when a worker claims it; NULL when each work order
   * holds its whole request (undo).
   */
  work_order_request: Json | null;
}

export interface BulkChangeDeviceTable {
  id: Generated<number>;
  tenant_id: number;
  bulk_change_id: number;
  device_id: number | null;
  identifier: string;
  iccid: string | null;
  msisdn: string | null;
  status: WorkOrderStatus;
  error_category: ErrorCategory | null;
  message: string | null;
  retryable: Generated<boolean>;
  /**
   * The device's half of the request snapshot (its effective date); the bulk change's half is on
   * bulk_change.work_order_request, and `completeRequest` joins them. A claim for external steps
   * writes the whole snapshot into the row (later steps read it there); the local path does not.
   */
  request: Json | null;
  steps_done: Generated<string[]>;
  attempts: Generated<number>;
  chunk: number | null;
  rev_service_id: number | null;
  carrier_request_id: string | null;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  processed_at: Timestamp | null;
  updated_at: Generated<Date>;
}

export interface ChangeLogTable {
  id: Generated<number>;
  tenant_id: number;
  bulk_change_id: number;
  bulk_change_device_id: number | null;
  device_id: number | null;
  description: string;
  portal_type: PortalType;
  request_text: string | null;
  response_status: string | null;
  response_text: string | null;
  has_error: Generated<boolean>;
  error_text: string | null;
  processed_by: string;
  submitted_by: string | null;
  system: string | null;
  processed_at: Generated<Date>;
}

export interface CarrierResultTable {
  request_id: string;
  status: 'Success' | 'Failed';
  fault_string: string | null;
  received_at: Generated<Date>;
}
