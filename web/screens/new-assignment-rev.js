// New assignment, the "Create Rev.io service" option: service type, package, provider, usage plan
// group and products, chosen from the Rev customer's catalogue (or typed as ids when it cannot be read).
import { api, me } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { fmtTime } from '../lib/format.js';
import { numberIn } from '../lib/forms.js';
import { searchable } from '../widgets/picker.js';

/** [element id, label, catalogue list, error key, optional] */
const REV_FIELDS = /** @type {[string, string, string, string, boolean][]} */ ([
  ['service-type', 'Service type', 'serviceTypes', 'revService/serviceTypeId', false],
  ['package-id', 'Package', 'packages', 'revService/packageId', true],
  ['provider-id', 'Provider', 'providers', 'revService/providerId', true],
  ['usage-plan-group-id', 'Usage plan group', 'usagePlanGroups', 'revService/usagePlanGroupId', true],
]);

/**
 * @param {{ customer: HTMLSelectElement, customerMap: Map<number, import('../lib/types.js').Customer>,
 *   errors: import('../lib/forms.js').FormErrors }} spec
 */
export function revOption({ customer, customerMap, errors }) {
  // The choices come from the cached catalogue of the customer's Rev.io account (GET
  // /customers/:id/rev-catalogue); when it cannot be read, the ids are typed, with a warning.
  /** @type {any} the catalogue of the chosen Rev customer, or null: typed ids */
  let catalogue = null;

  const control = (
    /** @type {string} */ id,
    /** @type {string} */ label,
    /** @type {string} */ list,
    /** @type {boolean} */ optional,
  ) =>
    catalogue
      ? h(
          'select',
          { id },
          h('option', { value: '', text: optional ? 'None' : `Choose a ${label.toLowerCase()}…` }),
          catalogue[list].map((/** @type {any} */ item) =>
            h('option', { value: item.id, text: `${item.name} · ${item.id}` }),
          ),
        )
      : h('input', {
          id,
          type: 'number',
          min: 1,
          step: 1,
          style: 'width:140px',
          'aria-label': `${label} id`,
        });
  const fields = h('div', { class: 'row' });
  const drawFields = () =>
    replace(
      fields,
      REV_FIELDS.map(([id, label, list, key, optional]) => {
        const el = control(id, label, list, optional);
        errors.drop(key);
        return h(
          'div',
          { class: 'field' },
          h('label', { for: id, text: catalogue ? label : `${label} id` }),
          catalogue && el instanceof HTMLSelectElement ? searchable(el, `${label.toLowerCase()}s`) : el,
          id === 'package-id' && h('div', { class: 'hint', text: 'or products below' }),
          errors.slot(key, el),
        );
      }),
    );
  /** The value of a Rev.io field, select or typed id. @param {string} id */
  const valueOf = (id) =>
    /** @type {HTMLInputElement | null} */ (fields.querySelector(`#${id}`))?.value ?? '';

  const productRows = h('div', { class: 'products' });
  const addProduct = () => {
    const rate = /** @type {HTMLInputElement} */ (
      h('input', {
        type: 'number',
        min: 0,
        step: '0.01',
        placeholder: 'Rate',
        'aria-label': 'Rate',
        class: 'product-rate',
        style: 'width:120px',
      })
    );
    const product = /** @type {HTMLSelectElement | HTMLInputElement} */ (
      catalogue
        ? h(
            'select',
            { class: 'product-id', 'aria-label': 'Product' },
            h('option', { value: '', text: 'Choose a product…' }),
            catalogue.products.map((/** @type {any} */ p) =>
              h('option', {
                value: p.id,
                text: `${p.name} · ${p.id}${p.rate === null ? '' : ` (default rate ${p.rate})`}`,
              }),
            ),
          )
        : h('input', {
            type: 'number',
            min: 1,
            step: 1,
            placeholder: 'Product id',
            'aria-label': 'Product id',
            class: 'product-id',
            style: 'width:140px',
          })
    );
    // Choosing a product fills in its default rate, which stays editable.
    product.addEventListener('change', () => {
      const chosen = catalogue?.products.find((/** @type {any} */ p) => String(p.id) === product.value);
      if (chosen && chosen.rate !== null) rate.value = String(chosen.rate);
    });
    const row = h(
      'div',
      { class: 'row product', style: 'margin-bottom:8px' },
      product instanceof HTMLSelectElement ? searchable(product, 'products') : product,
      rate,
      h('button', {
        type: 'button',
        text: 'Remove',
        'aria-label': 'Remove product',
        onclick: () => row.remove(),
      }),
    );
    productRows.append(row);
  };
  const draw = () => {
    drawFields();
    replace(productRows);
    addProduct();
  };
  draw();

  const source = h('div', { class: 'hint', 'data-testid': 'rev-catalogue', hidden: true });
  const warning = h('div', { class: 'banner warn', role: 'status', hidden: true });
  /** Loads the chosen Rev customer's catalogue (first reading its account again, for `refresh`). */
  const load = async (refresh = false) => {
    const id = customer.value;
    const chosen = customerMap.get(Number(id));
    source.hidden = true;
    warning.hidden = true;
    if (!chosen || chosen.kind !== 'rev') {
      catalogue = null;
      draw();
      return;
    }
    // A failed refresh leaves the cached catalogue as it was: still offered, with the reason.
    let refreshError = null;
    if (refresh && catalogue) {
      try {
        await api('POST', `/integrations/${catalogue.account.id}/catalogue/refresh`);
      } catch (error) {
        refreshError = /** @type {Error} */ (error).message;
      }
    }
    try {
      const read = await api('GET', `/customers/${id}/rev-catalogue`);
      if (customer.value !== id) return;
      catalogue = read;
      replace(
        source,
        `Catalogue of ${read.account.name} as of ${fmtTime(read.fetchedAt)}`,
        me?.role === 'admin' &&
          h('a', {
            href: '#',
            id: 'rev-catalogue-refresh',
            text: 'Refresh',
            style: 'margin-left:8px',
            onclick: (/** @type {Event} */ e) => {
              e.preventDefault();
              void load(true);
            },
          }),
      );
      source.hidden = false;
      const problem = refreshError ?? read.refreshError;
      if (problem) {
        replace(warning, `Could not read the account again just now: ${problem}`);
        warning.hidden = false;
      }
    } catch (error) {
      if (customer.value !== id) return;
      catalogue = null;
      replace(
        warning,
        `The Rev.io catalogue cannot be read (${/** @type {Error} */ (error).message}). Type the ids instead.`,
      );
      warning.hidden = false;
    }
    draw();
  };

  const hint = h('div', { class: 'hint', text: 'A Rev.io service needs a Rev customer.', hidden: true });
  const sub = h(
    'div',
    { class: 'sub', hidden: true },
    source,
    warning,
    fields,
    hint,
    errors.slot('revService', fields),
    h('label', { text: 'Products', style: 'margin-top:12px' }),
    productRows,
    errors.slot('revService/products', productRows),
    h('button', { type: 'button', text: 'Add product', onclick: () => addProduct() }),
  );

  /** The request's `revService`. */
  const value = () => {
    const products = [...productRows.querySelectorAll('.product')]
      .map((row) => ({
        productId: numberIn(/** @type {HTMLInputElement} */ (row.querySelector('.product-id')).value),
        rate: numberIn(/** @type {HTMLInputElement} */ (row.querySelector('.product-rate')).value),
      }))
      .filter((p) => p.productId !== undefined || p.rate !== undefined);
    return {
      serviceTypeId: numberIn(valueOf('service-type')),
      packageId: numberIn(valueOf('package-id')),
      providerId: numberIn(valueOf('provider-id')),
      usagePlanGroupId: numberIn(valueOf('usage-plan-group-id')),
      products: products.length ? products : undefined,
    };
  };
  /** Says a Rev.io service needs a Rev customer, once sites of another kind are loaded. @param {boolean} shown */
  const needsRevCustomer = (shown) => void (hint.hidden = !shown);
  return { sub, load, value, needsRevCustomer };
}
