// Sign in (or, on a database with no tenant yet, the first-run screen).
import { ApiError, api, errorText, setMe } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { navigate } from '../lib/router.js';
import { setupScreen } from './setup.js';

/** @param {import('../lib/router.js').View} view */
export async function loginScreen(view) {
  // A database with no tenant yet (demo data off): the first-run screen instead.
  const setup = await api('GET', '/setup', undefined, { noRedirect: true }).catch(() => ({ needed: false }));
  if (setup.needed) return setupScreen(view);
  const email = /** @type {HTMLInputElement} */ (
    h('input', { id: 'email', type: 'email', name: 'email', autocomplete: 'username', required: true })
  );
  const password = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'password',
      type: 'password',
      name: 'password',
      autocomplete: 'current-password',
      required: true,
    })
  );
  const error = h('div', { class: 'banner error', role: 'alert', hidden: true });
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', text: 'Sign in' })
  );

  const form = h(
    'form',
    {
      class: 'panel',
      novalidate: true,
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault();
        error.hidden = true;
        const body = { email: email.value.trim(), password: password.value };
        if (!body.email || !body.password) {
          error.textContent = 'Enter your e-mail and password.';
          error.hidden = false;
          return;
        }
        button.disabled = true;
        try {
          setMe((await api('POST', '/auth/login', body, { noRedirect: true })).user);
          const next = new URLSearchParams(location.search).get('next');
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) error.textContent = 'Wrong e-mail or password.';
          else if (e instanceof ApiError && e.status === 429)
            error.textContent = `Too many sign-in attempts. Try again ${e.retryAfter ? `in ${e.retryAfter} s` : 'later'}.`;
          else error.textContent = errorText(e);
          error.hidden = false;
          password.select();
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h1', { text: 'simbind' }),
    h('p', { class: 'muted', text: 'Sign in to assign devices to customers.' }),
    error,
    h('div', { class: 'field' }, h('label', { for: 'email', text: 'E-mail' }), email),
    h('div', { class: 'field' }, h('label', { for: 'password', text: 'Password' }), password),
    button,
  );
  if (view.show(h('div', { class: 'login' }, form))) email.focus();
}
