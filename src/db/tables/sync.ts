import type { Generated } from 'kysely';
import type { CreatedAt, Timestamp } from './columns.ts';

/** Carrier and billing synchronisation runs, and the migrations applied. */

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

export interface SchemaMigrationTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}
