// One customer: its sites, and "Add a site" for admins.
import { all, api, customers, forgetCustomers, me } from '../lib/api.js';
import { h, link, replace, say } from '../lib/dom.js';
import { badge } from '../lib/format.js';
import { apiForm, formField, textInput } from '../lib/forms.js';
import { dataTable } from '../widgets/table.js';

/** @type {Record<string, string>} */
export const KIND_NAMES = { amop: 'AMOP', rev: 'Rev.io' };

/** A message for the customer's page (e.g. "Acme added" after the form). */
let customerFlash = '';
/** @param {string} text */
export const flashOnCustomerPage = (text) => void (customerFlash = text);

/** @param {import('../lib/router.js').View} view @param {number} id */
export async function customerScreen(view, id) {
  forgetCustomers();
  const customer = (await customers()).get(id);
  const notice = h('div', { 'aria-live': 'polite' });
  if (customerFlash) say(notice, 'ok', customerFlash);
  customerFlash = '';
  if (!customer) {
    view.show(
      h('h1', { text: 'Customer not found' }),
      h('p', {}, link('/customers', { text: 'Back to customers' })),
    );
    return;
  }
  const tbody = h('tbody');
  const load = async () => {
    const sites = await all(`/customers/${id}/sites`);
    replace(
      tbody,
      sites.map((s) =>
        h(
          'tr',
          { dataset: { id: s.id } },
          h('td', { text: s.name }),
          h('td', { text: s.address ?? '—' }),
          h('td', {}, s.isDefault && h('span', { class: 'badge ok', text: 'default' })),
        ),
      ),
    );
  };
  await load();

  const name = textInput('site-name');
  const address = textInput('site-address', { class: 'wide' });
  const isDefault = /** @type {HTMLInputElement} */ (h('input', { id: 'site-default', type: 'checkbox' }));
  const siteForm = apiForm({
    label: 'Add a site',
    submit: 'Add site',
    fields: (errors) => [
      h(
        'div',
        { class: 'row' },
        formField(errors, 'name', 'Name', name),
        formField(errors, 'address', 'Address', address),
      ),
      h('div', { class: 'field' }, h('label', { class: 'check' }, isDefault, 'Make it the default site')),
      errors.slot('isDefault', isDefault),
    ],
    send: () =>
      api('POST', `/customers/${id}/sites`, {
        name: name.value.trim(),
        ...(address.value.trim() ? { address: address.value.trim() } : {}),
        isDefault: isDefault.checked,
      }),
    done: async (created) => {
      say(notice, 'ok', `Site ${created.name} added${created.isDefault ? ' as the default site' : ''}.`);
      await load();
    },
  });

  view.show(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: customer.name }),
      h('div', { class: 'actions' }, link('/customers', { class: 'button', text: 'All customers' })),
    ),
    notice,
    h(
      'dl',
      { class: 'facts' },
      h('dt', { text: 'Kind' }),
      h('dd', { text: KIND_NAMES[customer.kind] ?? customer.kind }),
      customer.kind === 'rev' && [
        h('dt', { text: 'Rev.io id' }),
        h('dd', { class: 'mono', text: customer.revCustomerId }),
      ],
      h('dt', { text: 'Status' }),
      h('dd', {}, badge(customer.active ? 'ACTIVE' : 'INACTIVE')),
    ),
    h('h2', { class: 'section', text: 'Sites' }),
    dataTable(`Sites of ${customer.name}`, ['Name', 'Address', ''], tbody),
    me?.role === 'admin' && siteForm,
  );
}
