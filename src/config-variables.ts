/**
 * The configuration variables: one table of names, kinds, defaults and descriptions. `config.ts`
 * reads them into a Config; the README's configuration table is generated from the same
 * descriptions (`simbind config`).
 */

export type Kind = 'string' | 'int' | 'bool' | 'url' | 'enum';

export interface VariableSpec {
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
    description:
      'How often an idle worker looks for jobs when not woken: a committed job wakes it at once (LISTEN/NOTIFY on a connection of its own); polling is the fallback while that connection is down.',
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

/** The README's configuration table, so the documentation cannot drift from the schema. */
export function describeVariables(): string {
  const rows = Object.entries(VARIABLES).map(([name, spec]: [string, VariableSpec]) => {
    const fallback = spec.default !== undefined ? `\`${spec.default}\`` : '—';
    return `| \`${name}\` | ${fallback} | ${spec.description} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
