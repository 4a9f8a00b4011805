// The dialog that adds a service provider on one of the tenant's carrier accounts.
import { api } from '../lib/api.js';
import { openDialog } from '../lib/dialog.js';
import { h } from '../lib/dom.js';
import { PORTAL_NAMES, SYSTEM_NAMES } from '../lib/format.js';
import { formErrors, formField, showFailure } from '../lib/forms.js';

/** @param {any[]} accounts @param {(text: string) => void} done */
export function providerForm(accounts, done) {
  return openDialog('Add a service provider', (close) => {
    const errors = formErrors();
    const carriers = accounts.filter((a) => a.integration === 'thingspace' || a.integration === 'jasper');
    const name = /** @type {HTMLInputElement} */ (
      h('input', { id: 'provider-name', autocomplete: 'off', required: true })
    );
    const account = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { id: 'provider-account' },
        h('option', {
          value: '',
          text: carriers.length ? 'Choose an account…' : 'No ThingSpace or Jasper account yet',
        }),
        carriers.map((a) => h('option', { value: a.id, text: `${a.name} (${SYSTEM_NAMES[a.integration]})` })),
      )
    );
    const portal = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { id: 'provider-portal' },
        Object.entries(PORTAL_NAMES).map(([value, text]) => h('option', { value, text })),
      )
    );
    const save = /** @type {HTMLButtonElement} */ (
      h('button', { type: 'submit', class: 'primary', text: 'Add service provider' })
    );
    return h(
      'form',
      {
        novalidate: true,
        'aria-label': 'Add a service provider',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          errors.clear();
          if (!account.value)
            return errors.show('Some fields need your attention.', [
              { path: '/credentialsId', message: 'Choose its carrier account.' },
            ]);
          save.disabled = true;
          try {
            const created = await api('POST', '/service-providers', {
              name: name.value.trim(),
              credentialsId: Number(account.value),
              portalType: portal.value,
            });
            close();
            done(`${created.name} added.`);
          } catch (error) {
            showFailure(errors, error);
          } finally {
            save.disabled = false;
          }
        },
      },
      errors.banner,
      formField(errors, 'name', 'Name', name),
      formField(
        errors,
        'credentialsId',
        'Carrier account',
        account,
        'Its ThingSpace or Jasper account: devices are synced from it.',
      ),
      formField(
        errors,
        'portalType',
        'Portal',
        portal,
        'M2M devices are named by ICCID; Mobility and LNP by MSISDN.',
      ),
      h(
        'div',
        { class: 'form-actions' },
        save,
        h('button', { type: 'button', text: 'Cancel', onclick: close }),
      ),
    );
  });
}
