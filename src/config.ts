import { isIP } from 'node:net';
import path from 'node:path';
import { allowEntryProblem } from './clients/outbound-guard.ts';
import { parseSecretKey } from './services/secret-box.ts';

/**
 * The only reader of `process.env`. One table of variables → a nested, typed, frozen Config.
 * A bad value fails at start with every problem listed at once, not the first one found.
 * The README's configuration table is generated from the same descriptions (`simbind config`).
 */

type Kind = 'string' | 'int' | 'bool' | 'url' | 'enum';

interface VariableSpec {
  kind: Kind;
  default?: string;
  values?: readonly string[];
  min?: number;
  max?: number;
  description: string;
  secret?: boolean;
}

export const VARIABLES = {
  PORT: { kind: 'int', default: '3000', min: 0, max: 65535, description: 'HTTP port of the API and UI.' },
  HOST: {
    kind: 'string',
    default: 'localhost',
    description: 'Interface to listen on (`0.0.0.0` in containers).',
  },
  LOG_LEVEL: {
    kind: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    description: 'Log level (pino).',
  },
  DATABASE_URL: {
    kind: 'url',
    description:
      'PostgreSQL ≥ 15 server to use. When unset, an embedded PostgreSQL is started in `DATA_DIR`.',
    secret: true,
  },
  DATABASE_POOL_SIZE: {
    kind: 'int',
    default: '10',
    min: 2,
    max: 200,
    description: 'Connections per process.',
  },
  DATA_DIR: {
    kind: 'string',
    default: '.data',
    description: 'Where the embedded PostgreSQL keeps its files.',
  },
  EMBEDDED_PG_PORT: {
    kind: 'int',
    default: '54329',
    min: 1024,
    max: 65535,
    description: 'Loopback port of the embedded PostgreSQL.',
  },
  SEED_ON_START: {
    kind: 'bool',
    default: 'true',
    description: '`serve` loads the demo data when the database has no tenant yet.',
  },
  SEED_DEVICES: {
    kind: 'int',
    default: '10000',
    min: 0,
    max: 1_000_000,
    description: 'Demo fleet size for that seed.',
  },
  SESSION_SECRET: {
    kind: 'string',
    description:
      'Signs session cookies (≥ 32 chars). When unset, a random one is generated once and kept in the database.',
    secret: true,
  },
  SECRETS_KEY: {
    kind: 'string',
    description:
      'Seals integration secrets at rest (AES-256-GCM): 32 random bytes, base64 or hex (`npx simbind secrets keygen`). Required with `DATABASE_URL`; with the embedded database, one is generated once into `DATA_DIR/secrets.key`. Keep it out of the database and its backups.',
    secret: true,
  },
  SECRETS_KEY_PREVIOUS: {
    kind: 'string',
    description:
      'Older keys (comma-separated) that still open what they sealed, while `npx simbind secrets rekey` seals everything again with `SECRETS_KEY`.',
    secret: true,
  },
  SESSION_TTL_HOURS: { kind: 'int', default: '12', min: 1, max: 720, description: 'Session lifetime.' },
  API_TOKEN_DAYS: {
    kind: 'int',
    default: '90',
    min: 0,
    max: 3650,
    description:
      'Lifetime of an API token created without `expiresInDays` (API) and of every token made by `simbind token create`. `0`: such tokens never expire.',
  },
  METRICS_TOKEN: {
    kind: 'string',
    description:
      '`/metrics` then needs `Authorization: Bearer <METRICS_TOKEN>` (≥ 16 chars). When unset, `/metrics` answers only while `HOST` is loopback (`localhost`, `127.0.0.1`, `::1`), `TRUST_PROXY` is `false` and the request carries no `X-Forwarded-For`/`Forwarded`; otherwise it is a 404.',
    secret: true,
  },
  METRICS_PORT: {
    kind: 'int',
    default: '0',
    min: 0,
    max: 65535,
    description:
      '`simbind worker` serves `/metrics` (and `/healthz`, `/readyz`) on this port of `HOST`, with the `METRICS_TOKEN` rule; `0`: off. API processes serve them on `PORT`.',
  },
  WORKER_CONCURRENCY: {
    kind: 'int',
    default: '2',
    min: 1,
    max: 64,
    description: 'Chunks a worker process handles at once.',
  },
  WORKER_POLL_SECONDS: {
    kind: 'int',
    default: '1',
    min: 1,
    max: 60,
    description: 'How often an idle worker looks for jobs.',
  },
  CHUNK_SIZE: { kind: 'int', default: '500', min: 1, max: 10_000, description: 'Work orders per queue job.' },
  MAX_ATTEMPTS: {
    kind: 'int',
    default: '5',
    min: 1,
    max: 50,
    description: 'Attempts of a transient external failure before it is an error.',
  },
  CARRIER_CONFIRM_MINUTES: {
    kind: 'int',
    default: '1440',
    min: 1,
    max: 43_200,
    description:
      'How long a device waits for a carrier to confirm an asynchronous plan change (ThingSpace) before it ends in error.',
  },
  HTTP_TIMEOUT_MS: {
    kind: 'int',
    default: '15000',
    min: 100,
    max: 300_000,
    description: 'Timeout of one call to Rev.io, a carrier or a webhook.',
  },
  CATALOGUE_TTL_MINUTES: {
    kind: 'int',
    default: '60',
    min: 1,
    max: 10_080,
    description:
      'How old a cached Rev.io catalogue (service types, products, packages, providers, usage plan groups) may be before reading it reads the account again. Administrators refresh it at any time.',
  },
  WEBHOOK_ALLOW_ADDRESSES: {
    kind: 'string',
    description:
      'Webhooks refuse any URL whose host is or resolves to a non-public address (checked on every redirect and connection) except these, comma-separated: `loopback`, `private` (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), `link-local`, `metadata`, `unspecified`, `multicast`, `reserved`, or addresses/CIDRs.',
  },
  SIMULATOR_URL_REVIO: {
    kind: 'url',
    description:
      'Where credentials with base URL `simulator://revio` (the demo data) point, e.g. a `simbind simulate revio` process: `http://revio:8080/v1`. Set in every process of a multi-process demo; `serve` then starts no Rev.io simulator of its own.',
  },
  SIMULATOR_URL_THINGSPACE: {
    kind: 'url',
    description: 'The same for `simulator://thingspace`, e.g. `http://thingspace:8080/api`.',
  },
  SIMULATOR_URL_JASPER: {
    kind: 'url',
    description: 'The same for `simulator://jasper`, e.g. `http://jasper:8080/rws/api/v1`.',
  },
  SHUTDOWN_GRACE_SECONDS: {
    kind: 'int',
    default: '30',
    min: 1,
    max: 3600,
    description:
      'On SIGTERM/SIGINT a process stops taking work and gets this long to finish: a worker completes the group of devices in hand and hands the rest of its chunks back to the queue, then exits 0. Past it, the process exits 1 (its chunks are resumed by other workers anyway).',
  },
  WORKER_NAME: {
    kind: 'string',
    description:
      "Names a worker in the change log (`processedBy`) and in PostgreSQL's `application_name`. Default `simbind-worker@<hostname>:<pid>`.",
  },
  SIMULATORS: {
    kind: 'enum',
    default: 'auto',
    values: ['auto', 'on', 'off'],
    description:
      '`auto`: start the built-in Rev.io/ThingSpace/Jasper simulators when some credentials point at `simulator://`.',
  },
  PUBLIC_URL: {
    kind: 'url',
    description:
      'Base URL others reach simbind at (links in notifications, carrier callbacks). Default: http://HOST:PORT.',
  },
  TRUST_PROXY: {
    kind: 'string',
    default: 'false',
    description:
      "Behind a reverse proxy or TLS terminator: whose `X-Forwarded-For/-Proto/-Host` to believe, so sign-in limits count each client's own address and the session cookie is `Secure` over https. `false`; the proxies' addresses/CIDRs, comma-separated (`loopback`, `linklocal`, `uniquelocal` too); or `true` (any peer: only when nothing but the proxy can reach simbind).",
  },
  SMTP_URL: {
    kind: 'url',
    description:
      'SMTP server for completion e-mails, e.g. `smtp://user:pass@host:587`. No e-mail when unset.',
    secret: true,
  },
  MAIL_FROM: { kind: 'string', default: 'simbind <simbind@localhost>', description: 'Sender of e-mails.' },
} as const satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof VARIABLES;

