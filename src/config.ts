import { isIP } from 'node:net';
import path from 'node:path';
import { allowEntryProblem } from './clients/outbound-guard.ts';
import { VARIABLES, type VariableName, type VariableSpec } from './config-variables.ts';
import { parseSecretKey } from './services/secret-box.ts';

/**
 * The only reader of `process.env`. One table of variables (config-variables.ts) → a nested, typed,
 * frozen Config. A bad value fails at start with every problem listed at once, not the first one found.
 */

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
