import type { FastifyInstance } from 'fastify';
import { buildJasperSimulator } from '../simulators/jasper.simulator.ts';
import { buildRevioSimulator } from '../simulators/revio.simulator.ts';
import { buildThingSpaceSimulator } from '../simulators/thingspace.simulator.ts';
import { DEMO_THINGSPACE_ACCOUNT, demoPlansOf } from './db/repositories/seed.repository.ts';

/**
 * Runs the built-in Rev.io, ThingSpace and Jasper simulators on loopback, for `npm start` without
 * real endpoints. Credentials rows whose base URL is `simulator://<integration>` resolve to them.
 * Their accounts match the demo credentials written by the seed.
 */

export type SimulatedSystem = 'revio' | 'thingspace' | 'jasper';

export interface SimulatorHost {
  /** Base URL (with the API path prefix) of each running simulator. */
  baseUrls: Record<SimulatedSystem, string>;
  close(): Promise<void>;
}

const API_PREFIX: Record<SimulatedSystem, string> = {
  revio: '/v1',
  thingspace: '/api',
  jasper: '/rws/api/v1',
};

export const SIMULATOR_SCHEME = 'simulator://';

export function buildSimulator(system: SimulatedSystem): FastifyInstance {
  switch (system) {
    case 'revio':
      return buildRevioSimulator();
    case 'thingspace':
      return buildThingSpaceSimulator({
        appKey: 'demo-app-key',
        appSecret: 'demo-app-secret',
        users: [{ username: 'simbind', password: 'demo-password' }],
        autoCreateAccount: DEMO_THINGSPACE_ACCOUNT,
        knownPlans: demoPlansOf('thingspace').ratePlans,
      });
    case 'jasper':
      return buildJasperSimulator(demoPlansOf('jasper'));
  }
}

export async function startSimulators(
  host = '127.0.0.1',
  ports: Partial<Record<SimulatedSystem, number>> = {},
) {
  const systems: SimulatedSystem[] = ['revio', 'thingspace', 'jasper'];
  const apps = systems.map((system) => buildSimulator(system));
  const baseUrls = {} as Record<SimulatedSystem, string>;
  for (const [index, system] of systems.entries()) {
    const address = await apps[index]!.listen({ host, port: ports[system] ?? 0 });
    baseUrls[system] = `${address}${API_PREFIX[system]}`;
  }
  return {
    baseUrls,
    async close() {
      await Promise.all(apps.map((app) => app.close()));
    },
  } satisfies SimulatorHost;
}

/** `simulator://revio` → the running simulator's base URL; real URLs pass through. */
export function resolveBaseUrl(baseUrl: string, host: SimulatorHost | undefined): string {
  if (!baseUrl.startsWith(SIMULATOR_SCHEME)) return baseUrl;
  const system = baseUrl.slice(SIMULATOR_SCHEME.length) as SimulatedSystem;
  const resolved = host?.baseUrls[system];
  if (!resolved)
    throw new Error(`credentials point at ${baseUrl}, but the simulators are not running (SIMULATORS)`);
  return resolved;
}
