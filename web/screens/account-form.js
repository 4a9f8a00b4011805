// The dialog that adds or edits an integration account (Rev.io, ThingSpace, Jasper).
import { api } from '../lib/api.js';
import { copyText, openDialog } from '../lib/dialog.js';
import { h, replace } from '../lib/dom.js';
import { SYSTEM_NAMES, fmtTime } from '../lib/format.js';
import { formErrors, formField, numberOf, showFailure } from '../lib/forms.js';

/** What each system's account holds (the API's ACCOUNT_FIELDS): settings are shown, secrets never. */
const ACCOUNT_FIELDS = /** @type {Record<string, { settings: string[], secrets: string[] }>} */ ({
  revio: { settings: ['username', 'clientCode'], secrets: ['password', 'subscriptionKey'] },
  thingspace: { settings: ['username', 'accountName'], secrets: ['appKey', 'appSecret', 'password'] },
  jasper: { settings: ['username'], secrets: ['apiKey'] },
});
/** @type {Record<string, string>} */
const ACCOUNT_FIELD_LABELS = {
  username: 'User name',
  clientCode: 'Client code',
  accountName: 'Account name',
  password: 'Password',
  subscriptionKey: 'Subscription key',
  appKey: 'App key',
  appSecret: 'App secret',
  apiKey: 'API key',
};
/** @type {Record<string, string>} */
const DEFAULT_LIMITS = {
  revio: '500 requests a minute',
  thingspace: '10 requests a second',
  jasper: '5 requests a second, one at a time',
};

/** "set on 2026-12-03 14:02:11 by Ada Admin", or "not set". @param {any} account */
const secretsSetText = (account) =>
  account.secrets.setAt
    ? `set on ${fmtTime(account.secrets.setAt)}${account.secrets.setBy ? ` by ${account.secrets.setBy.name}` : ''}`
    : 'not set';

/** @param {string} id @param {Record<string, any>} [attrs] */
const input = (id, attrs = {}) =>
  /** @type {HTMLInputElement} */ (h('input', { id, autocomplete: 'off', ...attrs }));

/**
 * Adds (no `account`) or edits an integration account. Secrets are write-only: an edit shows them
 * empty, and a field left empty keeps what is stored. @param {any | null} account
 * @param {(text: string) => void} done
 */
