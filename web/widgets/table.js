// Tables: a table in its scrolling wrapper, its empty row, and the "Load more" of a paged list.
import { h } from '../lib/dom.js';

/** @typedef {string | { text: string, num?: boolean }} Head a column title; `num` right-aligns it */

/** @typedef {{ label?: string, labelledBy?: string, testId?: string, heads: Head[], body: HTMLElement }} TableSpec */

/** A table named by `label` or by the heading `labelledBy`. @param {TableSpec} spec */
export function bareTable(spec) {
  return h(
    'table',
    { 'aria-label': spec.label, 'aria-labelledby': spec.labelledBy, 'data-testid': spec.testId },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        spec.heads.map((head) =>
          typeof head === 'string'
            ? h('th', { text: head })
            : h('th', { class: head.num ? 'num' : undefined, text: head.text }),
        ),
      ),
    ),
    spec.body,
  );
}

/** What takes the keyboard focus by itself (a negative tabindex takes it only from a script). */
const FOCUSABLE =
  ':is(a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]):not([tabindex^="-"])';

/**
 * Makes a table's wrapper a tab stop only while it scrolls sideways and holds nothing focusable: a
 * keyboard user must reach a box that scrolls to scroll it (axe: scrollable-region-focusable), and a
 * link or button inside already reaches it (Chromium's arrow keys scroll the focused element's box).
 * So a table costs the tab stops of its own controls, and none more for its box.
 * @param {HTMLElement} wrap
 * @param {HTMLElement} inner the table, whose width changes with its rows
 */
function focusableWhileScrolling(wrap, inner) {
  const update = () => {
    const scrolls = wrap.scrollWidth > wrap.clientWidth && getComputedStyle(wrap).overflowX !== 'hidden';
    if (scrolls && !wrap.querySelector(FOCUSABLE)) wrap.tabIndex = 0;
    else wrap.removeAttribute('tabindex');
  };
  const resized = new ResizeObserver(update);
  resized.observe(wrap);
  resized.observe(inner);
  new MutationObserver(update).observe(wrap, { childList: true, subtree: true });
}

/**
 * A table in its scrolling wrapper (sideways on a narrow screen), a region named after the table.
 * @param {TableSpec} spec
 */
export const table = (spec) => {
  const inner = bareTable(spec);
  const wrap = h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': spec.label, 'aria-labelledby': spec.labelledBy },
    inner,
  );
  focusableWhileScrolling(wrap, inner);
  return wrap;
};

/** What a table's wrapper shows when it has no row. @param {string} text */
export const emptyTable = (text) => h('div', { class: 'table-wrap' }, h('div', { class: 'empty', text }));

/** A table whose number columns (MB, rates) are right-aligned. @param {string} caption @param {string[]} heads @param {HTMLElement} tbody */
export const dataTable = (caption, heads, tbody) =>
  table({ label: caption, heads: heads.map((text) => ({ text, num: /MB|rate/.test(text) })), body: tbody });

/** The one row of an empty table. @param {number} columns @param {string} text */
export const emptyRow = (columns, text) =>
  h('tr', {}, h('td', { colspan: String(columns), class: 'muted', text }));

/** "Load more" under a paged list. @param {() => Promise<void>} next */
export const moreButton = (next) =>
  h('button', { type: 'button', text: 'Load more', onclick: () => void next() });
