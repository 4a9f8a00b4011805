import type { TestProject } from 'vitest/node';
import { startSimbind, type SimbindAddress } from './server.ts';

/**
 * One `simbind serve` with the demo data for the whole browser run: starting one (embedded
 * PostgreSQL, migrations, the demo seed) costs 6 s on a quiet machine and up to 30 s on a loaded
 * one, so once per run, not once per file. Files run one at a time against it and share its data,
 * so each picks its own devices and customers. first-run.e2e.ts, which needs an empty instance,
 * starts its own.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    simbind: SimbindAddress;
  }
}

/**
 * Demo devices over both tenants (80 % Northwind, 20 % Contoso). fleet.e2e.ts assigns every
 * active unassigned ThingSpace device of Contoso and wants over 1,000 of them: Contoso's 4,000
 * devices hold about 1,330; Northwind keeps its own for the other files.
 */
const SEED_DEVICES = 20_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const simbind = await startSimbind('shared', () => ({ SEED_DEVICES: String(SEED_DEVICES) }));
  const { baseUrl, dataDir, simulators, logFile } = simbind;
  project.provide('simbind', { baseUrl, dataDir, simulators, logFile });
  return () => simbind.stop();
}
