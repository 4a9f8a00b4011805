// A file of identifiers, read in the browser: a labelled <input type=file> inside a drop zone, and the
// parser that finds the identifier column (by header, or guessed from the values) and counts the rows.
import { h } from '../lib/dom.js';

/** Headers that name the identifier column (lower case). */
const HEADERS = ['iccid', 'msisdn', 'identifier', 'device'];
/** An ICCID (19–20 digits) or an MSISDN (10–15 digits). */
const WELL_FORMED = /^(\d{10,15}|\d{19,20})$/;
/** Rows the column guess looks at. */
const SAMPLE = 200;

/**
 * @typedef {object} ParsedFile
 * @property {string[]} identifiers the recognised identifiers, each once, in file order
 * @property {number} recognised rows with a well-formed identifier (repeats included)
 * @property {number} duplicates rows repeating an identifier seen before
 * @property {{ line: number, text: string }[]} malformed rows without a well-formed identifier
 * @property {string} column how the column was found: "header iccid", "column 2 (guessed)"
 */

/** @param {string} line */
const cellsOf = (line) =>
  line.split(/[,;\t]/).map((c) =>
    c
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .trim(),
  );

/** Finds the identifiers in a CSV or text file's content. @param {string} text @returns {ParsedFile} */
export function parseIdentifierFile(text) {
  const lines = text.split(/\r?\n/);
  const rows = lines.map((line, i) => ({ line: i + 1, text: line })).filter((r) => r.text.trim() !== '');
  let column;
  let how;
  let start = 0;
  const first = rows[0] ? cellsOf(rows[0].text).map((c) => c.toLowerCase()) : [];
  const named = first.findIndex((c) => HEADERS.includes(c));
  if (named >= 0) {
    column = named;
    how = `header "${first[named]}"`;
    start = 1;
  } else {
    // The column whose values most often look like identifiers.
    const hits = /** @type {number[]} */ ([]);
    for (const row of rows.slice(0, SAMPLE))
      cellsOf(row.text).forEach((c, i) => (hits[i] = (hits[i] ?? 0) + (WELL_FORMED.test(c) ? 1 : 0)));
    column = hits.reduce((best, n, i) => (n > (hits[best] ?? 0) ? i : best), 0);
    how = hits.length > 1 ? `column ${column + 1} (guessed from its values)` : 'one identifier per line';
    // A first row of words is an unnamed header.
    if (first.length && !first.some((c) => /\d/.test(c))) start = 1;
  }
  /** @type {Set<string>} */
  const seen = new Set();
  const malformed = [];
  let recognised = 0;
  let duplicates = 0;
  for (const row of rows.slice(start)) {
    const value = cellsOf(row.text)[column] ?? '';
    if (!WELL_FORMED.test(value)) {
      malformed.push(row);
      continue;
    }
    recognised++;
    if (seen.has(value)) duplicates++;
    else seen.add(value);
  }
  return { identifiers: [...seen], recognised, duplicates, malformed, column: how };
}

/**
 * The drop zone: a file dropped on it or chosen with its picker (Enter or Space on the zone opens the
 * picker) is read and handed to `onFile`.
 * @param {{ id: string, onFile: (name: string, text: string) => void }} spec
 */
export function fileDrop({ id, onFile }) {
  const input = /** @type {HTMLInputElement} */ (
    h('input', { type: 'file', id, accept: '.csv,.txt,text/csv,text/plain', class: 'file-input' })
  );
  const read = async (/** @type {File | undefined} */ file) => {
    if (file) onFile(file.name, await file.text());
  };
  input.addEventListener('change', () => void read(input.files?.[0]));
  const zone = h(
    'div',
    { class: 'drop-zone', 'data-testid': 'drop-zone' },
    h(
      'label',
      { for: id, class: 'drop-label' },
      'Choose a CSV or text file',
      h('span', { class: 'muted', text: ' or drop it here' }),
    ),
    input,
  );
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    void read(e.dataTransfer?.files[0]);
  });
  return { zone, input, clear: () => void (input.value = '') };
}
