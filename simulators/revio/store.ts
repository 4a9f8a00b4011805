/**
 * The simulator's in-memory Rev.io: customers, service lines and service products, in snake_case
 * exactly as they travel on the wire, so routes can answer with the records themselves.
 */

export interface RevioSimCustomer {
  customer_id: number;
  account_number: string;
  name: string;
  status: 'ACTIVE' | 'CLOSED';
}

export interface RevioSimService {
  service_id: number;
  customer_id: number;
  number: string;
  number2: string | null;
  service_type_id: number | null;
  provider_id: number | null;
  /** Rev.io answers dates as `yyyy-MM-ddT00:00:00` (inferred); clients must not depend on the time part. */
  activated_date: string | null;
  effective_date: string | null;
  disconnected_date: string | null;
  description: string | null;
  usage_plan_group_id: number | null;
  package_id: number | null;
}

export interface RevioSimServiceProduct {
  service_product_id: number;
  service_id: number;
  product_id: number;
  customer_id: number;
  rate: number | null;
  quantity: number;
  effective_date: string | null;
  activated_date: string | null;
  package_id: number | null;
  generate_proration: boolean;
  /** `ACTIVE`, or `DISCONNECTED` after `DELETE /ServiceProduct` (Rev.io keeps the record). */
  status: 'ACTIVE' | 'DISCONNECTED';
  disconnected_date: string | null;
}

/** What options may preload: the ids are assigned by the store unless given. */
export type SeedService = Partial<RevioSimService> & Pick<RevioSimService, 'customer_id' | 'number'>;
export type SeedCustomer = Partial<RevioSimCustomer> & Pick<RevioSimCustomer, 'customer_id'>;

/** Magic customer ids (see the scenario list in `revio.simulator.ts`). */
export const MAGIC_CUSTOMER = {
  serverError: 999500,
  badRequest: 999400,
  unknown: 999404,
  badGateway: 999502,
};

// Real Rev.io ids are large and unrelated across resources; distinct ranges make a service id
// passed where a product id belongs fail loudly in tests instead of matching by accident.
const FIRST_SERVICE_ID = 500_001;
const FIRST_SERVICE_PRODUCT_ID = 800_001;

export class RevioStore {
  services: RevioSimService[] = [];
  serviceProducts: RevioSimServiceProduct[] = [];
  private customers = new Map<number, RevioSimCustomer>();
  /** Numbers ending in `0429` already throttled once: the second attempt goes through. */
  readonly throttledNumbers = new Set<string>();
  /**
   * Disconnect requests that reached Rev.io, per service id and per service product id, repeats
   * included (a repeat changes nothing, but it is counted: tests assert exactly one each).
   */
  readonly disconnects = { services: new Map<number, number>(), serviceProducts: new Map<number, number>() };
  private nextServiceId = FIRST_SERVICE_ID;
  private nextServiceProductId = FIRST_SERVICE_PRODUCT_ID;

  constructor(
    private readonly seed: { customers: SeedCustomer[]; services: SeedService[] },
    private readonly autoCreateCustomers: boolean,
  ) {
    this.reset();
  }

  /**
   * Back to the state the simulator was built with (seeded customers and services only). Ids keep
   * counting up, as Rev.io's do: an id handed out once is never handed out again, so a client that
   * recorded it before the reset never sees it name another service.
   */
  reset(): void {
    this.services = [];
    this.serviceProducts = [];
    this.customers.clear();
    this.throttledNumbers.clear();
    this.disconnects.services.clear();
    this.disconnects.serviceProducts.clear();
    for (const customer of this.seed.customers) this.addCustomer(customer);
    for (const service of this.seed.services) this.addService(service);
  }

  addCustomer(seed: SeedCustomer): RevioSimCustomer {
    const customer: RevioSimCustomer = {
      account_number: String(seed.customer_id),
      name: `Customer ${seed.customer_id}`,
      status: 'ACTIVE',
      ...seed,
    };
    this.customers.set(customer.customer_id, customer);
    return customer;
  }

  /** Every stored customer by id (the list never invents one, unlike a lookup by id). */
  listCustomers(): RevioSimCustomer[] {
    return [...this.customers.values()].sort((a, b) => a.customer_id - b.customer_id);
  }

  findCustomer(id: number): RevioSimCustomer | undefined {
    if (id === MAGIC_CUSTOMER.unknown) return undefined;
    const known = this.customers.get(id);
    if (known || !this.autoCreateCustomers || !Number.isSafeInteger(id) || id <= 0) return known;
    return this.addCustomer({ customer_id: id });
  }

  addService(seed: SeedService): RevioSimService {
    const service: RevioSimService = {
      service_id: seed.service_id ?? this.nextServiceId,
      number2: null,
      service_type_id: null,
      provider_id: null,
      activated_date: null,
      effective_date: null,
      disconnected_date: null,
      description: null,
      usage_plan_group_id: null,
      package_id: null,
      ...seed,
    };
    this.nextServiceId = Math.max(this.nextServiceId, service.service_id + 1);
    this.services.push(service);
    return service;
  }

  findService(id: number): RevioSimService | undefined {
    return this.services.find((s) => s.service_id === id);
  }

  addServiceProduct(
    fields: Omit<RevioSimServiceProduct, 'service_product_id' | 'status' | 'disconnected_date'>,
  ): RevioSimServiceProduct {
    const record: RevioSimServiceProduct = {
      service_product_id: this.nextServiceProductId++,
      status: 'ACTIVE',
      disconnected_date: null,
      ...fields,
    };
    this.serviceProducts.push(record);
    return record;
  }

  /** Counts the request; a product already disconnected keeps its first date. */
  disconnectServiceProduct(record: RevioSimServiceProduct, date: string): void {
    const id = record.service_product_id;
    this.disconnects.serviceProducts.set(id, (this.disconnects.serviceProducts.get(id) ?? 0) + 1);
    if (record.status === 'DISCONNECTED') return;
    record.status = 'DISCONNECTED';
    record.disconnected_date = date;
  }

  /** Counts the request; a service already disconnected keeps its first date. */
  disconnectService(service: RevioSimService, date: string): void {
    const id = service.service_id;
    this.disconnects.services.set(id, (this.disconnects.services.get(id) ?? 0) + 1);
    if (service.disconnected_date !== null) return;
    service.disconnected_date = date;
  }
}
