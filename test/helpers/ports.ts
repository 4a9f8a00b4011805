import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Ports below the kernel's ephemeral range: outgoing connections (database pools, HTTP clients)
 * never take one, so a port found free here stays free until its user listens on it. A port the
 * OS picks with `listen(0)` comes from the ephemeral range, and between giving it back and the
 * real listen a busy test run's outgoing connections could take it (CI failed once on exactly that,
 * EADDRINUSE on 127.0.0.1:41353).
 */
const RANGE_TOP = ephemeralStart() - 1;
const RANGE_BOTTOM = RANGE_TOP - 12_000;

function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
    return Number.isInteger(first) && first > 20_000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(false) : reject(error),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A loopback port that was free a moment ago, outside the range outgoing connections draw from. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = RANGE_BOTTOM + Math.floor(Math.random() * (RANGE_TOP - RANGE_BOTTOM + 1));
    if (await tryListen(port)) return port;
  }
  throw new Error(`no free loopback port between ${RANGE_BOTTOM} and ${RANGE_TOP}`);
}
