// The bulk change list's filters: status, type, customer, source, created from / before, only mine;
// kept in the URL's query so that a filtered list can be shared and reloaded.
import { me } from '../lib/api.js';
import { h } from '../lib/dom.js';

/** The filters the list's URL and the API share (GET /bulk-changes's query). */
export const FILTER_KEYS = [
  'status',
  'changeType',
  'customerId',
  'source',
  'createdFrom',
  'createdBefore',
  'createdBy',
];

const STATUSES = [
  ['NEW', 'New'],
  ['PROCESSING', 'Processing'],
  ['PROCESSED', 'Processed'],
  ['PROCESSED_WITH_ERRORS', 'Processed with errors'],
  ['ERROR', 'Error'],
  ['CANCELLED', 'Cancelled'],
];
const TYPES = [
  ['customer_assignment', 'Customer assignment'],
  ['undo', 'Undo'],
];
const SOURCES = [
  ['ui', 'These screens'],
  ['api', 'The API'],
  ['legacy', 'The older endpoints'],
];

/** The filters of the current URL, as the API's query. @returns {URLSearchParams} */
export function filtersFromUrl() {
  const here = new URLSearchParams(location.search);
  const q = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = here.get(key);
    if (value) q.set(key, value);
  }
  return q;
}

/** A date field's day as an instant (midnight, local time). @param {string} day */
const dayStart = (day) => (day ? new Date(`${day}T00:00:00`).toISOString() : '');
/** @param {string | null} iso */
const dayOf = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
};

/**
 * The filter form. `apply` gets the new query (also written to the URL by the caller).
 * @param {URLSearchParams} current @param {Map<number, import('../lib/types.js').Customer>} customerMap
 * @param {(query: URLSearchParams) => void} apply
 */
export function listFilters(current, customerMap, apply) {
  /** @param {string} id @param {string} label @param {HTMLElement} control */
  const field = (id, label, control) =>
    h('div', { class: 'field' }, h('label', { for: id, text: label }), control);
  /** @param {string} id @param {string} key @param {string} any @param {string[][]} options */
  const select = (id, key, any, options) =>
    h(
      'select',
      { id, name: key },
      h('option', { value: '', text: any }),
      options.map(([value, text]) => h('option', { value, text, selected: current.get(key) === value })),
    );
  const customersSorted = [...customerMap.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => [String(c.id), c.name]);
  const status = select('f-status', 'status', 'Any status', STATUSES);
  const type = select('f-type', 'changeType', 'Any type', TYPES);
  const customer = select('f-customer', 'customerId', 'Any customer', customersSorted);
  const source = select('f-source', 'source', 'Any source', SOURCES);
  const from = h('input', { id: 'f-from', type: 'date', value: dayOf(current.get('createdFrom')) });
  const before = h('input', { id: 'f-before', type: 'date', value: dayOf(current.get('createdBefore')) });
  const mine = h('input', {
    id: 'f-mine',
    type: 'checkbox',
    checked: !!me && current.get('createdBy') === String(me.id),
  });
  const read = () => {
    const q = new URLSearchParams();
    const v = (/** @type {HTMLElement} */ el) => /** @type {HTMLInputElement} */ (el).value;
    if (v(status)) q.set('status', v(status));
    if (v(type)) q.set('changeType', v(type));
    if (v(customer)) q.set('customerId', v(customer));
    if (v(source)) q.set('source', v(source));
    if (v(from)) q.set('createdFrom', dayStart(v(from)));
    // "Before" a day includes that day: up to the next midnight.
    if (v(before)) {
      const next = new Date(`${v(before)}T00:00:00`);
      next.setDate(next.getDate() + 1);
      q.set('createdBefore', next.toISOString());
    }
    if (/** @type {HTMLInputElement} */ (mine).checked && me) q.set('createdBy', String(me.id));
    return q;
  };
  return h(
    'form',
    {
      class: 'filters list-filters',
      'aria-label': 'Filter bulk changes',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        apply(read());
      },
    },
    field('f-status', 'Status', status),
    field('f-type', 'Type', type),
    field('f-customer', 'Customer', customer),
    field('f-source', 'Source', source),
    field('f-from', 'Created from', from),
    field('f-before', 'Created up to', before),
    h('div', { class: 'field check' }, mine, h('label', { for: 'f-mine', text: 'Only mine' })),
    h(
      'div',
      { class: 'field buttons' },
      h('button', { type: 'submit', class: 'primary', text: 'Apply' }),
      h('button', { type: 'button', text: 'Clear', onclick: () => apply(new URLSearchParams()) }),
    ),
  );
}
