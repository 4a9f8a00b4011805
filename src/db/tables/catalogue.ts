import type { Generated } from 'kysely';
import type { CreatedAt, Json, Numeric, Timestamp } from './columns.ts';

/** Integration accounts, carriers, customers and their sites, rate plans and pools. */

export type Integration = 'revio' | 'thingspace' | 'jasper';
export type CarrierIntegration = 'thingspace' | 'jasper';
export type PortalType = 'm2m' | 'mobility' | 'lnp';
export type CustomerKind = 'rev' | 'amop';

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
