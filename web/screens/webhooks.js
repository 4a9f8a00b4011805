// Webhooks (admins): the tenant's endpoints, test deliveries, their logs and signing secrets.
import { all, api, errorText } from '../lib/api.js';
import { confirmDialog } from '../lib/dialog.js';
import { h, replace, say } from '../lib/dom.js';
import { fmtTime } from '../lib/format.js';
import { emptyRow, table } from '../widgets/table.js';
import { showDeliveryLog } from './webhook-log.js';

/** @param {import('../lib/router.js').View} view */
export async function webhooksScreen(view) {
  const tbody = h('tbody');
  const notice = h('div', { 'aria-live': 'polite' });
  const logPanel = h('section', { class: 'log-panel', 'aria-live': 'polite' });
  /** The secret, once: the banner that shows it. */
  const showSecret = (/** @type {string} */ title, /** @type {string} */ secret) =>
    replace(
      notice,
      h(
        'div',
        { class: 'banner ok', role: 'status' },
        h(
          'div',
          { 'data-testid': 'webhook-secret' },
          h('strong', { text: title }),
          h(
            'div',
            {},
            'Signing secret (shown once; keep it with the receiver to check X-Simbind-Signature): ',
            h('code', { class: 'mono', text: secret }),
          ),
        ),
      ),
    );
  const attempt = async (/** @type {() => Promise<void>} */ action) => {
    try {
      await action();
    } catch (error) {
      say(notice, 'error', errorText(error));
    }
  };

  /** The actions on one endpoint, each with its confirmation where it cannot be taken back. @param {any} e */
  const actions = (e) => {
    const label = e.description || e.url;
    const button = (/** @type {string} */ text, /** @type {() => Promise<void>} */ action) =>
      h('button', {
        type: 'button',
        text,
        'aria-label': `${text}: ${label}`,
        onclick: () => void attempt(action),
      });
    return [
      button('Send test', async () => {
        const d = await api('POST', `/webhooks/${e.id}/test`);
        const answer = [d.statusCode, d.error ?? d.response].filter((x) => x !== null && x !== '');
        say(
          notice,
          d.status === 'delivered' ? 'ok' : 'error',
          `Test ${d.status === 'delivered' ? 'delivered' : 'failed'}: ${answer.join(' · ')}`,
        );
        await showDeliveryLog(logPanel, e);
      }),
      button('Delivery log', () => showDeliveryLog(logPanel, e)),
      button(e.active ? 'Disable' : 'Enable', async () => {
        await api('PATCH', `/webhooks/${e.id}`, { active: !e.active });
        say(notice, 'ok', `${label} ${e.active ? 'disabled: it gets nothing until enabled.' : 'enabled.'}`);
        await load();
      }),
      button('New secret', async () => {
        const yes = await confirmDialog({
          title: 'Replace the signing secret?',
          message: `Replace the signing secret of ${label}? The old one stops at once.`,
          confirm: 'Replace secret',
          danger: true,
        });
        if (!yes) return;
        const { secret } = await api('POST', `/webhooks/${e.id}/secret`);
        showSecret(`New secret for ${label}.`, secret);
        await load();
      }),
      button('Delete', async () => {
        const yes = await confirmDialog({
          title: 'Delete the endpoint?',
          message: `Delete the endpoint ${label}? Its delivery log is kept.`,
          confirm: 'Delete endpoint',
          danger: true,
        });
        if (!yes) return;
        await api('DELETE', `/webhooks/${e.id}`);
        say(notice, 'ok', `${label} deleted.`);
        replace(logPanel);
        await load();
      }),
    ];
  };

  const load = async () => {
    const endpoints = await all('/webhooks');
    replace(
      tbody,
      endpoints.length === 0
        ? emptyRow(5, 'No endpoints yet: add one below.')
        : endpoints.map((e) =>
            h(
              'tr',
              { dataset: { id: e.id } },
              h(
                'td',
                {},
                h('div', { text: e.description || '—' }),
                h('div', { class: 'mono small', text: e.url }),
              ),
              h('td', { class: 'small', text: e.events.join(', ') }),
              h(
                'td',
                {},
                h('span', {
                  class: `badge ${e.active ? 'ok' : ''}`,
                  text: e.active ? 'enabled' : 'disabled',
                }),
              ),
              h('td', {
                class: 'small',
                text: `set ${fmtTime(e.secret.setAt)}${e.secret.setBy ? ` by ${e.secret.setBy.name}` : ''}`,
              }),
              h('td', { class: 'cell-actions' }, actions(e)),
            ),
          ),
    );
  };

  const url = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'new-webhook-url',
      type: 'url',
      required: true,
      placeholder: 'https://erp.example.com/simbind',
      autocomplete: 'off',
    })
  );
  const description = /** @type {HTMLInputElement} */ (
    h('input', { id: 'new-webhook-description', maxlength: '200', autocomplete: 'off' })
  );
  const form = h(
    'form',
    {
      class: 'panel',
      'aria-label': 'Add an endpoint',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        void attempt(async () => {
          const created = await api('POST', '/webhooks', { url: url.value, description: description.value });
          showSecret(`${created.endpoint.url} added.`, created.secret);
          url.value = description.value = '';
          await load();
        });
      },
    },
    h('h2', { text: 'Add an endpoint' }),
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field grow' }, h('label', { for: 'new-webhook-url', text: 'URL' }), url),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'new-webhook-description', text: 'Description' }),
        description,
      ),
    ),
    h('p', {
      class: 'muted small',
      text: 'Receives bulk_change.completed when a bulk change finishes. Private and loopback addresses are refused unless WEBHOOK_ALLOW_ADDRESSES allows them.',
    }),
    h('button', { type: 'submit', class: 'primary', text: 'Add' }),
  );

  await load();
  view.show(
    h('div', { class: 'page-head' }, h('h1', { text: 'Webhooks' })),
    notice,
    table({ label: 'Webhook endpoints', heads: ['Endpoint', 'Events', 'Status', 'Secret', ''], body: tbody }),
    logPanel,
    form,
  );
}
