import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { FIRST_SIMULATED_CUSTOMER_ID } from '../simulators/fleet.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { planSimulator, SimulateUsageError, type SimulateFlags } from '../src/simulate-command.ts';
import { addFaults, buildSimulator, resolveBaseUrl } from '../src/simulator-host.ts';

/**
 * `simbind simulate` (issue 14, issue 11 item 6): its flags become the simulator's limits, faults and
 * synced account, and SIMULATOR_URL_* points `simulator://` credentials at such a process.
 */

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function built(...args: Parameters<typeof buildSimulator>): FastifyInstance {
  const app = buildSimulator(...args);
  apps.push(app);
  return app;
}

const REVIO_AUTH = {
  authorization: `Basic ${Buffer.from('simbind@demo:demo-password').toString('base64')}`,
  'ocp-apim-subscription-key': 'demo-subscription-key',
};

function refused(system: string | undefined, flags: SimulateFlags): string {
  try {
    planSimulator(system, flags);
  } catch (error) {
    expect(error).toBeInstanceOf(SimulateUsageError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('simbind simulate flags', () => {
  it('become the plan: host, port, account size, limits and faults on the API path only', () => {
    expect(
      planSimulator('revio', {
        port: '4010',
        host: '0.0.0.0',
        devices: '100000',
        'limit-per-minute': '6000',
        'fail-rate': '0.05',
        'latency-ms': '20',
      }),
    ).toEqual({
      system: 'revio',
      host: '0.0.0.0',
      port: 4010,
      settings: { devices: 100_000, limitPerMinute: 6000 },
      faults: [
        { path: '/v1', latencyMs: 20 },
        { path: '/v1', status: 500, rate: 0.05 },
      ],
    });
    expect(planSimulator('jasper', { 'limit-per-second': '50', concurrency: '4' })).toEqual({
      system: 'jasper',
      host: '127.0.0.1',
      port: 0,
      settings: { limitPerSecond: 50, concurrency: 4 },
      faults: [],
    });
    expect(planSimulator('thingspace', { 'fail-rate': '1', 'fail-status': '429' }).faults).toEqual([
      { path: '/api', status: 429, rate: 1, retryAfterSeconds: 1 },
    ]);
  });

  it('refuse what does not fit, naming the flag', () => {
    expect(refused('sap', {})).toMatch(/revio, thingspace, jasper/);
    expect(refused(undefined, {})).toMatch(/revio, thingspace, jasper/);
    expect(refused('jasper', { 'limit-per-minute': '60' })).toMatch(/--limit-per-minute applies to revio/);
    expect(refused('revio', { concurrency: '2' })).toMatch(/--concurrency applies to jasper/);
    expect(refused('revio', { devices: '1000001' })).toMatch(/--devices must be an integer from 0/);
    expect(refused('revio', { devices: '12x' })).toMatch(/--devices/);
    expect(refused('revio', { port: '70000' })).toMatch(/--port/);
    expect(refused('revio', { 'fail-rate': '0' })).toMatch(/--fail-rate must be a number above 0/);
    expect(refused('revio', { 'fail-rate': '1.5' })).toMatch(/--fail-rate/);
    expect(refused('revio', { 'fail-rate': '' })).toMatch(/--fail-rate/);
    expect(refused('revio', { 'fail-status': '503' })).toMatch(/--fail-status needs --fail-rate/);
    expect(refused('revio', { 'fail-rate': '0.1', 'fail-status': '200' })).toMatch(/--fail-status/);
    expect(refused('revio', { host: ' ' })).toMatch(/--host/);
  });
});

describe('the simulators they build', () => {
  it('Rev.io: --devices N customers to sync, and its per-minute limit', async () => {
    const app = built('revio', { devices: 250, limitPerMinute: 3 });
    const page = await app.inject({
      method: 'GET',
      url: '/v1/Customers?search.page=1&search.page_size=2',
      headers: REVIO_AUTH,
    });
    expect(page.statusCode).toBe(200);
    const body = page.json<{ record_count: number; records: { customer_id: number }[] }>();
    expect(body.record_count).toBe(250);
    expect(body.records.map((r) => r.customer_id)).toEqual([
      FIRST_SIMULATED_CUSTOMER_ID,
      FIRST_SIMULATED_CUSTOMER_ID + 1,
    ]);
    const more = [];
    for (let i = 0; i < 3; i += 1) {
      more.push(
        (await app.inject({ method: 'GET', url: '/v1/ServiceTypes', headers: REVIO_AUTH })).statusCode,
      );
    }
    // The customers page was the first of three allowed in the minute.
    expect(more).toEqual([200, 200, 429]);
  });

  it('ThingSpace and Jasper: --devices N in the demo account, valid ICCIDs, none twice', async () => {
    const thingspace = built('thingspace', { devices: 1200 });
    const ts = (await thingspace.inject({ method: 'GET', url: '/__sim/state' })).json<{
      devices: { iccid: string; accountName: string }[];
    }>();
    expect(ts.devices).toHaveLength(1200);
    expect(new Set(ts.devices.map((d) => d.iccid)).size).toBe(1200);
    expect(ts.devices.every((d) => /^8914808\d{12}$/.test(d.iccid))).toBe(true);

    const jasper = built('jasper', { devices: 300 });
    const js = (await jasper.inject({ method: 'GET', url: '/__sim/state' })).json<{
      devices: { iccid: string; status: string }[];
    }>();
    expect(js.devices).toHaveLength(300);
    expect(js.devices.every((d) => d.status === 'ACTIVATED' && /^8914807\d{12}$/.test(d.iccid))).toBe(true);
    // Without the flag, the demo simulators hold no listed fleet.
    const plain = built('jasper');
    expect(
      (await plain.inject({ method: 'GET', url: '/__sim/state' })).json<{ devices: unknown[] }>().devices,
    ).toEqual([]);
  });

  it('faults from --fail-rate answer the chosen status on the API and leave the control routes alone', async () => {
    const app = built('revio');
    await addFaults(app, planSimulator('revio', { 'fail-rate': '1', 'fail-status': '503' }).faults);
    const api = await app.inject({ method: 'GET', url: '/v1/ServiceTypes', headers: REVIO_AUTH });
    expect(api.statusCode).toBe(503);
    const control = await app.inject({ method: 'GET', url: '/__sim/faults' });
    expect(control.statusCode).toBe(200);
    expect(control.json<{ status: number; rate: number }[]>()).toMatchObject([{ status: 503, rate: 1 }]);
  });
});

describe('SIMULATOR_URL_*', () => {
  it('point simulator:// credentials at a simulator process, ahead of any in this process', () => {
    const config = loadConfig({ SIMULATOR_URL_REVIO: 'http://revio:8080/v1/' });
    expect(config.integrations.simulatorUrls).toEqual({ revio: 'http://revio:8080/v1' });
    const urls = config.integrations.simulatorUrls;
    const inProcess = { baseUrls: { revio: 'http://127.0.0.1:1/v1' }, close: async () => {} };
    expect(resolveBaseUrl('simulator://revio', inProcess, urls)).toBe('http://revio:8080/v1');
    expect(resolveBaseUrl('simulator://revio', inProcess)).toBe('http://127.0.0.1:1/v1');
    expect(resolveBaseUrl('https://api.rev.io/v1', undefined, urls)).toBe('https://api.rev.io/v1');
    expect(() => resolveBaseUrl('simulator://jasper', undefined, urls)).toThrow(/SIMULATOR_URL_JASPER/);
  });

  it('must be http(s) URLs; SHUTDOWN_GRACE_SECONDS defaults to 30 and is bounded', () => {
    expect(loadConfig({}).shutdownGraceSeconds).toBe(30);
    expect(loadConfig({}).integrations.simulatorUrls).toEqual({});
    try {
      loadConfig({
        SIMULATOR_URL_JASPER: 'ftp://jasper',
        SIMULATOR_URL_THINGSPACE: 'nope',
        SHUTDOWN_GRACE_SECONDS: '0',
      });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/SIMULATOR_URL_JASPER: must use http: or https:/);
      expect(problems).toMatch(/SIMULATOR_URL_THINGSPACE: is not a valid URL/);
      expect(problems).toMatch(/SHUTDOWN_GRACE_SECONDS: must be ≥ 1/);
    }
  });
});
