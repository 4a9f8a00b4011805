import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Kysely's view of the tables in `migrations/`. bigint ids are parsed to numbers (see database.ts):
 * they stay far below 2^53. `numeric` columns arrive as strings to keep their exact value.
 */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type DateOnly = ColumnType<string, string, string>;
type Numeric = ColumnType<string, string | number, string | number>;
type Json<T = unknown> = ColumnType<T, string | T, string | T>;

export type Role = 'admin' | 'operator' | 'viewer';
export type Integration = 'revio' | 'thingspace' | 'jasper';
export type CarrierIntegration = 'thingspace' | 'jasper';
export type PortalType = 'm2m' | 'mobility' | 'lnp';
export type CustomerKind = 'rev' | 'amop';
export type DeviceStatus = 'active' | 'inactive' | 'suspended' | 'deactivated' | 'test_ready' | 'inventory';
export type BulkChangeStatus =
  'NEW' | 'PROCESSING' | 'PROCESSED' | 'PROCESSED_WITH_ERRORS' | 'ERROR' | 'CANCELLED';
export type WorkOrderStatus =
  'PENDING' | 'PROCESSING' | 'WAITING_CARRIER' | 'PROCESSED' | 'ERROR' | 'CANCELLED';
export type ErrorCategory = 'eligibility' | 'owned' | 'permission' | 'integration' | 'internal';

export interface TenantTable {
  id: Generated<number>;
  slug: string;
  name: string;
  created_at: CreatedAt;
}

export interface AppUserTable {
  id: Generated<number>;
  tenant_id: number;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  all_customers: Generated<boolean>;
  active: Generated<boolean>;
  created_at: CreatedAt;
}

export interface UserCustomerAccessTable {
  user_id: number;
  customer_id: number;
}

