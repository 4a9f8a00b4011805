import { FLEET_PREFIX, simulatedIccids } from '../simulators/fleet.ts';
import { buildSimulator, simulatorBaseUrl } from '../src/simulator-host.ts';

/**
 * The sync benchmark's carriers, in a process of their own (as the real ones are: their paging
 * must not share simbind's event loop): a Control Center and a ThingSpace account of N devices
 * each, on loopback, as `simbind simulate jasper|thingspace --devices N` builds them. Prints one
 * JSON line with their URLs; ends when its parent closes stdin.
 * Usage: node --import tsx bench/sync-simulators.ts N
 */

const n = Number(process.argv[2]);
// Limits far above what a run asks: the figure is simbind's own cost.
const jasper = buildSimulator('jasper', { devices: n, limitPerSecond: 1_000_000, concurrency: 8 });
const thingspace = buildSimulator('thingspace', { devices: n });
const listen = { port: 0, host: '127.0.0.1' };
const urls = {
  jasper: simulatorBaseUrl('jasper', await jasper.listen(listen)),
  thingspace: simulatorBaseUrl('thingspace', await thingspace.listen(listen)),
  firstThingSpaceIccid: simulatedIccids(FLEET_PREFIX.thingspace, 1)[0],
};
process.stdout.write(`${JSON.stringify(urls)}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void Promise.all([jasper.close(), thingspace.close()]).then(() => process.exit(0));
});