export function accountForm(account, done) {
  return openDialog(account ? `Edit ${account.name}` : 'Add an account', (close) => {
    const errors = formErrors();
    const kind = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { id: 'account-kind' },
        Object.entries(SYSTEM_NAMES).map(([value, text]) =>
          h('option', { value, text, selected: value === (account?.integration ?? 'revio') }),
        ),
      )
    );
    const name = input('account-name', { value: account?.name ?? '', required: true });
    const baseUrl = input('account-base-url', {
      value: account?.baseUrl ?? '',
      required: true,
      spellcheck: 'false',
      class: 'wide',
    });
    const limitInput = (/** @type {string} */ id, /** @type {string} */ key) =>
      input(id, { type: 'number', min: 1, value: account?.rateLimit?.[key] });
    const limit = {
      requests: limitInput('account-limit-requests', 'requests'),
      windowMs: limitInput('account-limit-window', 'windowMs'),
      concurrency: limitInput('account-limit-concurrency', 'concurrency'),
    };
    /** @type {Map<string, HTMLInputElement>} */ const settings = new Map();
    /** @type {Map<string, HTMLInputElement>} */ const secrets = new Map();
    const kindFields = h('div');
    const limitHint = h('span');
    const baseUrlHint = h('span');

    const drawKind = () => {
      const system = kind.value;
      errors.drop('settings/');
      errors.drop('secrets/');
      settings.clear();
      secrets.clear();
      const fields = ACCOUNT_FIELDS[system] ?? { settings: [], secrets: [] };
      for (const f of fields.settings) {
        settings.set(
          f,
          input(`account-setting-${f}`, { value: account?.settings?.[f] ?? '', spellcheck: 'false' }),
        );
      }
      for (const f of fields.secrets) {
        secrets.set(f, input(`account-secret-${f}`, { type: 'password', autocomplete: 'new-password' }));
      }
      replace(
        kindFields,
        h(
          'fieldset',
          {},
          h('legend', { text: 'Account' }),
          [...settings].map(([f, el]) =>
            formField(errors, `settings/${f}`, ACCOUNT_FIELD_LABELS[f] ?? f, el),
          ),
        ),
        h(
          'fieldset',
          {},
          h('legend', { text: 'Secrets' }),
          h('p', {
            class: 'muted small',
            text: account
              ? `Never shown again once saved; ${secretsSetText(account)}. Leave a field empty to keep what is stored.`
              : 'Never shown again once saved: sealed at rest, shown only as when and by whom they were set.',
          }),
          [...secrets].map(([f, el]) =>
            formField(
              errors,
              `secrets/${f}`,
              ACCOUNT_FIELD_LABELS[f] ?? f,
              el,
              account ? `${secretsSetText(account)}; empty: kept` : undefined,
            ),
          ),
        ),
      );
      limitHint.textContent = `Shared by every worker. All empty: the default, ${DEFAULT_LIMITS[system] ?? 'of the system'}.`;
      baseUrlHint.textContent = `https://…, or simulator://${system} for the built-in simulator.`;
    };
    kind.addEventListener('change', drawKind);
    drawKind();

    const save = /** @type {HTMLButtonElement} */ (
      h('button', { type: 'submit', class: 'primary', text: account ? 'Save' : 'Add account' })
    );
    const body = () => {
      const rl = {
        requests: numberOf(limit.requests),
        windowMs: numberOf(limit.windowMs),
        concurrency: numberOf(limit.concurrency),
      };
      const rateLimit = Object.values(rl).every((v) => v === undefined)
        ? null
        : Object.fromEntries(Object.entries(rl).filter(([, v]) => v !== undefined));
      const given = Object.fromEntries(
        [...secrets].map(([f, el]) => [f, el.value]).filter(([, v]) => v !== ''),
      );
      return {
        ...(account ? {} : { integration: kind.value }),
        name: name.value.trim(),
        baseUrl: baseUrl.value.trim(),
        settings: Object.fromEntries([...settings].map(([f, el]) => [f, el.value.trim()])),
        // An edit sends only the secrets typed: the others stay as stored.
        ...(account && Object.keys(given).length === 0 ? {} : { secrets: given }),
        ...(account || rateLimit ? { rateLimit } : {}),
      };
    };

    return h(
      'form',
      {
        novalidate: true,
        'aria-label': account ? `Edit ${account.name}` : 'Add an account',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          errors.clear();
          save.disabled = true;
          try {
            const saved = account
              ? await api('PATCH', `/integrations/${account.id}`, body())
              : await api('POST', '/integrations', body());
            close();
            done(account ? `${saved.name} saved.` : `${saved.name} added: test its connection.`);
          } catch (error) {
            showFailure(errors, error);
          } finally {
            save.disabled = false;
          }
        },
      },
      errors.banner,
      h(
        'div',
        { class: 'row' },
        account
          ? h(
              'div',
              { class: 'field' },
              h('div', { class: 'label', text: 'System' }),
              h('div', { text: SYSTEM_NAMES[account.integration] }),
            )
          : formField(errors, 'integration', 'System', kind),
        formField(errors, 'name', 'Name', name),
      ),
      formField(errors, 'baseUrl', 'Base URL', baseUrl, baseUrlHint),
      kindFields,
      h(
        'fieldset',
        {},
        h('legend', { text: 'Rate limit' }),
        h(
          'div',
          { class: 'row' },
          formField(errors, 'rateLimit/requests', 'Requests', limit.requests),
          formField(errors, 'rateLimit/windowMs', 'Per (ms)', limit.windowMs),
          formField(errors, 'rateLimit/concurrency', 'At once', limit.concurrency),
        ),
        h('div', { class: 'hint' }, limitHint),
        // A rate-limit problem without a field of its own (e.g. the whole object).
        errors.slot('rateLimit', limit.requests),
      ),
      account?.callbackUrl && callbackField(account.callbackUrl),
      h(
        'div',
        { class: 'form-actions' },
        save,
        h('button', { type: 'button', text: 'Cancel', onclick: close }),
      ),
    );
  });
}

/** A ThingSpace account's callback URL, to copy. @param {string} callbackUrl */
function callbackField(callbackUrl) {
  const url = input('account-callback-url', { value: callbackUrl, readonly: true, class: 'wide mono' });
  return h(
    'div',
    { class: 'field' },
    h('label', { for: url.id, text: 'Callback URL (ThingSpace calls simbind back here)' }),
    h(
      'div',
      { class: 'copy-row' },
      url,
      h('button', {
        type: 'button',
        text: 'Copy URL',
        onclick: (/** @type {Event} */ e) =>
          void copyText(/** @type {HTMLButtonElement} */ (e.currentTarget), url.value),
      }),
    ),
    h('div', {
      class: 'hint',
      text: 'simbind registers it at ThingSpace itself, followed by a secret token of this account that is never shown. Set PUBLIC_URL to the address ThingSpace can reach.',
    }),
  );
}
