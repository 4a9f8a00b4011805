// The fleet's search and filters: a form whose values become the URL query (Apply), the site list
// following the customer picked.
import { api } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { statusLabel } from '../lib/format.js';

const STATUSES = ['active', 'inactive', 'suspended', 'deactivated', 'test_ready', 'inventory'];

/** @param {string} id @param {string} text @param {HTMLElement} control */
const field = (id, text, control) =>
  h('div', { class: 'fleet-field' }, h('label', { for: id, text }), control);

/**
 * @param {{ query: URLSearchParams, customerMap: Map<number, import('../lib/types.js').Customer>,
 *   apply: (changes: Record<string, string | null>) => void }} spec
 */
export async function fleetFilters(spec) {
  const { query } = spec;
  const q = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'fleet-q',
      type: 'search',
      inputmode: 'numeric',
      pattern: '[0-9]{3,20}',
      placeholder: 'Digits, at least 3',
      value: query.get('q') ?? '',
    })
  );
  const status = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'fleet-status' },
      h('option', { value: '', text: 'Any status' }),
      STATUSES.map((s) =>
        h('option', { value: s, text: statusLabel(s), selected: query.get('status') === s }),
      ),
    )
  );
  const owner = query.get('unassigned') === 'true' ? 'none' : (query.get('customerId') ?? '');
  const customer = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'fleet-customer' },
      h('option', { value: '', text: 'Any customer' }),
      h('option', { value: 'none', text: 'Unassigned', selected: owner === 'none' }),
      [...spec.customerMap.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((c) => h('option', { value: String(c.id), text: c.name, selected: owner === String(c.id) })),
    )
  );
  const site = /** @type {HTMLSelectElement} */ (h('select', { id: 'fleet-site' }));
  const fillSites = async () => {
    site.replaceChildren(h('option', { value: '', text: 'Any site' }));
    site.disabled = !/^\d+$/.test(customer.value);
    if (site.disabled) return;
    const { items } = await api('GET', `/customers/${customer.value}/sites`);
    for (const s of items)
      site.append(
        h('option', { value: String(s.id), text: s.name, selected: query.get('siteId') === String(s.id) }),
      );
  };
  customer.addEventListener('change', () => void fillSites());
  await fillSites();
  const plan = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'fleet-plan',
      type: 'text',
      placeholder: 'Plan code',
      value: query.get('carrierRatePlan') ?? '',
    })
  );
  // Archived devices are left out unless asked for: an assignment would refuse every one of them.
  const archived = /** @type {HTMLInputElement} */ (
    h('input', { id: 'fleet-archived', type: 'checkbox', checked: query.get('archived') === 'include' })
  );
  const form = h(
    'form',
    {
      class: 'fleet-filters',
      role: 'search',
      'aria-label': 'Search and filter devices',
      onsubmit: (/** @type {Event} */ event) => {
        event.preventDefault();
        const none = customer.value === 'none';
        spec.apply({
          q: q.value.trim(),
          status: status.value,
          customerId: none ? null : customer.value,
          unassigned: none ? 'true' : null,
          siteId: none ? null : site.value,
          carrierRatePlan: plan.value.trim(),
          archived: archived.checked ? 'include' : null,
        });
      },
    },
    field('fleet-q', 'ICCID, MSISDN or IMEI starts with', q),
    field('fleet-status', 'Status', status),
    field('fleet-customer', 'Customer', customer),
    field('fleet-site', 'Site', site),
    field('fleet-plan', 'Carrier plan', plan),
    h(
      'div',
      { class: 'fleet-field fleet-check' },
      archived,
      h('label', { for: 'fleet-archived', text: 'Show archived devices' }),
    ),
    h(
      'div',
      { class: 'fleet-buttons' },
      h('button', { type: 'submit', class: 'primary', text: 'Apply' }),
      h('button', {
        type: 'button',
        text: 'Clear',
        onclick: () =>
          spec.apply({
            q: null,
            status: null,
            customerId: null,
            unassigned: null,
            siteId: null,
            carrierRatePlan: null,
            archived: null,
          }),
      }),
    ),
  );
  return form;
}
