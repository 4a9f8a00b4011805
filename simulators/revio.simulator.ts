import Fastify, { type FastifyInstance } from 'fastify';
import { registerSimControl } from './sim-control.ts';
import { Gatekeeper, type RevioSimAccount } from './revio/gatekeeper.ts';
import { registerRevioRoutes, type RevioCatalogue } from './revio/routes.ts';
import {
  RevioStore,
  type RevioSimCustomer,
  type RevioSimService,
  type RevioSimServiceProduct,
  type SeedCustomer,
  type SeedService,
} from './revio/store.ts';
import { BadRequest, errorBody, sendError } from './revio/wire.ts';

/**
 * A Rev.io REST v1 stand-in: serve it and point credentials at `http://127.0.0.1:<port>/v1`.
 *
 * Scenarios chosen by data, so a test (or an operator on the demo) picks them without a control call:
 *   customer_id 999500   every create (service or service product) for it answers 500
 *   customer_id 999400   every create answers 400 "Customer 999400 is closed: services cannot be added."
 *   customer_id 999404   unknown customer even with `autoCreateCustomers` (create → 400, GET → 404)
 *   customer_id 999502   every create answers 502 with a plain-text (non-JSON) body, like a proxy
 *   number …0429         that number's first POST /Services answers 429 with `Retry-After: 1`; the
 *                        next one succeeds (remembered until reset)
 *
 * The catalogue (`GET /ServiceTypes`, `/Products`, `/Providers`, `/Packages`, `/UsagePlanGroups`) is
 * `DEFAULT_REVIO_CATALOGUE` unless the options replace a list.
 *
 * Besides the shared control API (`/__sim/requests`, `/__sim/reset`, `/__sim/faults`):
 *   GET  /__sim/state       `{ customers, services, serviceProducts, disconnects }` as stored, to count
 *                           what was created and how many disconnect requests each line received
 *   POST /__sim/customers   add customers (`{ customer_id, name?, account_number? }` or an array)
 * Reset puts everything back as built: seeded customers and services only, limits and counters zero.
 */

export interface RevioSimulatorOptions {
  /** Accepted credentials; default one demo account (see `DEMO_REVIO_ACCOUNT`). */
  accounts?: RevioSimAccount[];
  /** Customers that exist from the start. */
  customers?: SeedCustomer[];
  /** Treat any positive integer customer id as an existing customer; default true. */
  autoCreateCustomers?: boolean;
  /** Service lines that exist from the start (e.g. to exercise paging without 1,000 creates). */
  services?: SeedService[];
  /** Per account (`username@clientCode`), rolling; default Rev.io's 500 per 60 s. */
  rateLimit?: { requestsPerWindow: number; windowMs: number };
  /** Requests per account per UTC day before 403; default Rev.io's 150,000. */
  dailyQuota?: number;
  catalogue?: Partial<RevioCatalogue>;
}

export type {
  RevioSimAccount,
  RevioSimCustomer,
  RevioSimService,
  RevioSimServiceProduct,
  SeedCustomer,
  SeedService,
};

export const DEMO_REVIO_ACCOUNT: RevioSimAccount = {
  username: 'simbind',
  clientCode: 'demo',
  password: 'demo-password',
  subscriptionKey: 'demo-subscription-key',
};

/**
 * A small catalogue of an IoT reseller's Rev.io. It holds the ids the demo and the tests submit
 * (service type 3, products 11 and 12, packages 5 and 77, provider 1), so a cached catalogue accepts
 * them; product 99 is not in it. Lists are paged like every Rev.io list (default page size 10).
 */