export interface ApiTokenTable {
  id: Generated<number>;
  tenant_id: number;
  user_id: number;
  name: string;
  token_hash: Buffer;
  token_prefix: string;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface UserSessionTable {
  id_hash: Buffer;
  tenant_id: number;
  user_id: number;
  created_at: CreatedAt;
  expires_at: Timestamp;
  last_seen_at: Generated<Date>;
}

export interface LoginAttemptTable {
  key: string;
  attempted_at: Generated<Date>;
}

export interface AppSettingTable {
  key: string;
  value: string;
  created_at: CreatedAt;
}

export interface IntegrationCredentialsTable {
  id: Generated<number>;
  tenant_id: number;
  integration: Integration;
  name: string;
  base_url: string;
  settings: Json<Record<string, string>>;
  secrets: Json<Record<string, string>>;
  rate_limit_requests: number | null;
  rate_limit_window_ms: number | null;
  rate_limit_concurrency: number | null;
  created_at: CreatedAt;
  updated_at: Generated<Date>;
  secrets_set_at: Date | null;
  secrets_set_by: number | null;
}

export interface ServiceProviderTable {
  id: Generated<number>;
  tenant_id: number;
  name: string;
  integration: CarrierIntegration;
  portal_type: PortalType;
  credentials_id: number | null;
  active: Generated<boolean>;
  created_at: CreatedAt;
}

export interface CustomerTable {
  id: Generated<number>;
  tenant_id: number;
  name: string;
  kind: CustomerKind;
  rev_customer_id: number | null;
  rev_credentials_id: number | null;
  active: Generated<boolean>;
  created_at: CreatedAt;
  rev_seen_at: Timestamp | null;
}

export interface SiteTable {
  id: Generated<number>;
  tenant_id: number;
  customer_id: number;
  name: string;
  address: string | null;
  is_default: Generated<boolean>;
  created_at: CreatedAt;
}

export interface CarrierRatePlanTable {
  id: Generated<number>;
  tenant_id: number;
  service_provider_id: number;
  code: string;
  name: string;
  communication_plan: string | null;
  data_allowance_mb: Numeric | null;
  active: Generated<boolean>;
  /** When a catalogue refresh last listed the plan; null: entered otherwise. */
  listed_at: Generated<Date | null>;
}

export interface CustomerRatePlanTable {
  id: Generated<number>;
  tenant_id: number;
  code: string;
  name: string;
  data_allocation_mb: Numeric;
  monthly_rate: Numeric;
  active: Generated<boolean>;
}

export interface CustomerRatePoolTable {
  id: Generated<number>;
  tenant_id: number;
  name: string;
  shared_data_mb: Numeric;
  active: Generated<boolean>;
}

export interface DeviceTable {
  id: Generated<number>;
  tenant_id: number;
  service_provider_id: number;
  iccid: string;
  msisdn: string | null;
  imei: string | null;
  status: DeviceStatus;
  activated_at: DateOnly | null;
  carrier_rate_plan: string | null;
  communication_plan: string | null;
  is_archived: Generated<boolean>;
  carrier_seen_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Generated<Date>;
}

export interface DeviceTenantTable {
  id: Generated<number>;
  tenant_id: number;
  device_id: number;
  customer_id: number | null;
  site_id: number | null;
  account_number: string | null;
  rev_credentials_id: number | null;
  rev_service_id: number | null;
  customer_rate_plan_id: number | null;
  customer_rate_pool_id: number | null;
  data_allocation_mb: Numeric | null;
  is_active: Generated<boolean>;
  is_deleted: Generated<boolean>;
  modified_at: Generated<Date>;
  modified_by: number | null;
}

export interface RevServiceTable {
  id: Generated<number>;
  tenant_id: number;
  device_id: number;
  customer_id: number;
  rev_credentials_id: number;
  rev_customer_id: number;
  service_id: number | null;
  number: string;
  number2: string | null;
  service_type_id: number | null;
  provider_id: number | null;
  package_id: number | null;
  usage_plan_group_id: number | null;
  effective_date: DateOnly | null;
  activated_date: DateOnly | null;
  description: string | null;
  status: 'pending' | 'created' | 'failed' | 'disconnected';
  is_active: Generated<boolean>;
  bulk_change_device_id: number | null;
  created_at: CreatedAt;
  updated_at: Generated<Date>;
  disconnect_work_order_id: number | null;
  disconnected_at: Timestamp | null;
}

export interface RevServiceProductTable {
  id: Generated<number>;
  tenant_id: number;
  rev_service_id: number;
  product_id: number;
  rate: Numeric | null;
  quantity: Generated<number>;
  service_product_id: number | null;
  status: 'pending' | 'created' | 'failed' | 'disconnected';
  disconnect_work_order_id: number | null;
  disconnected_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Generated<Date>;
}

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

export interface DeviceHistoryTable {
  id: Generated<number>;
  tenant_id: number;
  device_id: number;
  bulk_change_id: number | null;
  change_type: string;
  before: Json | null;
  after: Json;
  changed_by: number | null;
  changed_at: Generated<Date>;
}

export interface ScheduledRatePlanChangeTable {
  id: Generated<number>;
  tenant_id: number;
  device_id: number;
  bulk_change_id: number | null;
  bulk_change_device_id: number | null;
  customer_rate_plan_id: number | null;
  customer_rate_pool_id: number | null;
  data_allocation_mb: Numeric | null;
  effective_date: DateOnly;
  portal_type: PortalType;
  status: Generated<'scheduled' | 'applied' | 'cancelled'>;
  created_by: number | null;
  created_at: CreatedAt;
  applied_at: Timestamp | null;
}

export interface ScheduledCarrierPlanChangeTable {
  id: Generated<number>;
  tenant_id: number;
  device_id: number;
  bulk_change_id: number | null;
  bulk_change_device_id: number | null;
  carrier_rate_plan: string;
  communication_plan: string | null;
  effective_date: DateOnly;
  status: Generated<'scheduled' | 'applied' | 'cancelled'>;
  created_by: number | null;
  created_at: CreatedAt;
  applied_at: Timestamp | null;
}

export interface AuditEventTable {
  id: Generated<number>;
  tenant_id: number;
  at: CreatedAt;
  user_id: number | null;
  user_email: string | null;
  action: string;
  outcome: 'refused';
  customer_id: number | null;
  device_count: number | null;
  reason: string;
  details: Json<Record<string, unknown>>;
}

export interface WebhookEndpointTable {
  id: Generated<number>;
  tenant_id: number;
  url: string;
  /** A plain signing secret of a row written before sealing; null once sealed. */
  secret: string | null;
  /** The signing secret sealed with SECRETS_KEY (`SealedSecrets`, `{ signingSecret }` inside). */
  sealed_secret: Json | null;
  description: Generated<string>;
  events: Generated<string[]>;
  active: Generated<boolean>;
  secret_set_at: Timestamp;
  secret_set_by: number | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface NotificationDeliveryTable {
  id: Generated<number>;
  tenant_id: number;
  /** null only for a `webhook.test` delivery. */
  bulk_change_id: number | null;
  channel: 'webhook' | 'email';
  webhook_endpoint_id: number | null;
  recipient: string;
  event: string;
  payload: Json;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  last_response: string | null;
  created_at: CreatedAt;
  delivered_at: Timestamp | null;
}

export interface NotificationAttemptTable {
  id: Generated<number>;
  notification_delivery_id: number;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  response: string | null;
  attempted_at: Generated<Date>;
}

export interface CarrierResultTable {
  request_id: string;
  status: 'Success' | 'Failed';
  fault_string: string | null;
  received_at: Generated<Date>;
}

export interface SchemaMigrationTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}

export type SyncKind = 'devices' | 'customers';
export type SyncMode = 'full' | 'incremental';
export type SyncStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface SyncRunTable {
  id: Generated<number>;
  tenant_id: number;
  kind: SyncKind;
  service_provider_id: number | null;
  credentials_id: number;
  mode: SyncMode;
  status: Generated<SyncStatus>;
  requested_by: number | null;
  since: Timestamp | null;
  high_water: Timestamp | null;
  pages: Generated<number>;
  seen: Generated<number>;
  created: Generated<number>;
  changed: Generated<number>;
  gone: number | null;
  skipped: Generated<number>;
  attempts: Generated<number>;
  error: string | null;
  deadline_at: Timestamp;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export interface DB {
  sync_run: SyncRunTable;
  tenant: TenantTable;
  app_user: AppUserTable;
  user_customer_access: UserCustomerAccessTable;
  api_token: ApiTokenTable;
  user_session: UserSessionTable;
  login_attempt: LoginAttemptTable;
  app_setting: AppSettingTable;
  integration_credentials: IntegrationCredentialsTable;
  service_provider: ServiceProviderTable;
  customer: CustomerTable;
  site: SiteTable;
  carrier_rate_plan: CarrierRatePlanTable;
  customer_rate_plan: CustomerRatePlanTable;
  customer_rate_pool: CustomerRatePoolTable;
  device: DeviceTable;
  device_tenant: DeviceTenantTable;
  rev_service: RevServiceTable;
  rev_service_product: RevServiceProductTable;
  bulk_change: BulkChangeTable;
  bulk_change_device: BulkChangeDeviceTable;
  change_log: ChangeLogTable;
  device_history: DeviceHistoryTable;
  scheduled_rate_plan_change: ScheduledRatePlanChangeTable;
  scheduled_carrier_plan_change: ScheduledCarrierPlanChangeTable;
  audit_event: AuditEventTable;
  webhook_endpoint: WebhookEndpointTable;
  notification_delivery: NotificationDeliveryTable;
  notification_attempt: NotificationAttemptTable;
  schema_migration: SchemaMigrationTable;
  carrier_result: CarrierResultTable;
}

export type Device = Selectable<DeviceTable>;
export type Customer = Selectable<CustomerTable>;
export type BulkChange = Selectable<BulkChangeTable>;
export type NewBulkChange = Insertable<BulkChangeTable>;
export type WorkOrder = Selectable<BulkChangeDeviceTable>;
export type WorkOrderUpdate = Updateable<BulkChangeDeviceTable>;
export type AppUser = Selectable<AppUserTable>;
