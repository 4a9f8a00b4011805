// Forms: labelled fields with error slots filled from the API's `error.details`, and a form that
// posts to the API.
import { ApiError, errorText, isSignedOut } from './api.js';
import { h, replace } from './dom.js';

/** @typedef {import('./types.js').ErrorDetail} ErrorDetail */
/** @typedef {ReturnType<typeof formErrors>} FormErrors */

let formIds = 0;

/**
 * Field errors of one form: a slot under each field, filled from an API 400's `error.details` (the
 * deepest path with a slot: '/secrets/apiKey' goes under the API key, '/revService/packageId' under
 * the package, not the Rev.io section), the rest in the banner.
 */
export function formErrors() {
  const prefix = `f${++formIds}`;
  /** @type {Map<string, HTMLElement>} */
  const slots = new Map();
  /** @type {Map<HTMLElement, Element>} slot → the control it describes */
  const controls = new Map();
  const banner = h('div', { class: 'banner error', role: 'alert', hidden: true });
  return {
    banner,
    /** @param {string} key a JSON pointer without its leading '/' @param {Element} control */
    slot(key, control) {
      const el = h('div', {
        class: 'field-error',
        role: 'alert',
        hidden: true,
        id: `${prefix}-err-${key.replace(/[^\w-]/g, '-')}`,
        dataset: { errorFor: key },
      });
      slots.set(key, el);
      controls.set(el, control);
      return el;
    },
    /** Forgets the slots under a prefix (fields redrawn). @param {string} under */
    drop(under) {
      for (const [key, el] of [...slots]) {
        if (!key.startsWith(under)) continue;
        slots.delete(key);
        controls.delete(el);
      }
    },
    clear() {
      banner.hidden = true;
      for (const el of slots.values()) {
        el.hidden = true;
        el.textContent = '';
        controls.get(el)?.classList.remove('invalid');
        controls.get(el)?.removeAttribute('aria-invalid');
      }
    },
    /** @param {string} message @param {ErrorDetail[]} details */
    show(message, details) {
      const unplaced = [];
      for (const d of details) {
        const parts = (d.path ?? '').split('/').filter(Boolean);
        let el;
        for (let n = parts.length; n > 0 && !el; n -= 1) el = slots.get(parts.slice(0, n).join('/'));
        if (el) {
          el.textContent = el.hidden ? d.message : `${el.textContent} ${d.message}`;
          el.hidden = false;
          controls.get(el)?.classList.add('invalid');
          controls.get(el)?.setAttribute('aria-invalid', 'true');
        } else unplaced.push(d.path ? `${d.path}: ${d.message}` : d.message);
      }
      replace(
        banner,
        h('strong', { text: message }),
        unplaced.length > 0 &&
          h(
            'ul',
            {},
            unplaced.map((u) => h('li', { text: u })),
          ),
      );
      banner.hidden = false;
    },
  };
}

/**
 * A labelled field with its error slot. @param {FormErrors} errors
 * @param {string} key @param {string} label @param {HTMLElement} control @param {any} [hint]
 */
export function formField(errors, key, label, control, hint) {
  const slot = errors.slot(key, control);
  const hintEl = hint ? h('div', { class: 'hint', id: `${slot.id}-hint` }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl?.id, slot.id].filter(Boolean).join(' '));
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control, hintEl, slot);
}

/**
 * Shows a failed request under the form's fields; a 401 already left for the sign-in screen.
 * @param {FormErrors} errors @param {unknown} error
 */
export function showFailure(errors, error) {
  if (isSignedOut(error)) return;
  errors.show(errorText(error), error instanceof ApiError ? error.details : []);
}

/**
 * A form that posts to the API and shows its 400/409/422 `error.details` under the fields.
 * @param {{ label: string, submit: string, fields: (errors: FormErrors) => any,
 *   send: () => Promise<any> | ErrorDetail[], done: (answer: any) => Promise<void> | void }} spec
 */
export function apiForm(spec) {
  const errors = formErrors();
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', text: spec.submit })
  );
  return h(
    'form',
    {
      class: 'panel section',
      novalidate: true,
      'aria-label': spec.label,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        errors.clear();
        button.disabled = true;
        try {
          const sent = spec.send();
          if (Array.isArray(sent)) return errors.show('Some fields need your attention.', sent);
          await spec.done(await sent);
          /** @type {HTMLFormElement} */ (e.target).reset();
        } catch (error) {
          showFailure(errors, error);
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h2', { text: spec.label }),
    errors.banner,
    spec.fields(errors),
    h('div', { class: 'form-actions' }, button),
  );
}

/** @param {string} id @param {Record<string, any>} [attrs] */
export const textInput = (id, attrs = {}) =>
  /** @type {HTMLInputElement} */ (h('input', { id, autocomplete: 'off', ...attrs }));

/** A number from a field's text: undefined when empty, NaN when not a number. @param {string} text */
export const numberIn = (text) => (text.trim() === '' ? undefined : Number(text));

/** A number from a form field: undefined when empty, NaN when not a number. @param {HTMLInputElement | HTMLSelectElement} input */
export const numberOf = (input) => numberIn(input.value);
