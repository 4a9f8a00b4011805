// Fleet: a provider's devices with server-side search, filters, sort and keyset pages, all kept in
// the URL query (back/forward and reload keep them); the selection goes to the new-assignment screen.
import { api, canSubmit, customers, providers } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { navigate } from '../lib/router.js';
import { fleetFilters } from './fleet-filters.js';
import { previousCursor, rememberPrevious } from './fleet-pages.js';
import { fleetTable } from './fleet-table.js';

const PAGE_SIZE = 50;
/** Above this many identifiers the hand-over goes through sessionStorage, not the URL. */
const URL_SELECTION_MAX = 500;

/** The query keys that are the API's device filter (the rest: sort, cursor). */
export const FILTER_KEYS = [
  'q',
  'status',
  'customerId',
  'siteId',
  'unassigned',
  'carrierRatePlan',
  'archived',
];

/** @param {URLSearchParams} query the URL's query without the page's cursor */
const filterKey = (query) => {
  const copy = new URLSearchParams(query);
  copy.delete('cursor');
  return copy.toString();
};

/** @param {import('../lib/router.js').View} view */
export async function fleetScreen(view) {
  const query = new URLSearchParams(location.search);
  const providerMap = await providers();
  const providerId = Number(query.get('providerId')) || [...providerMap.keys()][0];
  if (!providerId) {
    view.show(h('h1', { text: 'Fleet' }), h('p', { class: 'muted', text: 'No service provider yet.' }));
    return;
  }
  if (!query.get('providerId')) {
    query.set('providerId', String(providerId));
    history.replaceState(null, '', `/devices?${query}`);
  }
  const key = filterKey(query);

  /** The API's filter: the provider and the URL's filter keys. @type {Record<string, any>} */
  const filter = { serviceProviderId: providerId };
  for (const k of FILTER_KEYS) {
    const value = query.get(k);
    if (!value) continue;
    filter[k] =
      k === 'customerId' || k === 'siteId' ? Number(value) : k === 'unassigned' ? value === 'true' : value;
  }
  const listQuery = new URLSearchParams(Object.entries(filter).map(([k, v]) => [k, String(v)]));
  const countPath = `/devices/count?${listQuery}`;
  listQuery.set('limit', String(PAGE_SIZE));
  listQuery.set('sort', query.get('sort') ?? 'iccid');
  const cursor = query.get('cursor');
  if (cursor) listQuery.set('cursor', cursor);

  const [page, { count }, customerMap] = await Promise.all([
    api('GET', `/devices?${listQuery}`),
    api('GET', countPath),
    customers(),
  ]);

  /** Goes to the URL with these query changes (a new filter or sort starts at the first page). @param {Record<string, string | null>} changes */
  const go = (changes) => {
    const next = new URLSearchParams(location.search);
    next.set('providerId', String(providerId));
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === '') next.delete(k);
      else next.set(k, v);
    }
    if (!('cursor' in changes)) next.delete('cursor');
    navigate(`/devices?${next}`);
  };

  const table = fleetTable({
    items: page.items,
    sort: listQuery.get('sort') ?? 'iccid',
    onSort: (sort) => go({ sort }),
  });

  // The selection: the ticked rows of this page, or every device matching the filter.
  let allMatching = false;
  const selectionText = h('span', { 'aria-live': 'polite', 'data-testid': 'selection' });
  const selectAll = h('button', {
    type: 'button',
    text: `Select all ${fmtNum(count)} matching`,
    'data-testid': 'select-all-matching',
    onclick: () => {
      allMatching = true;
      table.selectPage(true);
      drawSelection();
    },
  });
  const assign = h('button', {
    type: 'button',
    class: 'primary',
    text: 'Assign to customer',
    disabled: true,
    onclick: () => handOver(),
  });
  const drawSelection = () => {
    const picked = table.selected();
    if (picked.length < page.items.length) allMatching = false;
    const n = allMatching ? count : picked.length;
    selectionText.textContent = n
      ? `${fmtNum(n)} device${n === 1 ? '' : 's'} selected`
      : 'No device selected';
    selectAll.hidden = allMatching || picked.length !== page.items.length || count <= picked.length;
    /** @type {any} */ (assign).disabled = n === 0;
  };
  table.onSelect(drawSelection);

  const handOver = () => {
    if (allMatching) {
      const { serviceProviderId: _provider, ...rest } = filter;
      navigate(`/new?providerId=${providerId}&filter=${encodeURIComponent(JSON.stringify(rest))}`);
      return;
    }
    const devices = table.selected();
    if (devices.length <= URL_SELECTION_MAX) {
      navigate(`/new?providerId=${providerId}&devices=${devices.join(',')}`);
      return;
    }
    sessionStorage.setItem('simbind.selection', JSON.stringify({ providerId, devices }));
    navigate('/new?selection=session');
  };

  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h('button', {
      type: 'button',
      text: 'Previous',
      disabled: !cursor,
      onclick: () => go({ cursor: cursor && previousCursor(key, cursor) }),
    }),
    h('button', {
      type: 'button',
      text: 'Next',
      disabled: !page.nextCursor,
      onclick: () => {
        rememberPrevious(key, page.nextCursor, cursor);
        go({ cursor: page.nextCursor });
      },
    }),
  );

  const providerPicker = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'fleet-provider', onchange: () => navigate(`/devices?providerId=${providerPicker.value}`) },
      [...providerMap.values()].map((p) =>
        h('option', { value: String(p.id), text: p.name, selected: p.id === providerId }),
      ),
    )
  );

  const filters = await fleetFilters({ query, customerMap, apply: go });
  const summary = h('p', {
    class: 'muted',
    'data-testid': 'fleet-count',
    text: `${fmtNum(count)} device${count === 1 ? '' : 's'} match.`,
  });
  drawSelection();
  const actions = h('div', { class: 'fleet-selection' }, selectionText, selectAll, canSubmit() && assign);
  view.show(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'Fleet' }),
      h(
        'div',
        { class: 'field-inline' },
        h('label', { for: 'fleet-provider', text: 'Service provider' }),
        providerPicker,
      ),
    ),
    filters,
    summary,
    actions,
    table.element,
    pager,
  );
}
