// Modal dialogs on the native <dialog>: forms, and the confirmation asked before an action.
import { append, h } from './dom.js';
import { onLeave } from './router.js';

let dialogIds = 0;

/**
 * A modal `<dialog>`: Escape or Cancel closes it; it is removed once closed, and on navigation.
 * @param {string} title @param {(close: () => void) => Node} build
 */
export function openDialog(title, build) {
  const titleId = `dialog-title-${++dialogIds}`;
  const dialog = /** @type {HTMLDialogElement} */ (
    h('dialog', { class: 'dialog', 'aria-labelledby': titleId })
  );
  const close = () => dialog.close();
  dialog.addEventListener('close', () => dialog.remove());
  append(dialog, [h('h2', { id: titleId, text: title }), build(close)]);
  document.body.append(dialog);
  onLeave(() => dialog.isConnected && dialog.close());
  dialog.showModal();
  return dialog;
}

/**
 * Asks before an action, in a modal dialog a screen reader announces with its question (never the
 * native `confirm()`, which blocks the page and cannot be styled or labelled). The safe answer has
 * the focus, so Enter or Escape does nothing harmful.
 * @param {{ title: string, message: string, confirm: string, keep?: string, danger?: boolean }} spec
 * @returns {Promise<boolean>} true when confirmed; false on the other button, Escape, or leaving the screen
 */
export function confirmDialog(spec) {
  return new Promise((resolve) => {
    let confirmed = false;
    const messageId = `dialog-message-${++dialogIds}`;
    const dialog = openDialog(spec.title, (close) =>
      h(
        'div',
        {},
        h('p', { id: messageId, text: spec.message }),
        h(
          'div',
          { class: 'form-actions' },
          h('button', {
            type: 'button',
            class: spec.danger ? 'danger' : 'primary',
            text: spec.confirm,
            onclick: () => {
              confirmed = true;
              close();
            },
          }),
          h('button', { type: 'button', text: spec.keep ?? 'Keep as is', autofocus: true, onclick: close }),
        ),
      ),
    );
    dialog.setAttribute('aria-describedby', messageId);
    dialog.addEventListener('close', () => resolve(confirmed));
  });
}

/** Copies `text`, saying so on the button. @param {HTMLButtonElement} button @param {string} text */
export async function copyText(button, text) {
  // The label as first drawn: a second click within 2 s must not make "Copied" the label.
  const label = (button.dataset.label ??= button.textContent ?? '');
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Select and copy it';
  }
  setTimeout(() => (button.textContent = label), 2000);
}
