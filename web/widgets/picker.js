// A searchable picker: a <select> with a type-to-filter box before it, for long catalogue lists
// (products, plans). Typing hides the options that do not match; when one option is left it is
// chosen (a `change` event, as if picked); ArrowDown or Enter moves to the list.
import { h } from '../lib/dom.js';

/**
 * @param {HTMLSelectElement} select a select whose first option (value '') is the "choose" option
 * @param {string} label what the list holds ("products"): the filter box is labelled "Filter products"
 */
export function searchable(select, label) {
  const filter = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'search',
      class: 'picker-filter',
      placeholder: `Type to filter ${label}…`,
      'aria-label': `Filter ${label}`,
      autocomplete: 'off',
    })
  );
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    const options = [...select.options].filter((o) => o.value !== '');
    for (const o of options) o.hidden = q !== '' && !(o.textContent ?? '').toLowerCase().includes(q);
    const [only, ...more] = options.filter((o) => !o.hidden);
    if (only && more.length === 0 && select.value !== only.value) {
      select.value = only.value;
      select.dispatchEvent(new Event('change'));
    }
  });
  filter.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'Enter') {
      e.preventDefault();
      select.focus();
    }
  });
  return h('div', { class: 'picker' }, filter, select);
}
