// Bulk change page, the summary: counts as tiles, the progress bar, and what was asked (timing,
// options) with names where the API gives ids.
import { h, replace } from '../lib/dom.js';
import { externalCalls, fmtDuration, fmtNum, fmtTime } from '../lib/format.js';
import { progressBar } from '../widgets/progress.js';

/** @typedef {import('../lib/types.js').BulkChange} BulkChange */

/** @type {Record<string, string>} where a bulk change was submitted */
const SOURCE_LABELS = { ui: 'these screens', api: 'the API', legacy: 'the older endpoints' };

/** The count tiles and the progress bar. @param {HTMLElement} tiles @param {HTMLElement} bar @param {BulkChange} bc */
export function drawProgress(tiles, bar, bc) {
  const c = bc.counts;
  const tile = (
    /** @type {string} */ label,
    /** @type {number} */ value,
    /** @type {string} */ cls,
    /** @type {string} */ key,
  ) =>
    h(
      'div',
      { class: `tile ${cls}`, dataset: { tile: key } },
      h('div', { class: 'value', text: fmtNum(value) }),
      h('div', { class: 'label', text: label }),
    );
  replace(
    tiles,
    tile('Total', c.total, '', 'total'),
    tile('Processed', c.processed, 'ok', 'processed'),
    tile('Error', c.error, c.error ? 'err' : '', 'error'),
    tile('Waiting carrier', c.waiting, c.waiting ? 'busy' : '', 'waiting'),
    tile('Pending / processing', c.pending + c.processing, c.pending + c.processing ? 'busy' : '', 'open'),
    tile('Cancelled', c.cancelled, c.cancelled ? 'cancel' : '', 'cancelled'),
  );
  const done = c.processed + c.error + c.cancelled;
  replace(
    bar,
    progressBar(c, true),
    h('div', {
      class: 'muted small',
      style: 'margin-top:4px',
      text: `${fmtNum(done)} of ${fmtNum(c.total)} done${c.total ? ` (${Math.floor((100 * done) / c.total)}%)` : ''}`,
    }),
  );
}

/**
 * Timing and options. `names`: the provider, customer, site, and "plan 3" / "pool 2" → their names.
 * @param {HTMLElement} facts @param {BulkChange} bc
 * @param {{ provider?: string, customer?: import('../lib/types.js').Customer, sites: Map<number, any>, plans: Map<string, string> }} names
 */
export function drawFacts(facts, bc, names) {
  const o = bc.options ?? {};
  const cust = names.customer;
  const yesNo = (/** @type {boolean} */ v, /** @type {string} */ detail) =>
    v ? `Yes${detail ? ` — ${detail}` : ''}` : 'No';
  const rev = o.revService ?? {};
  // Names from the server (the customer's Rev.io catalogue); an id it does not know shows as "#id".
  const rn = bc.revServiceNames;
  const named = (/** @type {string | null | undefined} */ name, /** @type {number} */ id) => name ?? `#${id}`;
  const revDetail = [
    rev.serviceTypeId && `service type ${named(rn?.serviceType, rev.serviceTypeId)}`,
    rev.packageId && `package ${named(rn?.package, rev.packageId)}`,
    Array.isArray(rev.products) &&
      rev.products.length &&
      `products ${rev.products
        .map((/** @type {any} */ p) => `${named(rn?.products[String(p.productId)], p.productId)} @ ${p.rate}`)
        .join(', ')}`,
    rev.providerId && `provider ${named(rn?.provider, rev.providerId)}`,
    rev.usagePlanGroupId && `usage plan group ${named(rn?.usagePlanGroup, rev.usagePlanGroupId)}`,
  ]
    .filter(Boolean)
    .join(', ');
  const crp = o.customerRatePlan ?? {};
  const planDetail = [
    crp.ratePlanId && (names.plans.get(`plan ${crp.ratePlanId}`) ?? `plan #${crp.ratePlanId}`),
    crp.ratePoolId && (names.plans.get(`pool ${crp.ratePoolId}`) ?? `pool #${crp.ratePoolId}`),
  ]
    .filter(Boolean)
    .join(', ');
  const carrierDetail = [o.carrierRatePlan?.ratePlan, o.carrierRatePlan?.communicationPlan]
    .filter(Boolean)
    .join(' / ');
  const dl = (/** @type {[string, any][]} */ pairs) =>
    h(
      'dl',
      { class: 'facts' },
      pairs.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v ?? '—' })]),
    );
  replace(
    facts,
    h(
      'div',
      { class: 'panel' },
      h('h2', { text: 'Timing' }),
      dl([
        ['Created', `${fmtTime(bc.createdAt)} by ${bc.createdBy?.name ?? '?'}`],
        ['Started', fmtTime(bc.startedAt)],
        ['Completed', fmtTime(bc.completedAt)],
        ['Duration', bc.startedAt ? fmtDuration(bc.startedAt, bc.completedAt) : '—'],
        ['Source', SOURCE_LABELS[bc.source] ?? bc.source],
        ...(bc.stats
          ? /** @type {[string, any][]} */ ([
              ['Throughput', `${fmtNum(bc.stats.devicesPerSecond)} devices/s`],
              ['External calls', externalCalls(bc.stats.externalCalls)],
            ])
          : []),
      ]),
    ),
    h(
      'div',
      { class: 'panel' },
      h('h2', { text: 'Options' }),
      dl([
        ['Provider', names.provider ?? `#${bc.serviceProviderId}`],
        [
          'Customer',
          cust
            ? `${cust.name} (${cust.kind === 'rev' ? `Rev ${cust.revCustomerId}` : 'AMOP'})`
            : `#${bc.customerId}`,
        ],
        ['Site', bc.siteId ? (names.sites.get(bc.siteId)?.name ?? `#${bc.siteId}`) : 'default'],
        ['Rev.io service', yesNo(!!o.createRevService, revDetail)],
        ['Customer rate plan', yesNo(!!o.addCustomerRatePlan, planDetail)],
        ['Carrier rate plan', yesNo(!!o.addCarrierRatePlan, carrierDetail)],
        ['Effective date', o.effectiveDate ?? "each device's activation date"],
      ]),
    ),
  );
}