export const DEFAULT_REVIO_CATALOGUE: RevioCatalogue = {
  serviceTypes: [
    { service_type_id: 1, description: 'Wireless Data', active: true },
    { service_type_id: 2, description: 'IoT Connectivity', active: true },
    { service_type_id: 3, description: 'M2M Data Line', active: true },
    { service_type_id: 4, description: 'Legacy 3G Data', active: false },
  ],
  products: [
    { product_id: 11, description: 'M2M line access', rate: 4.5, active: true },
    { product_id: 12, description: 'Static IP add-on', rate: 1.25, active: true },
    { product_id: 13, description: 'SMS bundle 100', rate: 0.75, active: true },
    { product_id: 101, description: 'IoT 1 GB pooled plan', rate: 5, active: true },
    { product_id: 102, description: 'IoT 5 GB pooled plan', rate: 12.5, active: true },
    { product_id: 103, description: 'Activation fee', rate: 10, active: true },
    { product_id: 104, description: '2G sunset surcharge', rate: 2, active: false },
  ],
  providers: [
    { provider_id: 1, name: 'Verizon Wireless', active: true },
    { provider_id: 2, name: 'AT&T Control Center', active: true },
  ],
  packages: [
    { package_id: 5, description: 'Tracker starter pack', active: true },
    { package_id: 77, description: 'Fleet telematics bundle', active: true },
  ],
  usagePlanGroups: [
    { usage_plan_group_id: 1, description: 'Pooled data (US)', active: true },
    { usage_plan_group_id: 2, description: 'Per-line data', active: true },
  ],
};

export interface RevioSimState {
  customers: RevioSimCustomer[];
  services: RevioSimService[];
  serviceProducts: RevioSimServiceProduct[];
  /** Disconnect requests received per service id / service product id (repeats included). */
  disconnects: { services: Record<string, number>; serviceProducts: Record<string, number> };
}

const stores = new WeakMap<FastifyInstance, RevioStore>();

/** The live records of a simulator built here, for in-process tests (read-only by convention). */
export function revioSimState(app: FastifyInstance): RevioSimState {
  const store = stores.get(app);
  if (!store) throw new Error('not a Rev.io simulator');
  return {
    customers: store.listCustomers(),
    services: store.services,
    serviceProducts: store.serviceProducts,
    disconnects: {
      services: Object.fromEntries(store.disconnects.services),
      serviceProducts: Object.fromEntries(store.disconnects.serviceProducts),
    },
  };
}

export function buildRevioSimulator(options: RevioSimulatorOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false });
  const store = new RevioStore(
    { customers: options.customers ?? [], services: options.services ?? [] },
    options.autoCreateCustomers ?? true,
  );
  const gatekeeper = new Gatekeeper(options.accounts ?? [DEMO_REVIO_ACCOUNT], {
    requestsPerWindow: options.rateLimit?.requestsPerWindow ?? 500,
    windowMs: options.rateLimit?.windowMs ?? 60_000,
    dailyQuota: options.dailyQuota ?? 150_000,
  });
  stores.set(app, store);
  app.addContentTypeParser('application/json-patch+json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string) as unknown);
    } catch {
      done(new BadRequest('The body is not valid JSON.'), undefined);
    }
  });

  // Registered first so every request is recorded and faults apply even to refused credentials.
  registerSimControl(app, {
    errorBody: (status) => errorBody(status),
    onReset: () => {
      store.reset();
      gatekeeper.reset();
    },
  });

  app.addHook('preHandler', async (request, reply) => {
    if (request.url.startsWith('/__sim/')) return undefined;
    return gatekeeper.check(request, reply);
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof BadRequest) return sendError(reply, 400, error.message);
    // Fastify's own 4xx (unparseable JSON, unsupported media type) keep their status.
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendError(reply, status, (error as Error).message);
    }
    return sendError(reply, 500, 'An unexpected error occurred.');
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, `No resource matches ${request.method} ${request.url.split('?')[0]}.`),
  );

  app.get('/__sim/state', (): RevioSimState => revioSimState(app));

  app.post('/__sim/customers', async (request, reply) => {
    const body = request.body as SeedCustomer | SeedCustomer[];
    const seeds = Array.isArray(body) ? body : [body];
    if (seeds.some((s) => !Number.isSafeInteger(s?.customer_id) || s.customer_id <= 0)) {
      return sendError(reply, 400, 'each customer needs a positive integer customer_id');
    }
    return { ok: true, customers: seeds.map((seed) => store.addCustomer(seed)) };
  });

  registerRevioRoutes(app, store, { ...DEFAULT_REVIO_CATALOGUE, ...options.catalogue });
  return app;
}
