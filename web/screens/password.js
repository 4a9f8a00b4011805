// Your password: everyone changes their own here (first of all the one-time password an admin gave them).
import { ApiError, api, isSignedOut } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { formErrors, formField, showFailure } from '../lib/forms.js';
import { MIN_PASSWORD_LENGTH } from './setup.js';

/** @param {import('../lib/router.js').View} view */
export function passwordScreen(view) {
  const errors = formErrors();
  const input = (/** @type {string} */ id, /** @type {string} */ autocomplete) =>
    /** @type {HTMLInputElement} */ (h('input', { id, type: 'password', autocomplete, required: true }));
  const current = input('current-password', 'current-password');
  const fresh = input('new-password', 'new-password');
  const confirm = input('new-password-confirm', 'new-password');
  const notice = h('div', { 'aria-live': 'polite' });
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', text: 'Change password' })
  );
  const form = h(
    'form',
    {
      class: 'panel',
      novalidate: true,
      'aria-labelledby': 'password-title',
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault();
        errors.clear();
        replace(notice);
        const local = [];
        if (!current.value) local.push({ path: '/currentPassword', message: 'Enter your current password.' });
        if (fresh.value.length < MIN_PASSWORD_LENGTH)
          local.push({ path: '/newPassword', message: `At least ${MIN_PASSWORD_LENGTH} characters.` });
        else if (confirm.value !== fresh.value)
          local.push({ path: '/confirm', message: 'The two passwords differ.' });
        if (local.length) return errors.show('Some fields need your attention.', local);
        button.disabled = true;
        try {
          await api('POST', '/auth/password', { currentPassword: current.value, newPassword: fresh.value });
          current.value = fresh.value = confirm.value = '';
          replace(
            notice,
            h('div', {
              class: 'banner ok',
              role: 'status',
              text: 'Password changed: your other sessions have ended, this one stays signed in.',
            }),
          );
        } catch (e) {
          if (isSignedOut(e)) return;
          if (e instanceof ApiError && e.status === 422)
            errors.show('The current password is not right.', [
              { path: '/currentPassword', message: e.message },
            ]);
          else showFailure(errors, e);
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h1', { id: 'password-title', text: 'Change password' }),
    errors.banner,
    notice,
    formField(errors, 'currentPassword', 'Current password', current),
    formField(errors, 'newPassword', 'New password', fresh, `At least ${MIN_PASSWORD_LENGTH} characters.`),
    formField(errors, 'confirm', 'New password again', confirm),
    button,
  );
  if (view.show(h('div', { class: 'login' }, form))) current.focus();
}
