// One device: identifiers, carrier status and plan, owner and site, customer plan/pool, scheduled plan
// changes, Rev.io service lines, the bulk changes that touched it and its history step by step.
import { api } from '../lib/api.js';
import { h, link } from '../lib/dom.js';
import { badge, fmtTime } from '../lib/format.js';
import { dataTable, emptyRow } from '../widgets/table.js';
import { historySection } from './device-history.js';

/** @param {string} term @param {any} value */
const fact = (term, value) => [
  h('dt', { text: term }),
  h('dd', {}, value === null || value === undefined || value === '' ? '—' : value),
];

/** @param {string} title @param {...any} children */
const section = (title, ...children) =>
  h('section', { class: 'section' }, h('h2', { text: title }), ...children);

/** @param {import('../lib/router.js').View} view @param {number} id */
export async function deviceScreen(view, id) {
  const [device, history] = await Promise.all([
    api('GET', `/devices/${id}`),
    api('GET', `/devices/${id}/history?limit=100`),
  ]);
  const owner = device.owner;
  const plan = device.carrierRatePlan;
  const providerLink = link(`/devices?providerId=${device.serviceProvider.id}`, {
    text: device.serviceProvider.name,
  });
  view.show(
    h(
      'div',
      { class: 'device-page' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', {}, 'Device ', h('span', { class: 'mono', text: device.iccid })),
        h(
          'div',
          { class: 'actions' },
          link(`/devices?providerId=${device.serviceProvider.id}`, { text: 'Back to the fleet' }),
        ),
      ),
      h(
        'div',
        { class: 'device-grid' },
        section(
          'Identifiers',
          h(
            'dl',
            { class: 'facts', 'data-testid': 'device-identifiers' },
            fact('ICCID', h('span', { class: 'mono', text: device.iccid })),
            fact('MSISDN', device.msisdn && h('span', { class: 'mono', text: device.msisdn })),
            fact('IMEI', device.imei && h('span', { class: 'mono', text: device.imei })),
            fact('Service provider', providerLink),
            fact('Carrier status', badge(String(device.status).toUpperCase())),
            fact('Activated', device.activatedAt),
            device.archived && fact('Archived', 'yes'),
          ),
        ),
        section(
          'Owner',
          h(
            'dl',
            { class: 'facts', 'data-testid': 'device-owner' },
            fact(
              'Customer',
              owner ? link(`/customers/${owner.customer.id}`, { text: owner.customer.name }) : 'Unassigned',
            ),
            owner && fact('Site', owner.site?.name),
            owner?.accountNumber && fact('Rev.io account', owner.accountNumber),
            owner &&
              fact(
                'Customer rate plan',
                owner.customerRatePlan && `${owner.customerRatePlan.name} (${owner.customerRatePlan.code})`,
              ),
            owner && fact('Customer rate pool', owner.customerRatePool?.name),
            owner?.dataAllocationMb != null && fact('Data allocation', `${owner.dataAllocationMb} MB`),
            fact('Carrier rate plan', plan && (plan.name ? `${plan.name} (${plan.code})` : plan.code)),
            fact('Communication plan', plan?.communicationPlan),
          ),
        ),
      ),
      section('Scheduled plan changes', scheduledTable(device.scheduledPlanChanges)),
      section('Rev.io service lines', revTable(device.revServices)),
      section('Bulk changes', bulkChangeTable(device.bulkChanges)),
      historySection(history.items),
    ),
  );
}

/** @param {any[]} changes */
function scheduledTable(changes) {
  const body = h(
    'tbody',
    {},
    changes.length === 0
      ? emptyRow(4, 'No plan change is scheduled.')
      : changes.map((c) =>
          h(
            'tr',
            {},
            h('td', { text: c.effectiveDate }),
            h('td', { text: c.kind === 'carrier' ? 'Carrier plan' : 'Customer plan' }),
            h('td', {
              text:
                c.kind === 'carrier'
                  ? [c.carrierRatePlan?.code, c.carrierRatePlan?.communicationPlan]
                      .filter(Boolean)
                      .join(' / ')
                  : [c.customerRatePlan?.name, c.customerRatePool?.name].filter(Boolean).join(' / '),
            }),
            h(
              'td',
              {},
              c.bulkChangeId
                ? link(`/bulk-changes/${c.bulkChangeId}`, { text: `Bulk change ${c.bulkChangeId}` })
                : '—',
            ),
          ),
        ),
  );
  return dataTable('Scheduled plan changes', ['Effective', 'Kind', 'New plan', 'From'], body);
}

/** A Rev.io catalogue entry by its name, by its id when the cached catalogue lacks it. @param {string | null} name @param {number} id */
const catalogued = (name, id) => name ?? `#${id}`;

/** @param {any} p a product of a line */
const productText = (p) =>
  `${catalogued(p.name, p.productId)}${p.rate != null ? ` at ${p.rate}` : ''} (${p.status})`;

/** @param {any[]} lines */
function revTable(lines) {
  const body = h(
    'tbody',
    {},
    lines.length === 0
      ? emptyRow(6, 'No Rev.io service line.')
      : lines.map((s) =>
          h(
            'tr',
            {},
            h('td', { class: 'mono', text: s.serviceId ?? '—' }),
            h('td', {}, badge(s.active ? s.status.toUpperCase() : `${s.status} (inactive)`.toUpperCase())),
            h(
              'td',
              {},
              s.customer.name ? link(`/customers/${s.customer.id}`, { text: s.customer.name }) : '—',
            ),
            h('td', {
              text: s.serviceTypeId != null ? catalogued(s.serviceTypeName, s.serviceTypeId) : '—',
            }),
            h('td', {
              text:
                s.products.map(productText).join(', ') ||
                (s.packageId != null ? `Package ${catalogued(s.packageName, s.packageId)}` : '—'),
            }),
            h(
              'td',
              {},
              s.bulkChangeId
                ? link(`/bulk-changes/${s.bulkChangeId}`, { text: `Bulk change ${s.bulkChangeId}` })
                : '—',
            ),
          ),
        ),
  );
  return dataTable(
    'Rev.io service lines',
    ['Service id', 'Status', 'Customer', 'Service type', 'Products', 'Created by'],
    body,
  );
}

/** @param {any[]} changes */
function bulkChangeTable(changes) {
  const body = h(
    'tbody',
    {},
    changes.length === 0
      ? emptyRow(6, 'No bulk change had this device.')
      : changes.map((b) =>
          h(
            'tr',
            { dataset: { id: b.id } },
            h('td', {}, link(`/bulk-changes/${b.id}`, { text: `Bulk change ${b.id}` })),
            h('td', {}, link(`/customers/${b.customer.id}`, { text: b.customer.name })),
            h('td', {}, badge(b.status)),
            // What became of this device in it: a change can end PROCESSED and still have refused it.
            h('td', {}, badge(b.device.status)),
            h('td', { text: b.device.message ?? '' }),
            h('td', { text: fmtTime(b.createdAt) }),
          ),
        ),
  );
  return dataTable(
    'Bulk changes that had the device',
    ['Bulk change', 'Customer', 'Change status', 'This device', 'Why', 'Created'],
    body,
  );
}
