// The first-run screen: a database with no tenant (demo data off) is set up here or with `simbind init`.
import { ApiError, api, errorText, setMe } from '../lib/api.js';
import { h, link, replace } from '../lib/dom.js';
import { formErrors, formField } from '../lib/forms.js';
import { navigate } from '../lib/router.js';

/** The server's password rule (users.service.ts), checked here first for a clearer message. */
export const MIN_PASSWORD_LENGTH = 12;

/** @param {import('../lib/router.js').View} view */
export function setupScreen(view) {
  const errors = formErrors();
  const input = (/** @type {string} */ id, /** @type {Record<string, any>} */ attrs = {}) =>
    /** @type {HTMLInputElement} */ (h('input', { id, required: true, ...attrs }));
  const code = input('setup-code', { autocomplete: 'off', spellcheck: 'false', class: 'mono' });
  const tenant = input('setup-tenant', { autocomplete: 'organization' });
  const email = input('setup-email', { type: 'email', autocomplete: 'username' });
  const name = input('setup-name', { autocomplete: 'name', required: false });
  const password = input('setup-password', { type: 'password', autocomplete: 'new-password' });
  const confirm = input('setup-confirm', { type: 'password', autocomplete: 'new-password' });
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', text: 'Set up simbind' })
  );

  /** What the server would refuse anyway, said field by field. */
  const localErrors = () => {
    const local = [];
    if (!code.value.trim())
      local.push({ path: '/setupCode', message: "Type the code from simbind's terminal." });
    if (!tenant.value.trim()) local.push({ path: '/tenantName', message: 'Name your organisation.' });
    if (!email.value.trim()) local.push({ path: '/adminEmail', message: 'Enter your e-mail.' });
    if (password.value.length < MIN_PASSWORD_LENGTH)
      local.push({ path: '/password', message: `At least ${MIN_PASSWORD_LENGTH} characters.` });
    else if (confirm.value !== password.value)
      local.push({ path: '/confirm', message: 'The two passwords differ.' });
    return local;
  };

  /** @param {unknown} e */
  const refused = (e) => {
    if (e instanceof ApiError && e.status === 409) {
      replace(errors.banner, h('strong', { text: e.message }), ' ', link('/login', { text: 'Sign in' }));
      errors.banner.hidden = false;
    } else if (e instanceof ApiError && e.status === 403)
      errors.show('The setup code is not right.', [{ path: '/setupCode', message: e.message }]);
    else if (e instanceof ApiError && e.status === 429)
      errors.show(`Too many wrong codes. Try again ${e.retryAfter ? `in ${e.retryAfter} s` : 'later'}.`, []);
    else errors.show(errorText(e), e instanceof ApiError ? e.details : []);
  };

  const form = h(
    'form',
    {
      class: 'panel',
      novalidate: true,
      'aria-labelledby': 'setup-title',
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault();
        errors.clear();
        const local = localErrors();
        if (local.length) return errors.show('Some fields need your attention.', local);
        button.disabled = true;
        try {
          const body = {
            setupCode: code.value.trim(),
            tenantName: tenant.value.trim(),
            adminEmail: email.value.trim(),
            ...(name.value.trim() ? { adminName: name.value.trim() } : {}),
            password: password.value,
          };
          setMe((await api('POST', '/setup', body, { noRedirect: true })).user);
          navigate('/integrations', true);
        } catch (e) {
          refused(e);
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h1', { id: 'setup-title', text: 'Set up simbind' }),
    h('p', {
      class: 'muted',
      text: 'No organisation exists yet. Create yours and its first administrator: you. (On the server, `npx simbind init` does the same.)',
    }),
    errors.banner,
    formField(
      errors,
      'setupCode',
      'Setup code',
      code,
      "Printed on simbind's terminal when it started (a new one at each start): only whoever runs the server can set it up.",
    ),
    formField(errors, 'tenantName', 'Organisation', tenant, 'e.g. Acme IoT'),
    formField(errors, 'adminEmail', 'Your e-mail', email),
    formField(errors, 'adminName', 'Your name', name),
    formField(errors, 'password', 'Password', password, `At least ${MIN_PASSWORD_LENGTH} characters.`),
    formField(errors, 'confirm', 'Password again', confirm),
    button,
  );
  if (view.show(h('div', { class: 'login setup' }, form))) code.focus();
}
