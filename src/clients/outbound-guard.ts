import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { PermanentError, RetryableError } from '../errors.ts';

/**
 * Where calls to URLs a tenant chose (webhook endpoints) may go. Without this, an endpoint URL turns
 * simbind into a proxy into its own network (SSRF): `http://169.254.169.254/` hands out the cloud
 * role's credentials, `http://10.0.0.5:5432/` probes the database. A URL is refused when its host
 * is, or resolves to, any address outside the public internet, unless the configuration allows
 * that category of address or a CIDR holding it. Every address a name resolves to must pass, not
 * just the first: which one the connection uses is not ours to pick.
 *
 * DNS rebinding: a name can resolve to a public address when checked and to 127.0.0.1 a moment
 * later when connected. `lookup` closes that window: it is the `net.connect` lookup of the client's
 * connection pool, so the addresses a socket connects to are the ones just checked, on every
 * connect. `check` before the request still matters: it refuses schemes, credentials and literal
 * addresses (which `net.connect` never looks up) with a clear error and without any connection.
 */

export const ADDRESS_CATEGORIES = [
  'loopback',
  'private',
  'link-local',
  'metadata',
  'unspecified',
  'multicast',
  'reserved',
  'public',
] as const;
export type AddressCategory = (typeof ADDRESS_CATEGORIES)[number];

/** First match wins: metadata services sit inside link-local and private ranges. */
const RANGES: [Exclude<AddressCategory, 'public'>, ...string[]][] = [
  // AWS/GCP/Azure/OpenStack, AWS ECS task credentials, Oracle Cloud, Alibaba Cloud, AWS over IPv6.
  [
    'metadata',
    '169.254.169.254/32',
    '169.254.170.2/32',
    '192.0.0.192/32',
    '100.100.100.200/32',
    'fd00:ec2::254/128',
  ],
  // 0.0.0.0 reaches the local host on Linux.
  ['unspecified', '0.0.0.0/8', '::/128'],
  ['loopback', '127.0.0.0/8', '::1/128'],
  // 100.64/10 is carrier-grade NAT, a provider's internal network; fec0::/10 the deprecated site-local.
  ['private', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fec0::/10'],
  ['link-local', '169.254.0.0/16', 'fe80::/10'],
  ['multicast', '224.0.0.0/4', 'ff00::/8'],
  // Future use and broadcast, protocol assignments, benchmarking, documentation, discard, local NAT64.
  ['reserved', '240.0.0.0/4', '192.0.0.0/24', '198.18.0.0/15', '192.0.2.0/24', '198.51.100.0/24'],
  ['reserved', '203.0.113.0/24', '2001:db8::/32', '100::/64', '64:ff9b:1::/48'],
];

const CATEGORY_LISTS: [AddressCategory, BlockList][] = RANGES.map(([category, ...cidrs]) => {
  const list = new BlockList();
  for (const cidr of cidrs) addCidr(list, cidr);
  return [category, list];
});

/** Which kind of address `ip` is. IPv6 forms that carry an IPv4 address are judged by that address. */
export function classifyAddress(ip: string): AddressCategory {
  const address = stripZone(ip);
  const family = isIP(address);
  if (family === 0) throw new Error(`not an IP address: "${ip}"`);
  if (family === 6) {
    const embedded = embeddedIpv4(address);
    if (embedded !== undefined) return classifyAddress(embedded);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [category, list] of CATEGORY_LISTS) if (list.check(address, type)) return category;
  return 'public';
}

/**
 * The IPv4 address inside an IPv4-mapped (`::ffff:10.0.0.1`), IPv4-compatible (`::10.0.0.1`), NAT64
 * (`64:ff9b::a00:1`) or 6to4 (`2002:a00:1::`) address: each of them reaches that IPv4 host.
 */
function embeddedIpv4(ipv6: string): string | undefined {
  const g = ipv6Groups(ipv6);
  const quad = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return quad(g[6]!, g[7]!);
  // Not `::` and `::1`, which are IPv6's own unspecified and loopback addresses.
  if (zeros(0, 6) && (g[6] !== 0 || g[7]! > 1)) return quad(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return quad(g[6]!, g[7]!);
  if (g[0] === 0x2002) return quad(g[1]!, g[2]!);
  return undefined;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted quad folded in). */
function ipv6Groups(ipv6: string): number[] {
  const text = ipv6.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_all, a: string, b: string, c: string, d: string) =>
      [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((n) => n.toString(16)).join(':'),
  );
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((x) => parseInt(x, 16)));
  if (tail === undefined) return parse(head);
  const [front, back] = [parse(head), parse(tail)];
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

function stripZone(ip: string): string {
  const zone = ip.indexOf('%');
  return zone === -1 ? ip : ip.slice(0, zone);
}

function addCidr(list: BlockList, cidr: string): void {
  const [network = '', bits] = cidr.split('/');
  const family = isIP(network);
  list.addSubnet(
    network,
    bits === undefined ? (family === 4 ? 32 : 128) : Number(bits),
    family === 4 ? 'ipv4' : 'ipv6',
  );
}

/** Why `entry` is not a category name, an IP address or a CIDR; `undefined` when it is one. */
export function allowEntryProblem(entry: string): string | undefined {
  if ((ADDRESS_CATEGORIES as readonly string[]).includes(entry)) return undefined;
  const [network = '', bits, ...rest] = entry.split('/');
  const family = isIP(network);
  const max = family === 4 ? 32 : 128;
  if (
    family !== 0 &&
    rest.length === 0 &&
    (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max))
  ) {
    return undefined;
  }
  return `"${entry}" is not one of ${ADDRESS_CATEGORIES.join(', ')}, an IP address or a CIDR`;
}

