// A customer <select> with a type-to-filter box above it (a tenant may have thousands of customers).
import { h, replace } from '../lib/dom.js';

/** @typedef {import('../lib/types.js').Customer} Customer */

/** "Acme Fleet — Rev 1042", "Blue Ridge — AMOP (inactive)". @param {Customer} c */
export const customerLabel = (c) =>
  `${c.name} — ${c.kind === 'rev' ? `Rev ${c.revCustomerId ?? ''}`.trim() : 'AMOP'}${c.active ? '' : ' (inactive)'}`;

/**
 * Inactive customers are listed but cannot be chosen. When the filter leaves one active customer,
 * it is chosen (a `change` event, as if picked). Call `fill()` once the select's listeners are on.
 * @param {Map<number, Customer>} customerMap
 */
export function customerPicker(customerMap) {
  const filter = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'customer-filter',
      type: 'search',
      placeholder: 'Type to filter customers…',
      class: 'wide',
      autocomplete: 'off',
    })
  );
  const select = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'customer', 'aria-label': 'Customer', class: 'wide' })
  );
  const fill = () => {
    const q = filter.value.trim().toLowerCase();
    const chosen = select.value;
    const matches = [...customerMap.values()]
      .filter((c) => !q || customerLabel(c).toLowerCase().includes(q))
      .sort((a, b) => a.name.localeCompare(b.name));
    replace(
      select,
      h('option', {
        value: '',
        text: matches.length ? `Choose a customer… (${matches.length})` : 'No customer matches',
      }),
      matches.map((c) =>
        h('option', {
          value: c.id,
          text: customerLabel(c),
          disabled: !c.active,
          selected: String(c.id) === chosen,
        }),
      ),
    );
    const only = matches.length === 1 ? matches[0] : undefined;
    if (only && only.active && select.value !== String(only.id)) {
      select.value = String(only.id);
      // As if picked: its sites, and a Rev customer's catalogue.
      select.dispatchEvent(new Event('change'));
    }
  };
  filter.addEventListener('input', fill);
  filter.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'Enter') {
      e.preventDefault();
      select.focus();
    }
  });
  return { filter, select, fill };
}
