// The fleet's table: sortable column heads (aria-sort), a checkbox per row and one for the page.
import { h, link } from '../lib/dom.js';
import { badge } from '../lib/format.js';
import { emptyRow } from '../widgets/table.js';

/** Columns: title, the API's sort key (none: not sortable). */
const COLUMNS = /** @type {[string, string | null][]} */ ([
  ['ICCID', 'iccid'],
  ['MSISDN', 'msisdn'],
  ['IMEI', null],
  ['Status', 'status'],
  ['Customer', 'customer'],
  ['Site', null],
  ['Carrier plan', 'carrierRatePlan'],
]);

/**
 * @param {{ items: any[], sort: string, onSort: (sort: string) => void }} spec
 */
export function fleetTable(spec) {
  const desc = spec.sort.startsWith('-');
  const sortKey = spec.sort.replace(/^-/, '');
  /** @type {HTMLInputElement[]} */
  const boxes = [];
  let onSelect = () => {};
  const pageBox = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'checkbox',
      'aria-label': 'Select every device of this page',
      disabled: spec.items.length === 0,
      onchange: () => {
        for (const box of boxes) box.checked = pageBox.checked;
        onSelect();
      },
    })
  );
  const heads = COLUMNS.map(([title, key]) => {
    if (!key) return h('th', { scope: 'col', text: title });
    const here = key === sortKey;
    const next = here && !desc ? `-${key}` : key;
    return h(
      'th',
      { scope: 'col', 'aria-sort': here ? (desc ? 'descending' : 'ascending') : 'none' },
      h(
        'button',
        {
          type: 'button',
          class: 'sort',
          onclick: () => spec.onSort(next),
          'aria-label': `${title}: sort ${next.startsWith('-') ? 'descending' : 'ascending'}`,
        },
        title,
        here ? (desc ? ' ▼' : ' ▲') : '',
      ),
    );
  });
  const rows = spec.items.map((d) => {
    const box = /** @type {HTMLInputElement} */ (
      h('input', {
        type: 'checkbox',
        value: d.iccid,
        'aria-label': `Select ${d.iccid}`,
        onchange: () => {
          pageBox.checked = boxes.every((b) => b.checked);
          onSelect();
        },
      })
    );
    boxes.push(box);
    return h(
      'tr',
      { dataset: { id: d.id } },
      h('td', {}, box),
      h('td', { class: 'mono' }, link(`/devices/${d.id}`, { text: d.iccid })),
      h('td', { class: 'mono', text: d.msisdn ?? '—' }),
      h('td', { class: 'mono', text: d.imei ?? '—' }),
      h(
        'td',
        {},
        badge(d.status.toUpperCase()),
        d.archived && h('span', { class: 'badge', text: 'archived' }),
      ),
      h(
        'td',
        {},
        d.customerId
          ? link(`/customers/${d.customerId}`, { text: d.customerName ?? `#${d.customerId}` })
          : h('span', { class: 'muted', text: 'Unassigned' }),
      ),
      h('td', { text: d.siteName ?? '—' }),
      h('td', { text: d.carrierRatePlan ?? '—' }),
    );
  });
  const element = h(
    'div',
    { class: 'table-wrap fleet-wrap' },
    h(
      'table',
      { 'aria-label': 'Devices', 'data-testid': 'fleet-table', class: 'fleet' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, pageBox), heads)),
      h('tbody', {}, rows.length ? rows : emptyRow(COLUMNS.length + 1, 'No device matches.')),
    ),
  );
  return {
    element,
    /** The ICCIDs ticked. */
    selected: () => boxes.filter((b) => b.checked).map((b) => b.value),
    /** @param {boolean} yes */
    selectPage(yes) {
      for (const box of boxes) box.checked = yes;
      pageBox.checked = yes;
    },
    /** @param {() => void} handler */
    onSelect(handler) {
      onSelect = handler;
    },
  };
}
