// People (admins): who may sign in, their role and customers; add, disable, enable.
import { all, api, customers, errorText, me } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { badge } from '../lib/format.js';
import { table } from '../widgets/table.js';

/** @param {import('../lib/router.js').View} view */
export async function usersScreen(view) {
  const customerMap = await customers();
  const tbody = h('tbody');
  const notice = h('div', { 'aria-live': 'polite' });

  const load = async () => {
    const users = await all('/users');
    replace(
      tbody,
      users.map((u) =>
        h(
          'tr',
          { dataset: { email: u.email } },
          h('td', { text: u.name }),
          h('td', { class: 'mono', text: u.email }),
          h('td', { text: u.role }),
          h('td', {
            text:
              u.customerIds === null
                ? 'all customers'
                : u.customerIds
                    .map((/** @type {number} */ id) => customerMap.get(id)?.name ?? `#${id}`)
                    .join(', ') || 'none',
          }),
          h('td', {}, badge(u.active ? 'ACTIVE' : 'DISABLED')),
          h(
            'td',
            {},
            u.id !== me?.id &&
              h('button', {
                type: 'button',
                text: u.active ? 'Disable' : 'Enable',
                'aria-label': `${u.active ? 'Disable' : 'Enable'} ${u.email}`,
                onclick: async () => {
                  await api('PATCH', `/users/${u.id}`, { active: !u.active });
                  replace(
                    notice,
                    h('div', {
                      class: 'banner ok',
                      role: 'status',
                      text: `${u.email} ${u.active ? 'disabled: its sessions and API tokens stopped.' : 'enabled.'}`,
                    }),
                  );
                  await load();
                },
              }),
          ),
        ),
      ),
    );
  };

  const email = /** @type {HTMLInputElement} */ (
    h('input', { id: 'new-user-email', type: 'email', required: true, autocomplete: 'off' })
  );
  const name = /** @type {HTMLInputElement} */ (
    h('input', { id: 'new-user-name', required: true, autocomplete: 'off' })
  );
  const role = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'new-user-role' },
      ...['operator', 'viewer', 'admin'].map((r) => h('option', { value: r, text: r })),
    )
  );
  const form = h(
    'form',
    {
      class: 'panel',
      'aria-label': 'Add a person',
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        try {
          const created = await api('POST', '/users', {
            email: email.value,
            name: name.value,
            role: role.value,
          });
          replace(
            notice,
            h(
              'div',
              { class: 'banner ok', role: 'status', 'data-testid': 'one-time-password' },
              h('strong', { text: `${created.user.email} added.` }),
              h(
                'div',
                {},
                'One-time password (shown once; they change it after signing in): ',
                h('code', { class: 'mono', text: created.initialPassword }),
              ),
            ),
          );
          email.value = name.value = '';
          await load();
        } catch (error) {
          replace(notice, h('div', { class: 'banner error', role: 'alert', text: errorText(error) }));
        }
      },
    },
    h('h2', { text: 'Add a person' }),
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'new-user-email', text: 'E-mail' }), email),
      h('div', { class: 'field' }, h('label', { for: 'new-user-name', text: 'Name' }), name),
      h('div', { class: 'field' }, h('label', { for: 'new-user-role', text: 'Role' }), role),
    ),
    h('button', { type: 'submit', class: 'primary', text: 'Add' }),
  );

  await load();
  view.show(
    h('div', { class: 'page-head' }, h('h1', { text: 'People' })),
    notice,
    table({ label: 'People', heads: ['Name', 'E-mail', 'Role', 'Customers', 'Status', ''], body: tbody }),
    form,
  );
}
