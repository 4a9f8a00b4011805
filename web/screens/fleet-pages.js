// The fleet's keyset pages, walked back: a page's URL holds only its own cursor, so the page before
// each one is remembered for the tab (sessionStorage, not the module: a reload starts it afresh),
// and Previous goes one page back after a reload or back/forward too.

const KEY = 'simbind.fleet.previous';
/** Enough for a long walk through several lists; the oldest pages are forgotten first. */
const REMEMBERED = 200;

/** @returns {[string, string][]} [filter and page cursor, the previous page's cursor ('' for the first)] */
function remembered() {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
    return Array.isArray(value) ? value : [];
  } catch {
    return []; // storage off or damaged: Previous goes to the first page
  }
}

/** @param {string} filter the list's query without its cursor @param {string} cursor */
const pageKey = (filter, cursor) => `${filter}#${cursor}`;

/**
 * Notes that the page at `next` follows the page at `cursor` (null: the first page) in this list.
 * @param {string} filter @param {string} next @param {string | null} cursor
 */
export function rememberPrevious(filter, next, cursor) {
  const key = pageKey(filter, next);
  const pages = remembered().filter(([k]) => k !== key);
  pages.push([key, cursor ?? '']);
  try {
    sessionStorage.setItem(KEY, JSON.stringify(pages.slice(-REMEMBERED)));
  } catch {
    // storage full or off: Previous goes to the first page
  }
}

/**
 * The cursor of the page before the one at `cursor` in this list; null for the first page, also
 * when it is not known (a link from elsewhere).
 * @param {string} filter @param {string} cursor
 */
export function previousCursor(filter, cursor) {
  const key = pageKey(filter, cursor);
  return remembered().find(([k]) => k === key)?.[1] || null;
}
