import type { Generated } from 'kysely';
import type { CreatedAt, DateOnly, Json, Numeric, Timestamp } from './columns.ts';
import type { PortalType } from './catalogue.ts';

/** Devices, who owns them, their Rev.io services, their history and scheduled plan changes. */

export type DeviceStatus = 'active' | 'inactive' | 'suspended' | 'deactivated' | 'test_ready' | 'inventory';

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
