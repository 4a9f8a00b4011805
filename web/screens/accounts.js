// Accounts (admins): the tenant's Rev.io, ThingSpace and Jasper accounts (test, edit, sync), its
// service providers, and the sync runs.
import { api, errorText, forgetProviders, providers } from '../lib/api.js';
import { h, replace, say } from '../lib/dom.js';
import { PORTAL_NAMES, SYSTEM_NAMES, fmtTime } from '../lib/format.js';
import { navigate } from '../lib/router.js';
import { emptyRow, table } from '../widgets/table.js';
import { accountForm } from './account-form.js';
import { syncRuns } from './accounts-sync.js';
import { providerForm } from './provider-form.js';

/** Said once on the Accounts screen after a dialog saved (the screen is drawn afresh). */
let accountsFlash = '';

/** @param {import('../lib/router.js').View} view */
export async function accountsScreen(view) {
  // Read afresh (and for the other screens too): providers are added here or through the API.
  forgetProviders();
  const [{ items }, providerMap] = await Promise.all([api('GET', '/integrations'), providers()]);
  /** @type {Map<number, any>} */
  const accountMap = new Map(items.map((/** @type {any} */ a) => [a.id, a]));
  const notice = h('div', { 'aria-live': 'polite' });
  if (accountsFlash) say(notice, 'ok', accountsFlash);
  accountsFlash = '';
  /** After a dialog saved: the screen again, saying what changed. */
  const saved = (/** @type {string} */ text) => {
    accountsFlash = text;
    navigate('/integrations', true);
  };

  const runs = syncRuns({
    view,
    notice,
    targetOf: (run) =>
      run.kind === 'devices'
        ? (providerMap.get(run.serviceProviderId)?.name ?? `Provider #${run.serviceProviderId}`)
        : (accountMap.get(run.credentialsId)?.name ?? `Account #${run.credentialsId}`),
  });

  const rows = items.map((/** @type {any} */ a) => {
    const result = h('td', { 'aria-live': 'polite', 'data-testid': `test-result-${a.id}` });
    return h(
      'tr',
      { dataset: { id: a.id } },
      h('td', { text: a.name }),
      h('td', { text: SYSTEM_NAMES[a.integration] ?? a.integration }),
      h('td', { class: 'mono small', text: a.baseUrl }),
      h('td', {
        class: 'small',
        text: a.secrets.setAt
          ? `${a.secrets.fields.join(', ')}: set ${fmtTime(a.secrets.setAt)}${a.secrets.setBy ? ` by ${a.secrets.setBy.name}` : ''}`
          : 'not set',
      }),
      h(
        'td',
        {},
        h(
          'div',
          { class: 'cell-actions' },
          h('button', {
            type: 'button',
            text: 'Test connection',
            'aria-label': `Test connection of ${a.name}`,
            onclick: (/** @type {Event} */ e) =>
              void testConnection(/** @type {HTMLButtonElement} */ (e.currentTarget), a, result),
          }),
          // Rev.io accounts hold the customers; the carriers' devices are synced per service provider below.
          a.integration === 'revio' && runs.button('Sync customers', a.name, `/integrations/${a.id}/sync`),
          h('button', {
            type: 'button',
            text: 'Edit',
            'aria-label': `Edit ${a.name}`,
            onclick: () => accountForm(a, saved),
          }),
        ),
      ),
      result,
    );
  });

  const providerRows = [...providerMap.values()].map((p) =>
    h(
      'tr',
      { dataset: { id: p.id } },
      h('td', { text: p.name }),
      h('td', { text: SYSTEM_NAMES[p.integration] ?? p.integration }),
      h('td', { text: PORTAL_NAMES[p.portalType] ?? p.portalType }),
      h(
        'td',
        {},
        !p.hasCarrierAccount
          ? h('span', { class: 'muted small', text: 'No carrier account: import its devices from CSV' })
          : runs.button('Sync devices', p.name, `/service-providers/${p.id}/sync`),
      ),
    ),
  );

  const open = await runs.load();
  view.show(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'Accounts' }),
      h('button', {
        type: 'button',
        class: 'primary',
        text: 'Add an account',
        onclick: () => accountForm(null, saved),
      }),
    ),
    h('p', {
      class: 'muted',
      text: 'Your Rev.io, ThingSpace and Jasper accounts. Secrets are write-only: never shown again once set, only when and by whom.',
    }),
    notice,
    table({
      label: 'Accounts',
      heads: ['Name', 'System', 'Base URL', 'Secrets', '', 'Result'],
      body: h('tbody', {}, rows.length ? rows : emptyRow(6, 'No accounts yet: add one above.')),
    }),
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'providers-title' },
      h(
        'div',
        { class: 'page-head' },
        h('h2', { id: 'providers-title', text: 'Service providers' }),
        h('button', {
          type: 'button',
          text: 'Add a service provider',
          onclick: () => providerForm(items, saved),
        }),
      ),
      h('p', {
        class: 'muted small',
        text: "Sync devices reads the provider's devices from its carrier account: Jasper the devices changed since the last sync (a year back the first time), ThingSpace the whole account.",
      }),
      table({
        labelledBy: 'providers-title',
        heads: ['Name', 'Carrier', 'Portal', ''],
        body: h('tbody', {}, providerRows.length ? providerRows : emptyRow(4, 'No service providers yet.')),
      }),
    ),
    runs.section,
  );
  if (open) runs.watch();
}

/**
 * Tests an account's connection and says how it went in its row.
 * @param {HTMLButtonElement} button @param {any} account @param {HTMLElement} result
 */
async function testConnection(button, account, result) {
  button.disabled = true;
  replace(result, h('span', { class: 'muted', text: 'Testing…' }));
  try {
    const t = await api('POST', `/integrations/${account.id}/test`);
    replace(
      result,
      h(
        'div',
        { class: `banner ${t.ok ? 'ok' : 'error'}` },
        h('strong', { text: t.ok ? 'Connected' : 'Failed' }),
        h('div', {
          class: 'small',
          text: `${t.check}${t.status ? ` → ${t.status}` : ''} in ${t.durationMs} ms: ${t.message}`,
        }),
      ),
    );
  } catch (error) {
    replace(result, h('div', { class: 'banner error', text: errorText(error) }));
  } finally {
    button.disabled = false;
  }
}
