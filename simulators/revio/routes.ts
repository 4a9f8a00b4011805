import type { FastifyInstance, FastifyReply } from 'fastify';
import { MAGIC_CUSTOMER, type RevioStore } from './store.ts';
import {
  BadRequest,
  integerParam,
  optionalDate,
  optionalId,
  optionalText,
  page,
  requiredId,
  sendError,
  sendThrottled,
} from './wire.ts';

/** Rev.io's resources under `/v1`. Catalogue records are served as given in the options. */

export interface RevioCatalogue {
  serviceTypes: Record<string, unknown>[];
  products: Record<string, unknown>[];
  providers: Record<string, unknown>[];
  /** `GET /Packages` and `GET /UsagePlanGroups` are inferred: same envelope and paging as the rest. */
  packages: Record<string, unknown>[];
  usagePlanGroups: Record<string, unknown>[];
}

type Query = Record<string, string | undefined>;
type Body = Record<string, unknown>;

export function registerRevioRoutes(
  app: FastifyInstance,
  store: RevioStore,
  catalogue: RevioCatalogue,
): void {
  app.post('/v1/Services', async (request, reply) => {
    const body = objectBody(request.body);
    // The gateway throttles before Rev.io looks at the request, hence before any validation.
    const number = typeof body.number === 'string' ? body.number : '';
    if (number.endsWith('0429') && !store.throttledNumbers.has(number)) {
      store.throttledNumbers.add(number);
      return sendThrottled(reply, 1);
    }
    if (body.service_id !== undefined)
      throw new BadRequest('service_id cannot be set when creating a service.');
    const customerId = requiredId(body, 'customer_id');
    const magic = magicCustomerAnswer(reply, customerId);
    if (magic) return magic;
    if (!store.findCustomer(customerId)) throw new BadRequest(`customer_id ${customerId} does not exist.`);
    if (optionalText(body, 'number', 255) === null || number === '')
      throw new BadRequest('number is required.');

    const service = store.addService({
      customer_id: customerId,
      number,
      number2: optionalText(body, 'number2', 255),
      service_type_id: optionalId(body, 'service_type_id'),
      provider_id: optionalId(body, 'provider_id'),
      activated_date: optionalDate(body, 'activated_date'),
      effective_date: optionalDate(body, 'effective_date'),
      description: optionalText(body, 'description', 1000),
      usage_plan_group_id: optionalId(body, 'usage_plan_group_id'),
      package_id: optionalId(body, 'package_id'),
    });
    return reply
      .code(201)
      .header('location', `/v1/Services/${service.service_id}`)
      .send(created(service.service_id));
  });

  app.post('/v1/ServiceProduct', async (request, reply) => {
    const body = objectBody(request.body);
    if (body.service_product_id !== undefined)
      throw new BadRequest('service_product_id cannot be set on create.');
    const serviceId = requiredId(body, 'service_id');
    const productId = requiredId(body, 'product_id');
    const service = store.findService(serviceId);
    if (!service) throw new BadRequest(`service_id ${serviceId} does not exist.`);
    const customerId = optionalId(body, 'customer_id') ?? service.customer_id;
    const magic = magicCustomerAnswer(reply, customerId);
    if (magic) return magic;
    if (customerId !== service.customer_id) {
      throw new BadRequest(
        `service ${serviceId} belongs to customer ${service.customer_id}, not ${customerId}.`,
      );
    }
    const rate = body.rate ?? null;
    if (rate !== null && typeof rate !== 'number') throw new BadRequest('rate must be a number.');
    const quantity = body.quantity ?? 1;
    if (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity <= 0) {
      throw new BadRequest('quantity must be a positive number.');
    }
    const proration = body.generate_proration ?? false;
    if (typeof proration !== 'boolean') throw new BadRequest('generate_proration must be a boolean.');

    const record = store.addServiceProduct({
      service_id: serviceId,
      product_id: productId,
      customer_id: customerId,
      rate,
      quantity,
      effective_date: optionalDate(body, 'effective_date'),
      activated_date: optionalDate(body, 'activated_date'),
      package_id: optionalId(body, 'package_id'),
      generate_proration: proration,
    });
    const id = record.service_product_id;
    return reply.code(201).header('location', `/v1/ServiceProduct/${id}`).send(created(id));
  });

  // Disconnecting (undo): the product is kept, DISCONNECTED; a repeat changes nothing.
  app.delete('/v1/ServiceProduct', async (request, reply) => {
    const body = objectBody(request.body);
    const id = requiredId(body, 'service_product_id');
    const proration = body.generate_proration;
    if (typeof proration !== 'boolean') throw new BadRequest('generate_proration is required (a boolean).');
    const record = store.serviceProducts.find((p) => p.service_product_id === id);
    if (!record) return sendError(reply, 404, 'Service product not found.');
    const magic = magicCustomerAnswer(reply, record.customer_id);
    if (magic) return magic;
    const date = optionalDate(body, 'effective_date') ?? `${new Date().toISOString().slice(0, 10)}T00:00:00`;
    store.disconnectServiceProduct(record, date);
    return reply.code(200).send({ ok: true, id });
  });

  // JSON Patch on a service; only `replace /disconnected_date` is supported (the disconnect).
  app.patch('/v1/Services/:id', async (request, reply) => {
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json-patch+json')) {
      return sendError(reply, 415, 'PATCH takes application/json-patch+json.');
    }
    const service = store.findService(pathId(request.params));
    if (!service) return sendError(reply, 404, 'Service not found.');
    const ops: unknown = request.body;
    if (!Array.isArray(ops) || ops.length === 0) throw new BadRequest('The body must be a JSON Patch array.');
    const magic = magicCustomerAnswer(reply, service.customer_id);
    if (magic) return magic;
    let date: string | null = null;
    for (const op of ops as Body[]) {
      if (op?.op !== 'replace' || op.path !== '/disconnected_date') {
        throw new BadRequest('Only "replace" of "/disconnected_date" is supported.');
      }
      date = optionalDate({ value: op.value }, 'value');
    }
    if (date === null) throw new BadRequest('disconnected_date needs a date.');
    store.disconnectService(service, date);
    return reply.code(200).send({ ok: true, id: service.service_id });
  });

  app.get('/v1/Services', (request) => {
    const query = request.query as Query;
    const customerId = integerParam(query['search.customer_id'], 'search.customer_id', 1);
    const serviceId = integerParam(query['search.service_id'], 'search.service_id', 1);
    const { 'search.number': number, 'search.number2': number2 } = query;
    const matching = store.services.filter(
      (s) =>
        (customerId === undefined || s.customer_id === customerId) &&
        (serviceId === undefined || s.service_id === serviceId) &&
        (number === undefined || s.number === number) &&
        (number2 === undefined || s.number2 === number2),
    );
    return page(matching, query);
  });

  app.get('/v1/Services/:id', async (request, reply) => {
    const service = store.findService(pathId(request.params));
    return service ?? sendError(reply, 404, 'Service not found.');
  });

  app.get('/v1/ServiceProduct', (request) => {
    const query = request.query as Query;
    const serviceId = integerParam(query['search.service_id'], 'search.service_id', 1);
    const customerId = integerParam(query['search.customer_id'], 'search.customer_id', 1);
    const matching = store.serviceProducts.filter(
      (p) =>
        (serviceId === undefined || p.service_id === serviceId) &&
        (customerId === undefined || p.customer_id === customerId),
    );
    return page(matching, query);
  });

  app.get('/v1/ServiceProduct/:id', async (request, reply) => {
    const id = pathId(request.params);
    const record = store.serviceProducts.find((p) => p.service_product_id === id);
    return record ?? sendError(reply, 404, 'Service product not found.');
  });

  // The inventory list: the envelope and paging of every Rev.io list, customers by id.
  app.get('/v1/Customers', (request) =>
    page(
      store.listCustomers().map((c) => ({ ...c, company_name: c.name, is_active: c.status === 'ACTIVE' })),
      request.query as Query,
    ),
  );

  app.get('/v1/Customers/:id', async (request, reply) => {
    const customer = store.findCustomer(pathId(request.params));
    return customer ?? sendError(reply, 404, 'Customer not found.');
  });

  app.get('/v1/ServiceTypes', (request) => page(catalogue.serviceTypes, request.query as Query));
  app.get('/v1/Products', (request) => page(catalogue.products, request.query as Query));
  app.get('/v1/Providers', (request) => page(catalogue.providers, request.query as Query));
  app.get('/v1/Packages', (request) => page(catalogue.packages, request.query as Query));
  app.get('/v1/UsagePlanGroups', (request) => page(catalogue.usagePlanGroups, request.query as Query));
}

function created(id: number) {
  return { ok: true, id };
}

function objectBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest('The request body must be a JSON object.');
  }
  return body as Body;
}

function pathId(params: unknown): number {
  const id = integerParam((params as { id?: string }).id, 'id', 1);
  if (id === undefined) throw new BadRequest('id is required.');
  return id;
}

/** Data-driven failures (see the scenario list in `revio.simulator.ts`); `undefined` for normal ids. */
function magicCustomerAnswer(reply: FastifyReply, customerId: number): FastifyReply | undefined {
  switch (customerId) {
    case MAGIC_CUSTOMER.serverError:
      return sendError(reply, 500, 'An unexpected error occurred while processing the request.');
    case MAGIC_CUSTOMER.badRequest:
      return sendError(reply, 400, `Customer ${customerId} is closed: services cannot be added.`);
    case MAGIC_CUSTOMER.badGateway:
      return reply.code(502).type('text/plain').send('502 Bad Gateway: upstream connect error or disconnect');
    default:
      return undefined;
  }
}
