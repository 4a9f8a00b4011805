import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { MAX_SIMULATED_DEVICES } from '../simulators/fleet.ts';
import type { FaultRule } from '../simulators/sim-control.ts';
import { UsageError } from './cli-errors.ts';
import {
  addFaults,
  buildSimulator,
  SIMULATED_SYSTEMS,
  simulatorBaseUrl,
  type SimulatedSystem,
  type SimulatorSettings,
} from './simulator-host.ts';

/**
 * `simbind simulate <system> [flags]`: one external system's simulator as a process of its own, with
 * the demo accounts (the credentials the seed writes), its limits and faults from flags, and
 * optionally an account of N devices (customers for Rev.io) for syncs. Point simbind's processes at
 * it with the printed SIMULATOR_URL_… line.
 */

/** The flags as parsed (strings; `node:util` parseArgs), before checking. */
export interface SimulateFlags {
  port?: string;
  host?: string;
  devices?: string;
  'limit-per-minute'?: string;
  'limit-per-second'?: string;
  concurrency?: string;
  'fail-rate'?: string;
  'fail-status'?: string;
  'latency-ms'?: string;
}

export interface SimulatePlan {
  system: SimulatedSystem;
  host: string;
  port: number;
  settings: SimulatorSettings;
  faults: FaultRule[];
}

/** A bad command line: the message names the flag (printed with the usage text, as any). */
export class SimulateUsageError extends UsageError {}

export function planSimulator(system: string | undefined, flags: SimulateFlags): SimulatePlan {
  if (!SIMULATED_SYSTEMS.includes(system as SimulatedSystem)) {
    throw new SimulateUsageError(`simulate needs one of: ${SIMULATED_SYSTEMS.join(', ')}`);
  }
  const sys = system as SimulatedSystem;
  const int = (name: keyof SimulateFlags, min: number, max: number): number | undefined => {
    const raw = flags[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new SimulateUsageError(
        `--${name} must be an integer from ${min.toLocaleString('en')} to ${max.toLocaleString('en')}`,
      );
    }
    return n;
  };
  const only = (name: keyof SimulateFlags, systems: SimulatedSystem[]) => {
    if (flags[name] !== undefined && !systems.includes(sys)) {
      throw new SimulateUsageError(`--${name} applies to ${systems.join(' and ')} only`);
    }
  };
  only('limit-per-minute', ['revio', 'thingspace']);
  only('limit-per-second', ['jasper']);
  only('concurrency', ['jasper']);

  const host = flags.host ?? '127.0.0.1';
  if (host.trim() === '')
    throw new SimulateUsageError('--host must be an address, e.g. 127.0.0.1 or 0.0.0.0');

  const settings: SimulatorSettings = {};
  const devices = int('devices', 0, MAX_SIMULATED_DEVICES);
  if (devices !== undefined) settings.devices = devices;
  const perMinute = int('limit-per-minute', 1, 100_000_000);
  if (perMinute !== undefined) settings.limitPerMinute = perMinute;
  const perSecond = int('limit-per-second', 1, 1_000_000);
  if (perSecond !== undefined) settings.limitPerSecond = perSecond;
  const concurrency = int('concurrency', 1, 10_000);
  if (concurrency !== undefined) settings.concurrency = concurrency;

  const faults: FaultRule[] = [];
  // The system's API only: the control routes (`/__sim/…`) stay reliable.
  const path = simulatorBaseUrl(sys, '');
  const latencyMs = int('latency-ms', 0, 60_000);
  if (latencyMs) faults.push({ path, latencyMs });
  const failStatus = int('fail-status', 400, 599);
  if (flags['fail-rate'] !== undefined) {
    const rate = Number(flags['fail-rate']);
    if (flags['fail-rate'].trim() === '' || !(rate > 0 && rate <= 1)) {
      throw new SimulateUsageError('--fail-rate must be a number above 0 and at most 1, e.g. 0.05');
    }
    const status = failStatus ?? 500;
    faults.push({ path, status, rate, ...(status === 429 ? { retryAfterSeconds: 1 } : {}) });
  } else if (failStatus !== undefined) {
    throw new SimulateUsageError('--fail-status needs --fail-rate');
  }

  return { system: sys, host, port: int('port', 0, 65_535) ?? 0, settings, faults };
}

/** Builds and starts the simulator; `baseUrl` is what SIMULATOR_URL_<SYSTEM> takes. */
export async function startSimulator(plan: SimulatePlan): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = buildSimulator(plan.system, plan.settings);
  await addFaults(app, plan.faults);
  const address = await app.listen({ host: plan.host, port: plan.port });
  return { app, baseUrl: simulatorBaseUrl(plan.system, address) };
}

/** The command: starts the simulator, says what it plays and the line to point simbind at it. */
export async function simulateCommand(system: string | undefined, flags: SimulateFlags): Promise<void> {
  const plan = planSimulator(system, flags);
  const { app, baseUrl } = await startSimulator(plan);
  const { devices, limitPerMinute, limitPerSecond, concurrency } = plan.settings;
  const facts = [
    devices ? `${devices.toLocaleString('en')} ${plan.system === 'revio' ? 'customers' : 'devices'}` : '',
    limitPerMinute ? `${limitPerMinute.toLocaleString('en')} requests/min` : '',
    limitPerSecond ? `${limitPerSecond.toLocaleString('en')} requests/s` : '',
    concurrency ? `${concurrency} at once` : '',
    ...plan.faults.map((f) =>
      f.latencyMs ? `+${f.latencyMs} ms` : `${f.rate! * 100} % answered ${f.status}`,
    ),
  ].filter(Boolean);
  console.log(`${plan.system} simulator (demo accounts${facts.map((f) => `, ${f}`).join('')}) listening`);
  // The line to copy into simbind's environment (every api/worker process of a multi-process run).
  console.log(`SIMULATOR_URL_${plan.system.toUpperCase()}=${baseUrl}`);
  closeWithGrace({ delay: 5000 }, async () => app.close());
}
