import { luhnCheckDigit } from '../src/services/identifiers.ts';
import type { JasperSimulatorOptions } from './jasper.simulator.ts';
import type { SeedCustomer } from './revio/store.ts';
import type { DeviceSeed } from './thingspace/state.ts';

/**
 * Simulated accounts of N devices (or customers) for syncs and their benchmarks: `simbind simulate
 * … --devices N` and `bench/sync-simulators.ts` build them here. Built in memory in a few hundred
 * milliseconds for 100,000; deterministic, so two runs list the same fleet.
 */

/** The largest simulated account `--devices` builds. */
export const MAX_SIMULATED_DEVICES = 1_000_000;

/** ICCID prefixes of the simulated fleets: apart from the demo's, so a sync never meets a demo device. */
export const FLEET_PREFIX = { jasper: '8914807', thingspace: '8914808' } as const;

/** Rev.io customer ids of a simulated account start above this (and above the magic 9995xx ids). */
export const FIRST_SIMULATED_CUSTOMER_ID = 1_000_001;

/** N valid ICCIDs (19 digits, Luhn): `prefix`, the zero-padded index, the check digit. */
export function simulatedIccids(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const body = `${prefix}${String(i).padStart(18 - prefix.length, '0')}`;
    return `${body}${luhnCheckDigit(body)}`;
  });
}

/** A Control Center account's N activated devices on `ratePlan`. */
export function jasperFleet(n: number, ratePlan: string): NonNullable<JasperSimulatorOptions['devices']> {
  return simulatedIccids(FLEET_PREFIX.jasper, n).map((iccid) => ({ iccid, status: 'ACTIVATED', ratePlan }));
}

/** A ThingSpace account's N devices on `servicePlan`. */
export function thingspaceFleet(n: number, accountName: string, servicePlan: string): DeviceSeed[] {
  return simulatedIccids(FLEET_PREFIX.thingspace, n).map((iccid) => ({ accountName, iccid, servicePlan }));
}

/** A Rev.io account's N active customers. */
export function revioCustomers(n: number): SeedCustomer[] {
  return Array.from({ length: n }, (_, i) => ({
    customer_id: FIRST_SIMULATED_CUSTOMER_ID + i,
    name: `Simulated customer ${i + 1}`,
  }));
}
