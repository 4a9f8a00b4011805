import type { Database } from '../../db/database.ts';
import * as assignments from '../../db/repositories/assignment.repository.ts';
import { findRevCatalogueIndex } from '../../db/repositories/catalogue.repository.ts';
import {
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  UnprocessableError,
  type FieldProblem,
} from '../../errors.ts';
import type { FilterResolver } from '../assignment.service.ts';
import { assertMayChange, mayAccessCustomer, type Principal } from '../principal.ts';
import { judgeDevice, targetOf, type DeviceCandidate, type Verdict } from './eligibility.ts';
import {
  checkRequestShape,
  identifierKind,
  identifierProblem,
  MAX_DEVICES,
  normaliseIdentifiers,
  type AssignmentRequest,
  type RevServiceOptions,
} from './request.ts';

/**
 * Every rule of DESIGN §2 for one request: request-level problems throw (4xx, nothing written);
 * each device gets a verdict. A fixed number of queries whatever the number of devices: the
 * provider, the customer, the site, plans, and one set-based query for all devices.
 */

/** One device of a request: what the identifier named (nothing: no such device), and the verdict. */
export interface JudgedDevice {
  identifier: string;
  candidate: DeviceCandidate | undefined;
  verdict: Verdict;
}

/** Devices read and judged at a time (see `validate`). */
const CANDIDATE_SLICE = 5_000;

export function createValidator(deps: { db: Database; resolveFilter?: FilterResolver }) {
  async function resolveFilter(
    principal: Principal,
    serviceProviderId: number,
    kind: 'iccid' | 'msisdn',
    filter: NonNullable<AssignmentRequest['filter']>,
  ): Promise<string[]> {
    if (!deps.resolveFilter) throw new UnprocessableError('Selecting devices by filter is not available.');
    // One more than allowed, to tell "too many" from "exactly the maximum".
    return deps
      .resolveFilter(principal, { serviceProviderId, kind, filter, limit: MAX_DEVICES + 1 })
      .catch((error: unknown) => {
        // The device search names its own parameters (`/q`); in a submission they are under `/filter`.
        if (error instanceof InvalidInputError) {
          throw new InvalidInputError(
            error.message,
            (error.details as FieldProblem[] | undefined)?.map((d) => ({ ...d, path: `/filter${d.path}` })),
          );
        }
        throw error;
      });
  }

  /**
   * The request-level rules (each problem throws: nothing may be written), then the devices to
   * judge. `judge` turns each device's verdict into what the caller keeps (a dry run's answer, a
   * work order) and yields them a slice at a time, in the order of the request: the rows read for
   * a slice are let go before the next, and the caller may write a slice while the next is judged.
   */
  async function check(principal: Principal, request: AssignmentRequest) {
    assertMayChange(principal);
    checkRequestShape(request);
    const { db } = deps;
    const tenantId = principal.tenantId;

    const provider = await assignments.findServiceProvider(db, tenantId, request.serviceProviderId);
    if (!provider) throw new NotFoundError(`Service provider ${request.serviceProviderId} not found.`);
    const customer = await assignments.findCustomer(db, tenantId, request.customerId);
    // A customer the principal may not access does not exist for it: a 403 with its name would
    // confirm the id and disclose the name (the reference routes answer 404 the same way).
    if (!customer || !mayAccessCustomer(principal, customer.id)) {
      throw new NotFoundError(`Customer ${request.customerId} not found.`);
    }

    const problems: FieldProblem[] = [];
    if (!provider.active)
      problems.push({ path: '/serviceProviderId', message: 'the service provider is inactive' });
    if (!customer.active) problems.push({ path: '/customerId', message: 'the customer is inactive' });
    let siteId = customer.default_site_id;
    if (request.siteId !== undefined) {
      const site = await assignments.findSite(db, tenantId, request.siteId);
      if (!site || site.customer_id !== customer.id) {
        problems.push({
          path: '/siteId',
          message: `site ${request.siteId} does not belong to ${customer.name}`,
        });
      }
      siteId = request.siteId;
    }
    if (request.createRevService && (customer.kind !== 'rev' || customer.rev_credentials_id === null)) {
      problems.push({
        path: '/createRevService',
        message: `${customer.name} is not billed in Rev.io (no Rev customer or credentials): no service line can be created`,
      });
    }
    if (request.createRevService && request.revService && customer.rev_credentials_id !== null) {
      problems.push(...(await revCatalogueProblems(db, customer.rev_credentials_id, request.revService)));
    }
    if (request.addCustomerRatePlan) {
      const { ratePlanId, ratePoolId } = request.customerRatePlan ?? {};
      if (
        ratePlanId !== undefined &&
        !(await assignments.findCustomerRatePlan(db, tenantId, ratePlanId))?.active
      ) {
        problems.push({
          path: '/customerRatePlan/ratePlanId',
          message: `no active customer rate plan ${ratePlanId}`,
        });
      }
      if (
        ratePoolId !== undefined &&
        !(await assignments.findCustomerRatePool(db, tenantId, ratePoolId))?.active
      ) {
        problems.push({
          path: '/customerRatePlan/ratePoolId',
          message: `no active customer rate pool ${ratePoolId}`,
        });
      }
    }
    if (request.addCarrierRatePlan && request.carrierRatePlan) {
      const { ratePlan, communicationPlan } = request.carrierRatePlan;
      if (communicationPlan !== undefined && provider.integration === 'thingspace') {
        // ThingSpace's plan change takes a service plan only: a communication plan would be recorded
        // as applied without ever reaching the carrier.
        throw new InvalidInputError('The bulk change request is invalid.', [
          {
            path: '/carrierRatePlan/communicationPlan',
            message: `${provider.name} (ThingSpace) takes a service plan only; leave communicationPlan out`,
          },
        ]);
      }
      const plan = await assignments.findCarrierRatePlan(db, provider.id, ratePlan);
      if (!plan?.active) {
        problems.push({
          path: '/carrierRatePlan/ratePlan',
          message: `${provider.name} has no active carrier rate plan "${ratePlan}"`,
        });
      }
      if (
        communicationPlan !== undefined &&
        !(await assignments.listCommunicationPlans(db, provider.id)).includes(communicationPlan)
      ) {
        problems.push({
          path: '/carrierRatePlan/communicationPlan',
          message: `${provider.name} has no communication plan "${communicationPlan}"`,
        });
      }
    }
    if (problems.length > 0)
      throw new UnprocessableError('The bulk change cannot be made as requested.', problems);

    const kind = identifierKind(provider.portal_type);
    const raw = request.devices ?? (await resolveFilter(principal, provider.id, kind, request.filter!));
    if (raw.length > MAX_DEVICES) {
      throw new PayloadTooLargeError(
        `The filter matches more than ${MAX_DEVICES.toLocaleString('en')} devices; narrow it or split the change.`,
      );
    }
    const { unique, duplicates } = normaliseIdentifiers(raw);
    if (unique.length === 0) {
      throw new UnprocessableError('No device to assign.', [
        { path: '/devices', message: 'no identifiers given or matched' },
      ]);
    }

    const target = targetOf(request);
    // The next slice is read while this one is judged, on a connection of its own: two backends
    // share the reading (0.40 → 0.27 s for 100,000 devices), and a submission's reads run beside
    // the inserts of its transaction (see `writeWorkOrders` for why that cannot exhaust the pool).
    // All 100,000 rows at once, kept to the end, were ~50 MB of the serving process's peak (B4).
    const read = (start: number) => {
      const slice = unique.slice(start, start + CANDIDATE_SLICE);
      const malformed = slice.map((identifier) => identifierProblem(identifier, kind));
      const found = assignments.findDeviceCandidates(db, {
        tenantId,
        serviceProviderId: provider.id,
        kind,
        identifiers: slice.filter((_, i) => malformed[i] === undefined),
      });
      // Awaited in its turn; until then a failure must not count as unhandled.
      found.catch(() => undefined);
      return { slice, malformed, found };
    };
    // The first slice is read at once: a caller writing the slices opens its transaction meanwhile.
    let first: ReturnType<typeof read> | undefined = read(0);
    async function* judge<T>(collect: (device: JudgedDevice) => T): AsyncGenerator<T[]> {
      let next = first ?? read(0);
      first = undefined;
      for (let start = 0; ; start += CANDIDATE_SLICE) {
        const { slice, malformed, found } = next;
        const more = start + CANDIDATE_SLICE < unique.length;
        if (more) next = read(start + CANDIDATE_SLICE);
        // An MSISDN shared by several devices answers with its oldest one.
        const byIdentifier = new Map<string, DeviceCandidate>();
        for (const candidate of await found) {
          const seen = byIdentifier.get(candidate.identifier);
          if (!seen || candidate.deviceId < seen.deviceId) byIdentifier.set(candidate.identifier, candidate);
        }
        yield slice.map((identifier, i) => {
          const problem = malformed[i];
          const candidate = byIdentifier.get(identifier);
          const verdict: Verdict = problem
            ? { eligible: false, category: 'eligibility', message: problem }
            : judgeDevice(candidate, target, principal);
          return collect({ identifier, candidate, verdict });
        });
        if (!more) return;
      }
    }

    return { provider, customer, siteId, duplicates, target, count: unique.length, judge };
  }

  /** `check`, and every device judged: `collect`'s results in the order of the request. */
  async function validate<T>(
    principal: Principal,
    request: AssignmentRequest,
    collect: (device: JudgedDevice) => T,
  ) {
    const { judge, ...checked } = await check(principal, request);
    const results: T[] = [];
    for await (const slice of judge(collect)) results.push(...slice);
    return { ...checked, results };
  }

  return { check, validate };
}