export interface Config {
  http: { port: number; host: string; publicUrl: string | undefined; trustProxy: TrustProxy };
  logLevel: string;
  database: {
    url: string | undefined;
    poolSize: number;
    embedded: { dataDir: string; port: number };
  };
  seed: { onStart: boolean; devices: number };
  auth: { sessionSecret: string | undefined; sessionTtlHours: number; apiTokenDays: number };
  /** Keys for integration secrets at rest (see secret-box.ts), as configured (base64 or hex). */
  secrets: { key: string | undefined; previous: string[] };
  /** `port`: a worker's metrics port (METRICS_PORT), absent when off. */
  metrics: { token: string | undefined; port: number | undefined };
  /** Seconds a stopping process gets to drain (SHUTDOWN_GRACE_SECONDS). */
  shutdownGraceSeconds: number;
  worker: {
    /** WORKER_NAME, when set. */
    name: string | undefined;
    concurrency: number;
    pollSeconds: number;
    chunkSize: number;
    maxAttempts: number;
    carrierConfirmMinutes: number;
  };
  integrations: {
    httpTimeoutMs: number;
    simulators: 'auto' | 'on' | 'off';
    /** SIMULATOR_URL_*: where `simulator://<system>` credentials point instead of built-in simulators. */
    simulatorUrls: Partial<Record<'revio' | 'thingspace' | 'jasper', string>>;
    /** CATALOGUE_TTL_MINUTES. */
    catalogueTtlMinutes: number;
  };
  /** Non-public address categories and CIDRs webhook endpoints may reach (see outbound-guard.ts). */
  webhooks: { allowAddresses: string[] };
  mail: { smtpUrl: string | undefined; from: string };
}

