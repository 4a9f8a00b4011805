// The bulk change list: newest first, with progress, refreshed while any is open.
import { api, canSubmit, customers, providers } from '../lib/api.js';
import { h, link, replace } from '../lib/dom.js';
import { badge, fmtNum, fmtTime } from '../lib/format.js';
import { navigate } from '../lib/router.js';
import { progressBar } from '../widgets/progress.js';
import { bareTable, moreButton } from '../widgets/table.js';
import { filtersFromUrl, listFilters } from './bulk-changes-filters.js';

export const OPEN_STATUSES = ['NEW', 'PROCESSING'];
const HEADS = ['ID', 'Status', 'Customer', 'Provider', 'Created by', 'Created', 'Progress', 'Done'];

/** @param {import('../lib/router.js').View} view */
export async function bulkChangesScreen(view) {
  const [providerMap, customerMap] = await Promise.all([providers(), customers()]);
  /** @type {import('../lib/types.js').BulkChange[]} */
  let items = [];
  /** @type {string | null} */
  let nextCursor = null;
  let query = filtersFromUrl();
  /** The list's API path for `limit` rows after `cursor`, with the filters. */
  const listUrl = (/** @type {number} */ limit, /** @type {string | null} */ cursor = null) => {
    const q = new URLSearchParams(query);
    q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    return `/bulk-changes?${q}`;
  };

  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  const wrap = h('div', { class: 'table-wrap' });

  const row = (/** @type {import('../lib/types.js').BulkChange} */ bc) => {
    const go = () => navigate(`/bulk-changes/${bc.id}`);
    const c = bc.counts;
    return h(
      'tr',
      {
        class: 'clickable',
        tabindex: 0,
        dataset: { id: bc.id },
        onclick: go,
        onkeydown: (/** @type {KeyboardEvent} */ e) => e.key === 'Enter' && go(),
      },
      h('td', { class: 'num' }, link(`/bulk-changes/${bc.id}`, { text: `#${bc.id}`, tabindex: -1 })),
      h('td', {}, badge(bc.status)),
      h('td', { text: customerMap.get(bc.customerId)?.name ?? `Customer ${bc.customerId}` }),
      h('td', { text: providerMap.get(bc.serviceProviderId)?.name ?? `Provider ${bc.serviceProviderId}` }),
      h('td', { text: bc.createdBy?.name ?? '' }),
      h('td', { class: 'small nowrap', text: fmtTime(bc.createdAt) }),
      h('td', {}, progressBar(c)),
      h(
        'td',
        { class: 'num small' },
        h('div', { text: `${fmtNum(c.processed + c.error + c.cancelled)} / ${fmtNum(c.total)}` }),
        c.error > 0 && h('div', { class: 'muted', text: `${fmtNum(c.error)} error` }),
      ),
    );
  };

  const draw = () => {
    replace(tbody, items.map(row));
    replace(
      wrap,
      items.length === 0
        ? h('div', {
            class: 'empty',
            text: query.size ? 'No bulk change matches these filters.' : 'No bulk changes yet.',
          })
        : bareTable({
            label: 'Bulk changes',
            heads: HEADS.map((text, i) => ({ text, num: i === 0 || i === 7 })),
            body: tbody,
          }),
    );
    replace(more, nextCursor && moreButton(loadMore));
  };

  const loadMore = async () => {
    const page = await api('GET', listUrl(50, nextCursor));
    items = items.concat(page.items);
    nextCursor = page.nextCursor;
    draw();
  };

  const load = async () => {
    const wanted = String(query);
    const first = await api('GET', listUrl(50));
    if (String(query) !== wanted) return;
    items = first.items;
    nextCursor = first.nextCursor;
  };
  await load();
  const filters = () =>
    listFilters(query, customerMap, async (next) => {
      query = next;
      const url = `${location.pathname}${next.size ? `?${next}` : ''}`;
      history.replaceState(null, '', url);
      await load();
      draw();
    });

  const shown = view.show(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'Bulk changes' }),
      h(
        'div',
        { class: 'actions' },
        canSubmit() && link('/new', { class: 'button primary', text: 'New assignment' }),
      ),
    ),
    filters(),
    wrap,
    more,
  );
  if (!shown) return;
  draw();

  // While anything is open, re-read what is on screen (same number of rows, newest first).
  view.every(async () => {
    if (!items.some((bc) => OPEN_STATUSES.includes(bc.status))) {
      // Something new may still arrive from elsewhere; look at the first page, cheaply.
      const page = await api('GET', listUrl(50));
      if (page.items[0]?.id !== items[0]?.id) {
        items = page.items.concat(
          items.filter((bc) => !page.items.some((/** @type {any} */ p) => p.id === bc.id)),
        );
        draw();
      }
      return true;
    }
    const page = await api('GET', listUrl(Math.min(1000, Math.max(50, items.length))));
    items = page.items;
    if (items.length >= 1000 || !page.nextCursor) nextCursor = page.nextCursor;
    draw();
    return true;
  });
}