/**
 * The Rev.io ids of a submission against the cached catalogue of the customer's Rev.io account, in
 * one query. Nothing cached: nothing to check (Rev.io itself is never called while submitting).
 */
async function revCatalogueProblems(
  db: Database,
  credentialsId: number,
  rev: RevServiceOptions,
): Promise<FieldProblem[]> {
  const index = await findRevCatalogueIndex(db, credentialsId);
  if (!index) return [];
  const problems: FieldProblem[] = [];
  const check = (path: string, kind: string, label: string, id: number | undefined) => {
    if (id === undefined) return;
    const active = index.entries.get(`${kind}:${id}`);
    if (active === undefined) {
      problems.push({
        path,
        message: `${label} ${id} is not in Rev.io account ${index.accountName}'s catalogue`,
      });
    } else if (!active) {
      problems.push({
        path,
        message: `${label} ${id} is inactive in Rev.io account ${index.accountName}'s catalogue`,
      });
    }
  };
  check('/revService/serviceTypeId', 'service_type', 'service type', rev.serviceTypeId);
  check('/revService/packageId', 'package', 'package', rev.packageId);
  check('/revService/providerId', 'provider', 'provider', rev.providerId);
  check('/revService/usagePlanGroupId', 'usage_plan_group', 'usage plan group', rev.usagePlanGroupId);
  (rev.products ?? []).forEach((p, i) =>
    check(`/revService/products/${i}/productId`, 'product', 'product', p.productId),
  );
  return problems;
}