/**
 * Fastify's `trustProxy`: false, true (trust every peer), or the addresses/CIDRs of trusted proxies.
 * No hop count: Fastify 5 trusts nothing with one (it cannot tell the proxy from a direct client).
 */
export type TrustProxy = boolean | string[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(
  env: Env = process.env,
  overrides: Partial<Record<VariableName, string>> = {},
): Config {
  const problems: string[] = [];
  const raw = (name: VariableName): string | undefined => {
    const value = overrides[name] ?? env[name];
    return value === undefined || value === '' ? (VARIABLES[name] as VariableSpec).default : value;
  };

  const read = <T>(
    name: VariableName,
    parse: (value: string, spec: VariableSpec) => T | string,
  ): T | undefined => {
    const value = raw(name);
    if (value === undefined) return undefined;
    const spec: VariableSpec = VARIABLES[name];
    const parsed = parse(value, spec);
    if (typeof parsed === 'string' && spec.kind !== 'string' && spec.kind !== 'enum' && spec.kind !== 'url') {
      problems.push(`${name}: ${parsed}`);
      return undefined;
    }
    return parsed as T;
  };

  const int = (name: VariableName): number =>
    read(name, (value, spec) => {
      const n = Number(value);
      if (!Number.isInteger(n)) return `must be an integer, got "${value}"`;
      if (spec.min !== undefined && n < spec.min) return `must be ≥ ${spec.min}, got ${n}`;
      if (spec.max !== undefined && n > spec.max) return `must be ≤ ${spec.max}, got ${n}`;
      return n;
    }) ?? 0;

  const bool = (name: VariableName): boolean =>
    read(name, (value) => {
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      return `must be true or false, got "${value}"`;
    }) ?? false;

  const str = (name: VariableName): string | undefined => raw(name);

  const oneOf = <T extends string>(name: VariableName): T => {
    const value = raw(name) ?? '';
    const values = (VARIABLES[name] as VariableSpec).values ?? [];
    if (!values.includes(value))
      problems.push(`${name}: must be one of ${values.join(', ')}, got "${value}"`);
    return value as T;
  };

  const url = (name: VariableName, protocols: string[]): string | undefined => {
    const value = raw(name);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name}: must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
      }
    } catch {
      // The value may hold a password: never echo it.
      problems.push(`${name}: is not a valid URL`);
    }
    return value;
  };

  const trustProxy = (): TrustProxy => {
    const parsed = parseTrustProxy(raw('TRUST_PROXY') ?? 'false');
    if (typeof parsed !== 'string') return parsed;
    problems.push(`TRUST_PROXY: ${parsed}`);
    return false;
  };

  const webhookAllow = (str('WEBHOOK_ALLOW_ADDRESSES') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of webhookAllow) {
    const problem = allowEntryProblem(entry);
    if (problem !== undefined) problems.push(`WEBHOOK_ALLOW_ADDRESSES: ${problem}`);
  }

  const simulatorUrls = () => {
    const urls: Config['integrations']['simulatorUrls'] = {};
    for (const system of ['revio', 'thingspace', 'jasper'] as const) {
      const value = url(`SIMULATOR_URL_${system.toUpperCase()}` as VariableName, ['http:', 'https:']);
      if (value !== undefined) urls[system] = value.replace(/\/+$/, '');
    }
    return urls;
  };

  const metricsToken = str('METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    problems.push('METRICS_TOKEN: must be at least 16 characters');
  }

  const sessionSecret = str('SESSION_SECRET');
  if (sessionSecret !== undefined && sessionSecret.length < 32) {
    problems.push('SESSION_SECRET: must be at least 32 characters');
  }

  const secretsKey = str('SECRETS_KEY');
  const previousKeys = (str('SECRETS_KEY_PREVIOUS') ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  for (const [name, key] of [
    ...(secretsKey !== undefined ? [['SECRETS_KEY', secretsKey] as const] : []),
    ...previousKeys.map((k) => ['SECRETS_KEY_PREVIOUS', k] as const),
  ]) {
    try {
      parseSecretKey(key, name);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }

  const config: Config = {
    http: {
      port: int('PORT'),
      host: str('HOST') ?? 'localhost',
      publicUrl: url('PUBLIC_URL', ['http:', 'https:']),
      trustProxy: trustProxy(),
    },
    logLevel: oneOf('LOG_LEVEL'),
    database: {
      url: url('DATABASE_URL', ['postgres:', 'postgresql:']),
      poolSize: int('DATABASE_POOL_SIZE'),
      embedded: { dataDir: path.resolve(str('DATA_DIR') ?? '.data'), port: int('EMBEDDED_PG_PORT') },
    },
    seed: { onStart: bool('SEED_ON_START'), devices: int('SEED_DEVICES') },
    auth: { sessionSecret, sessionTtlHours: int('SESSION_TTL_HOURS'), apiTokenDays: int('API_TOKEN_DAYS') },
    secrets: { key: secretsKey, previous: previousKeys },
    metrics: { token: metricsToken, port: int('METRICS_PORT') || undefined },
    shutdownGraceSeconds: int('SHUTDOWN_GRACE_SECONDS'),
    worker: {
      name: str('WORKER_NAME'),
      concurrency: int('WORKER_CONCURRENCY'),
      pollSeconds: int('WORKER_POLL_SECONDS'),
      chunkSize: int('CHUNK_SIZE'),
      maxAttempts: int('MAX_ATTEMPTS'),
      carrierConfirmMinutes: int('CARRIER_CONFIRM_MINUTES'),
    },
    integrations: {
      httpTimeoutMs: int('HTTP_TIMEOUT_MS'),
      simulators: oneOf('SIMULATORS'),
      simulatorUrls: simulatorUrls(),
      catalogueTtlMinutes: int('CATALOGUE_TTL_MINUTES'),
    },
    webhooks: { allowAddresses: webhookAllow },
    mail: { smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']), from: str('MAIL_FROM') ?? '' },
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** proxy-addr's names for address ranges, accepted by Fastify's `trustProxy` like a CIDR. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/** The TRUST_PROXY value, or a problem. Checked here so a typo fails at start, not on a request. */
function parseTrustProxy(value: string): TrustProxy | string {
  const trimmed = value.trim().toLowerCase();
  if (/^(false|off|no|0)$/.test(trimmed)) return false;
  if (/^(true|on|yes)$/.test(trimmed)) return true;
  if (/^\d+$/.test(trimmed)) {
    return "a hop count is not supported (Fastify would trust no one): list the proxies' addresses or CIDRs";
  }
  const entries = value.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (PROXY_RANGES.includes(entry)) continue;
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || rest.length > 0) {
      return `"${entry}" is not true/false, an IP address, a CIDR or ${PROXY_RANGES.join('/')}`;
    }
  }
  return entries;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The README's configuration table, so the documentation cannot drift from the schema. */
export function describeVariables(): string {
  const rows = Object.entries(VARIABLES).map(([name, spec]: [string, VariableSpec]) => {
    const fallback = spec.default !== undefined ? `\`${spec.default}\`` : '—';
    return `| \`${name}\` | ${fallback} | ${spec.description} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
