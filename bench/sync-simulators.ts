import { buildJasperSimulator } from '../simulators/jasper.simulator.ts';
import { buildThingSpaceSimulator } from '../simulators/thingspace.simulator.ts';
import {
  DEMO_SECRETS,
  DEMO_THINGSPACE_ACCOUNT,
  demoPlansOf,
} from '../src/db/repositories/seed.repository.ts';
import { luhnCheckDigit } from '../src/services/identifiers.ts';

/**
 * The sync benchmark's carriers, in a process of their own (as the real ones are: their paging
 * must not share simbind's event loop): a Control Center and a ThingSpace account of N devices
 * each, on loopback. Prints one JSON line with their URLs; ends when its parent closes stdin.
 * Usage: node --import tsx bench/sync-simulators.ts N
 */

const n = Number(process.argv[2]);
const iccids = (prefix: string) =>
  Array.from({ length: n }, (_, i) => {
    const body = `${prefix}${String(i).padStart(18 - prefix.length, '0')}`;
    return `${body}${luhnCheckDigit(body)}`;
  });

const jasper = buildJasperSimulator({
  ...demoPlansOf('jasper'),
  autoCreateDevices: false,
  limits: { requests: 1_000_000, windowMs: 1_000, concurrency: 8 },
  devices: iccids('8914807').map((iccid) => ({ iccid, status: 'ACTIVATED', ratePlan: 'IoT Basic 1MB' })),
});
const thingspace = buildThingSpaceSimulator({
  appKey: DEMO_SECRETS.thingspace.appKey,
  appSecret: DEMO_SECRETS.thingspace.appSecret,
  users: [{ username: 'simbind', password: DEMO_SECRETS.thingspace.password }],
  devices: iccids('8914808').map((iccid) => ({
    accountName: DEMO_THINGSPACE_ACCOUNT,
    iccid,
    servicePlan: 'M2M-1GB-SHR',
  })),
});
const urls = {
  jasper: `${await jasper.listen({ port: 0, host: '127.0.0.1' })}/rws/api/v1`,
  thingspace: `${await thingspace.listen({ port: 0, host: '127.0.0.1' })}/api`,
  firstThingSpaceIccid: iccids('8914808')[0],
};
process.stdout.write(`${JSON.stringify(urls)}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void Promise.all([jasper.close(), thingspace.close()]).then(() => process.exit(0));
});
