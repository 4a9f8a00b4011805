// The DOM helpers every screen builds with. Every piece of data reaches the DOM through
// textContent / DOM APIs, never as HTML.

/**
 * Creates an element. Attributes: `class`, `text`, `on<event>` handlers, `dataset`, booleans, strings.
 * Children: nodes, strings (as text) or null/false (skipped).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    // Through the CSSOM: the Content-Security-Policy forbids style attributes.
    else if (key === 'style') el.style.cssText = value;
    else if (key === 'value') /** @type {any} */ (el).value = value;
    else if (key === 'checked' || key === 'selected' || key === 'disabled')
      /** @type {any} */ (el)[key] = !!value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {any[]} children */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** @param {Element} el @param {...any} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A same-origin link that navigates without a reload (the router handles `data-link` clicks).
 * @param {string} href @param {Record<string, any>} attrs @param {...any} children
 */
export const link = (href, attrs, ...children) => h('a', { href, 'data-link': true, ...attrs }, ...children);

/** A banner in a live region. @param {HTMLElement} notice @param {'ok' | 'error'} kind @param {string} text */
export function say(notice, kind, text) {
  replace(notice, h('div', { class: `banner ${kind}`, role: kind === 'error' ? 'alert' : 'status', text }));
}
