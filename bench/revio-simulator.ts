import { buildRevioSimulator } from '../simulators/revio.simulator.ts';

/**
 * The Rev.io benchmark's Rev.io, in a process of its own (as the real one is: its bookkeeping must
 * not share an event loop with the workers or the bench): the demo accounts, on loopback, limited to
 * REQUESTS per WINDOW_MS per account, as Rev.io's gateway counts them (a rolling window, 429 past it).
 * Prints one JSON line with its base URL; ends when its parent closes stdin.
 * Usage: node --import tsx bench/revio-simulator.ts REQUESTS WINDOW_MS
 */

const [requestsPerWindow, windowMs] = process.argv.slice(2, 4).map(Number);
const app = buildRevioSimulator({
  rateLimit: { requestsPerWindow: requestsPerWindow!, windowMs: windowMs! },
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ root: address, baseUrl: `${address}/v1` })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void app.close().then(() => process.exit(0));
});
