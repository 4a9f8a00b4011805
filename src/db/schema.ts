import type { Insertable, Selectable, Updateable } from 'kysely';
import type {
  BulkChangeDeviceTable,
  BulkChangeTable,
  CarrierResultTable,
  ChangeLogTable,
} from './tables/bulk-changes.ts';
import type {
  CarrierRatePlanTable,
  CustomerRatePlanTable,
  CustomerRatePoolTable,
  CustomerTable,
  IntegrationCredentialsTable,
  ServiceProviderTable,
  SiteTable,
} from './tables/catalogue.ts';
import type {
  DeviceHistoryTable,
  DeviceTable,
  DeviceTenantTable,
  RevServiceProductTable,
  RevServiceTable,
  ScheduledCarrierPlanChangeTable,
  ScheduledRatePlanChangeTable,
} from './tables/devices.ts';
import type {
  NotificationAttemptTable,
  NotificationDeliveryTable,
  WebhookEndpointTable,
} from './tables/notifications.ts';
import type { SchemaMigrationTable, SyncRunTable } from './tables/sync.ts';
import type {
  ApiTokenTable,
  AppSettingTable,
  AppUserTable,
  AuditEventTable,
  LoginAttemptTable,
  TenantTable,
  UserCustomerAccessTable,
  UserSessionTable,
} from './tables/users.ts';

/**
 * Kysely's view of the tables in `migrations/`, one file per domain under tables/ (column types in
 * tables/columns.ts). Everything is re-exported here: callers import from this one path.
 */

export type * from './tables/bulk-changes.ts';
export type * from './tables/catalogue.ts';
export type * from './tables/devices.ts';
export type * from './tables/notifications.ts';
export type * from './tables/sync.ts';
export type * from './tables/users.ts';

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