export type Resolve = (host: string) => Promise<string[]>;

const systemResolve: Resolve = async (host) =>
  (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface OutboundGuardOptions {
  /** Categories (`loopback`, `private`…), CIDRs and addresses reachable besides the public internet. */
  allow: Iterable<string>;
  /** Host name → addresses; default `dns.lookup` (hosts file included, like the connection's own lookup). */
  resolve?: Resolve;
  /** Names the caller in errors: `webhook`. */
  system?: string;
}

export interface OutboundGuard {
  /**
   * Resolves when `url` may be called; throws `PermanentError` for a scheme other than http(s),
   * credentials in the URL, or a host that is or resolves to an address not allowed, and
   * `RetryableError` when the name does not resolve (DNS may answer later).
   */
  check(url: string | URL): Promise<void>;
  /** For the connection pool (`connect: { lookup }`): resolves like `check`, refuses the same addresses. */
  lookup: LookupFunction;
}

export function createOutboundGuard(options: OutboundGuardOptions): OutboundGuard {
  const system = options.system ?? 'outbound';
  const permanent = (message: string) => new PermanentError(`${system}: ${message}`, { system });
  const resolve = options.resolve ?? systemResolve;
  const categories = new Set<string>();
  const cidrs = new BlockList();
  for (const entry of options.allow) {
    const problem = allowEntryProblem(entry);
    if (problem !== undefined) throw new Error(`${system}: allowed addresses: ${problem}`);
    if ((ADDRESS_CATEGORIES as readonly string[]).includes(entry)) categories.add(entry);
    else addCidr(cidrs, entry);
  }

  const refused = (host: string, address: string): PermanentError | undefined => {
    const category = classifyAddress(address);
    const plain = stripZone(address);
    if (category === 'public' || categories.has(category)) return undefined;
    if (cidrs.check(plain, isIP(plain) === 4 ? 'ipv4' : 'ipv6')) return undefined;
    const where = host === address ? '' : ` resolves to ${address}, which`;
    return permanent(`${host}${where} is a ${category} address, not an allowed destination`);
  };

  /** The addresses `host` stands for, each one allowed. */
  const addressesOf = async (host: string): Promise<string[]> => {
    if (isIP(stripZone(host)) !== 0) {
      const error = refused(host, host);
      if (error) throw error;
      return [host];
    }
    let addresses: string[];
    try {
      addresses = await resolve(host);
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? (cause as Error).message;
      throw new RetryableError(`${system}: cannot resolve ${host} (${code})`, { system, cause });
    }
    if (addresses.length === 0) throw new RetryableError(`${system}: ${host} has no address`, { system });
    for (const address of addresses) {
      const error = refused(host, address);
      if (error) throw error;
    }
    return addresses;
  };

  return {
    async check(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw permanent('not a valid URL');
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw permanent(`only http and https URLs are called, not ${parsed.protocol}`);
      }
      if (parsed.username !== '' || parsed.password !== '') {
        throw permanent(`URLs with credentials are refused (${parsed.hostname})`);
      }
      // WHATWG URL has already turned `0x7f.1` and `2130706433` into 127.0.0.1; IPv6 keeps its brackets.
      await addressesOf(parsed.hostname.replace(/^\[(.*)\]$/, '$1'));
    },

    lookup(hostname: string, lookupOptions: LookupOptions, callback: Parameters<LookupFunction>[2]) {
      const family = familyOf(lookupOptions.family);
      addressesOf(hostname).then(
        (addresses) => {
          const found: LookupAddress[] = addresses
            .map((address) => ({ address, family: isIP(address) }))
            .filter((a) => family === 0 || a.family === family);
          const first = found[0];
          if (lookupOptions.all === true) callback(null, found);
          else if (first) callback(null, first.address, first.family);
          else
            callback(
              Object.assign(new Error(`${hostname}: no IPv${family} address`), { code: 'ENOTFOUND' }),
              [],
            );
        },
        (error: Error) => callback(error, []),
      );
    },
  };
}

function familyOf(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}
