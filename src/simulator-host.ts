import type { FastifyInstance } from 'fastify';
import { jasperFleet, revioCustomers, thingspaceFleet } from '../simulators/fleet.ts';
import { buildJasperSimulator } from '../simulators/jasper.simulator.ts';
import { buildRevioSimulator } from '../simulators/revio.simulator.ts';
import type { FaultRule } from '../simulators/sim-control.ts';
import { buildThingSpaceSimulator } from '../simulators/thingspace.simulator.ts';
import {
  DEMO_CARRIER_PLANS,
  DEMO_SECRETS,
  DEMO_THINGSPACE_ACCOUNT,
  demoPlansOf,
} from './db/repositories/seed.repository.ts';

/**
 * Runs the built-in Rev.io, ThingSpace and Jasper simulators on loopback, for `npm start` without
 * real endpoints. Credentials rows whose base URL is `simulator://<integration>` resolve to them.
 * Their accounts match the demo credentials written by the seed.
 */

export type SimulatedSystem = 'revio' | 'thingspace' | 'jasper';

export interface SimulatorHost {
  /** Base URL (with the API path prefix) of each running simulator. */
  baseUrls: Partial<Record<SimulatedSystem, string>>;
  close(): Promise<void>;
}

export const SIMULATED_SYSTEMS: readonly SimulatedSystem[] = ['revio', 'thingspace', 'jasper'];

const API_PREFIX: Record<SimulatedSystem, string> = {
  revio: '/v1',
  thingspace: '/api',
  jasper: '/rws/api/v1',
};

export const SIMULATOR_SCHEME = 'simulator://';

/** What `simbind simulate` sets by flags; every field absent means the system's own default. */
export interface SimulatorSettings {
  /** A synced account of this size: Rev.io customers, ThingSpace account devices, Jasper devices. */
  devices?: number;
  /** Requests per minute (per account; ThingSpace: over all calls). Rev.io 500, ThingSpace none. */
  limitPerMinute?: number;
  /** Jasper: requests per second per account (5) and calls in flight at once (1). */
  limitPerSecond?: number;
  concurrency?: number;
}

/** A simulator with the demo accounts (the credentials the seed writes), and the given settings. */
export function buildSimulator(system: SimulatedSystem, settings: SimulatorSettings = {}): FastifyInstance {
  const n = settings.devices ?? 0;
  switch (system) {
    case 'revio':
      return buildRevioSimulator({
        customers: revioCustomers(n),
        ...(settings.limitPerMinute !== undefined
          ? { rateLimit: { requestsPerWindow: settings.limitPerMinute, windowMs: 60_000 } }
          : {}),
      });
    case 'thingspace': {
      const plans = demoPlansOf('thingspace').ratePlans;
      return buildThingSpaceSimulator({
        appKey: DEMO_SECRETS.thingspace.appKey,
        appSecret: DEMO_SECRETS.thingspace.appSecret,
        users: [{ username: 'simbind', password: DEMO_SECRETS.thingspace.password }],
        autoCreateAccount: DEMO_THINGSPACE_ACCOUNT,
        knownPlans: plans,
        // The plan lists name the demo's plans as the seed does: a catalogue refresh agrees with it.
        servicePlans: DEMO_CARRIER_PLANS.filter((p) => p.integration === 'thingspace').map((p) => ({
          code: p.code,
          name: p.name,
        })),
        devices: thingspaceFleet(n, DEMO_THINGSPACE_ACCOUNT, plans[0]!),
        ...(settings.limitPerMinute !== undefined
          ? { rateLimit: { requests: settings.limitPerMinute, windowMs: 60_000 } }
          : {}),
      });
    }
    case 'jasper': {
      const plans = demoPlansOf('jasper');
      return buildJasperSimulator({
        ...plans,
        ratePlans: DEMO_CARRIER_PLANS.filter((p) => p.integration === 'jasper').map((p) => ({
          name: p.code,
          description: p.name,
          ...(p.comm ? { communicationPlan: p.comm } : {}),
        })),
        devices: jasperFleet(n, plans.ratePlans[0]!),
        limits: {
          ...(settings.limitPerSecond !== undefined ? { requests: settings.limitPerSecond } : {}),
          ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
        },
      });
    }
  }
}

/** Adds fault rules through the simulator's own control route (as a test would over HTTP). */
export async function addFaults(app: FastifyInstance, rules: FaultRule[]): Promise<void> {
  if (rules.length === 0) return;
  const res = await app.inject({ method: 'POST', url: '/__sim/faults', payload: rules });
  if (res.statusCode !== 200) throw new Error(`fault rules refused: ${res.body}`);
}

/** The API path each simulator serves under: a credentials row's base URL is the address plus it. */
export function simulatorBaseUrl(system: SimulatedSystem, address: string): string {
  return `${address}${API_PREFIX[system]}`;
}

/** Starts the given simulators (default all three) in this process, on loopback by default. */
export async function startSimulators(
  host = '127.0.0.1',
  ports: Partial<Record<SimulatedSystem, number>> = {},
  systems: readonly SimulatedSystem[] = SIMULATED_SYSTEMS,
) {
  const apps = systems.map((system) => buildSimulator(system));
  const baseUrls: SimulatorHost['baseUrls'] = {};
  for (const [index, system] of systems.entries()) {
    const address = await apps[index]!.listen({ host, port: ports[system] ?? 0 });
    baseUrls[system] = simulatorBaseUrl(system, address);
  }
  return {
    baseUrls,
    async close() {
      await Promise.all(apps.map((app) => app.close()));
    },
  } satisfies SimulatorHost;
}

/**
 * `simulator://revio` → the configured simulator (SIMULATOR_URL_REVIO: one running as a process of
 * its own, shared by every simbind process), else the one running in this process; real URLs pass
 * through.
 */
export function resolveBaseUrl(
  baseUrl: string,
  host: SimulatorHost | undefined,
  configured: Partial<Record<SimulatedSystem, string>> = {},
): string {
  if (!baseUrl.startsWith(SIMULATOR_SCHEME)) return baseUrl;
  const system = baseUrl.slice(SIMULATOR_SCHEME.length) as SimulatedSystem;
  const resolved = configured[system] ?? host?.baseUrls[system];
  if (!resolved) {
    throw new Error(
      `credentials point at ${baseUrl}, but no simulator runs here: set SIMULATOR_URL_${system.toUpperCase()} (a \`simbind simulate ${system}\` process) or run \`serve\` (SIMULATORS)`,
    );
  }
  return resolved;
}
