// A disclosure menu of links (the top bar's "Admin"): a button with aria-expanded that opens a
// list below it; Escape or a click elsewhere closes it, and focus returns to the button.
import { h } from '../lib/dom.js';
import { onLeave } from '../lib/router.js';

/**
 * @param {string} label the button's text @param {HTMLElement[]} links @param {boolean} here
 * whether the current page is one of the links (the button is then marked as current)
 */
export function menu(label, links, here) {
  const id = `menu-${label.toLowerCase().replace(/\W+/g, '-')}`;
  const list = h(
    'ul',
    { id, class: 'menu-list', hidden: true },
    links.map((a) => h('li', {}, a)),
  );
  /** @param {boolean} open */
  const set = (open) => {
    list.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  };
  const button = h('button', {
    type: 'button',
    class: here ? 'menu-button here' : 'menu-button',
    'aria-expanded': 'false',
    'aria-controls': id,
    text: label,
    onclick: () => {
      set(list.hidden);
      if (!list.hidden) list.querySelector('a')?.focus();
    },
  });
  const root = h('div', {
    class: 'menu',
    onkeydown: (/** @type {KeyboardEvent} */ e) => {
      if (e.key === 'Escape' && !list.hidden) {
        set(false);
        button.focus();
      }
    },
    onfocusout: (/** @type {FocusEvent} */ e) => {
      if (!root.contains(/** @type {Node | null} */ (e.relatedTarget))) set(false);
    },
  });
  root.append(button, list);
  const outside = (/** @type {MouseEvent} */ e) => {
    if (!root.contains(/** @type {Node} */ (e.target))) set(false);
  };
  document.addEventListener('click', outside);
  onLeave(() => document.removeEventListener('click', outside));
  return root;
}
