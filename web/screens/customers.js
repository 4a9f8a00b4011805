// Customers: the list with search, "Add a customer" (admins), and the rate plans and pools.
import { api, customers, forgetCustomers, me } from '../lib/api.js';
import { h, link, replace } from '../lib/dom.js';
import { badge, fmtNum } from '../lib/format.js';
import { apiForm, formField, textInput } from '../lib/forms.js';
import { navigate } from '../lib/router.js';
import { dataTable, emptyRow } from '../widgets/table.js';
import { KIND_NAMES, flashOnCustomerPage } from './customer.js';
import { plansSection } from './plans.js';

/** Rows the customer list draws at once: the search narrows a larger list. */
const CUSTOMERS_SHOWN = 300;

/** @param {import('../lib/router.js').View} view */
export async function customersScreen(view) {
  // Read afresh (and for the assignment form too): customers come from the API, syncs and imports.
  forgetCustomers();
  const admin = me?.role === 'admin';
  const [customerMap, revAccounts] = await Promise.all([
    customers(),
    admin
      ? api('GET', '/integrations').then((r) =>
          r.items.filter((/** @type {any} */ a) => a.integration === 'revio'),
        )
      : [],
  ]);
  const list = [...customerMap.values()].sort((a, b) => a.name.localeCompare(b.name));
  const notice = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody');
  const shown = h('div', { class: 'muted small', 'aria-live': 'polite', 'data-testid': 'customer-count' });
  const search = textInput('customer-search', {
    type: 'search',
    placeholder: 'Name or Rev.io id',
    'aria-label': 'Search customers by name or Rev.io id',
  });
  const kind = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'customer-kind', 'aria-label': 'Kind' },
      h('option', { value: '', text: 'All kinds' }),
      Object.entries(KIND_NAMES).map(([value, text]) => h('option', { value, text })),
    )
  );
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const matches = list.filter(
      (c) =>
        (!kind.value || c.kind === kind.value) &&
        (!q || c.name.toLowerCase().includes(q) || String(c.revCustomerId ?? '') === q),
    );
    shown.textContent =
      matches.length > CUSTOMERS_SHOWN
        ? `${fmtNum(matches.length)} customers: the first ${CUSTOMERS_SHOWN} are shown, search to narrow.`
        : `${fmtNum(matches.length)} customer${matches.length === 1 ? '' : 's'}`;
    replace(
      tbody,
      matches.length === 0
        ? emptyRow(4, 'No customer matches.')
        : matches
            .slice(0, CUSTOMERS_SHOWN)
            .map((c) =>
              h(
                'tr',
                { dataset: { id: c.id } },
                h('td', {}, link(`/customers/${c.id}`, { text: c.name })),
                h('td', { text: KIND_NAMES[c.kind] ?? c.kind }),
                h('td', { class: 'mono', text: c.revCustomerId ?? '—' }),
                h('td', {}, badge(c.active ? 'ACTIVE' : 'INACTIVE')),
              ),
            ),
    );
  };
  search.addEventListener('input', draw);
  kind.addEventListener('change', draw);
  draw();

  const plans = await plansSection(admin);
  view.show(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'Customers' }),
      admin && h('div', { class: 'actions' }, link('/import', { class: 'button', text: 'Import from CSV' })),
    ),
    notice,
    h('div', { class: 'toolbar' }, search, kind, h('div', { class: 'right' }, shown)),
    dataTable('Customers', ['Name', 'Kind', 'Rev.io id', 'Status'], tbody),
    admin && customerForm(revAccounts),
    plans,
  );
}

/** Add a customer: AMOP, or Rev.io with its Rev.io account and id. @param {any[]} revAccounts */
function customerForm(revAccounts) {
  const name = textInput('customer-name', { required: true });
  const kind = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'customer-kind-new' },
      h('option', { value: 'amop', text: 'AMOP (not billed in Rev.io)' }),
      h('option', { value: 'rev', text: 'Rev.io customer' }),
    )
  );
  const account = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'customer-rev-account' },
      h('option', {
        value: '',
        text: revAccounts.length ? 'Choose a Rev.io account…' : 'No Rev.io account yet',
      }),
      revAccounts.map((a) => h('option', { value: a.id, text: a.name, selected: revAccounts.length === 1 })),
    )
  );
  const revId = textInput('customer-rev-id', { inputmode: 'numeric' });
  const siteName = textInput('customer-site-name', { placeholder: 'Headquarters' });
  const siteAddress = textInput('customer-site-address', { class: 'wide' });
  const revFields = h('div', { class: 'row', hidden: true });
  kind.addEventListener('change', () => (revFields.hidden = kind.value !== 'rev'));
  return apiForm({
    label: 'Add a customer',
    submit: 'Add customer',
    fields: (errors) => {
      revFields.append(
        formField(errors, 'revCredentialsId', 'Rev.io account', account),
        formField(errors, 'revCustomerId', 'Rev.io customer id', revId, 'Checked in that Rev.io account.'),
      );
      return [
        h(
          'div',
          { class: 'row' },
          formField(errors, 'name', 'Name', name),
          formField(errors, 'kind', 'Kind', kind),
        ),
        revFields,
        h(
          'div',
          { class: 'row' },
          formField(errors, 'site/name', 'Default site', siteName, 'Empty: "Headquarters".'),
          formField(errors, 'site/address', 'Its address', siteAddress),
        ),
      ];
    },
    send: () => {
      const problems = [];
      if (!name.value.trim()) problems.push({ path: '/name', message: 'Enter its name.' });
      const rev = kind.value === 'rev';
      if (rev && !account.value)
        problems.push({ path: '/revCredentialsId', message: 'Choose its Rev.io account.' });
      if (rev && !/^\d+$/.test(revId.value.trim()))
        problems.push({ path: '/revCustomerId', message: 'Enter its id in Rev.io (a whole number).' });
      if (problems.length) return problems;
      const site =
        siteName.value.trim() || siteAddress.value.trim() ? siteName.value.trim() || 'Headquarters' : '';
      const address = siteAddress.value.trim();
      return api('POST', '/customers', {
        name: name.value.trim(),
        kind: kind.value,
        ...(rev
          ? { revCredentialsId: Number(account.value), revCustomerId: Number(revId.value.trim()) }
          : {}),
        ...(site ? { site: { name: site, ...(address ? { address } : {}) } } : {}),
      });
    },
    done: (created) => {
      forgetCustomers();
      flashOnCustomerPage(`${created.name} added, with its default site.`);
      navigate(`/customers/${created.id}`);
    },
  });
}
