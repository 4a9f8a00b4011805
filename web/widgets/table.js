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

/**
 * A table in its scrolling wrapper; the wrapper takes the keyboard focus (to scroll a wide table
 * sideways on a narrow screen) and is named after the table.
 * @param {TableSpec} spec
 */
export const table = (spec) =>
  h(
    'div',
    {
      class: 'table-wrap',
      tabindex: 0,
      role: 'region',
      'aria-label': spec.label,
      'aria-labelledby': spec.labelledBy,
    },
    bareTable(spec),
  );

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
