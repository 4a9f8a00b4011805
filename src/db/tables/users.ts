import type { Generated } from 'kysely';
import type { CreatedAt, Json, Timestamp } from './columns.ts';

/** Tenants, people and their ways in: users, tokens, sessions, login attempts, settings, the audit log. */

export type Role = 'admin' | 'operator' | 'viewer';

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
