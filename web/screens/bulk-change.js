// Bulk change page: status and actions, progress, what was asked, the devices and the change log;
// refreshed while devices are open.
import {
  API,
  ApiError,
  all,
  api,
  customers,
  errorText,
  isSignedOut,
  providers,
  signedOut,
} from '../lib/api.js';
import { confirmDialog } from '../lib/dialog.js';
import { h, link, replace } from '../lib/dom.js';
import { badge } from '../lib/format.js';
import { moreButton } from '../widgets/table.js';
import { OPEN_STATUSES } from './bulk-changes.js';
import { ALL_DEVICES, DEVICE_FILTERS, devicesTable, filterPills, logTable } from './bulk-change-rows.js';
import { drawFacts, drawProgress } from './bulk-change-summary.js';
import { undoBulkChange } from './bulk-change-undo.js';
import { follow, throughput } from './bulk-change-live.js';
import { logFilters } from './bulk-change-steps.js';

/** What Retry and Cancel ask first. */
const QUESTIONS = {
  retry: (/** @type {number} */ id) => ({
    title: `Retry bulk change #${id}?`,
    message: `Retry the failed devices of bulk change #${id}?`,
    confirm: 'Retry',
    keep: 'Not now',
  }),
  cancel: (/** @type {number} */ id) => ({
    title: `Cancel bulk change #${id}?`,
    message: 'Devices not yet started will not be processed; those already begun finish all their steps.',
    confirm: 'Cancel bulk change',
    keep: 'Keep processing',
    danger: true,
  }),
};

/** @param {import('../lib/router.js').View} view @param {number} id */
export async function bulkChangeScreen(view, id) {
  const [providerMap, customerMap] = await Promise.all([providers(), customers()]);
  /** @type {import('../lib/types.js').BulkChange} */
  let bc = await api('GET', `/bulk-changes/${id}`);
  const siteList = await all(`/customers/${bc.customerId}/sites`).catch(() => []);
  // Names for the customer rate plan and pool the options name by id.
  /** @type {Map<string, string>} */
  const planNames = new Map();
  if (bc.options?.addCustomerRatePlan) {
    const [plans, pools] = await Promise.all([
      all('/rate-plans?kind=customer').catch(() => []),
      all('/rate-pools').catch(() => []),
    ]);
    for (const p of plans) planNames.set(`plan ${p.id}`, `${p.code} · ${p.name}`);
    for (const p of pools) planNames.set(`pool ${p.id}`, `pool ${p.name}`);
  }
  // Left while loading: the history entry now is another screen's, not to be rewritten.
  if (!view.current()) return;
  const names = {
    provider: providerMap.get(bc.serviceProviderId)?.name,
    customer: customerMap.get(bc.customerId),
    sites: new Map(siteList.map((s) => [s.id, s])),
    plans: planNames,
  };
  const params = new URLSearchParams(location.search);
  let tab = params.get('tab') === 'log' ? 'log' : 'devices';
  let filter = DEVICE_FILTERS.find((f) => f.key === params.get('filter')) ?? ALL_DEVICES;

  const head = h('div', { class: 'page-head' });
  const message = h('div', { role: 'status' });
  const tiles = h('div', { class: 'tiles', 'data-testid': 'tiles' });
  const bar = h('div', { style: 'margin-bottom:16px' });
  const rate = h('div', { class: 'muted small', 'data-testid': 'throughput', 'aria-live': 'polite' });
  const speed = throughput();
  /** The change log's filters: a device's ICCID and a step. */
  const logFilter = { iccid: params.get('iccid') ?? '', step: params.get('step') ?? '' };
  const facts = h('div', { class: 'grid2' });
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const body = h('div');
  const failed = (/** @type {unknown} */ error) =>
    replace(message, h('div', { class: 'banner error', role: 'alert', text: errorText(error) }));

  /** Rows of the current tab, and the cursor of its next page. @type {any[]} */
  let rows = [];
  /** @type {string | null} */
  let cursor = null;

  const syncUrl = () => {
    const q = new URLSearchParams();
    if (tab === 'log') {
      q.set('tab', 'log');
      if (logFilter.iccid) q.set('iccid', logFilter.iccid);
      if (logFilter.step) q.set('step', logFilter.step);
    } else if (filter.key !== 'all') q.set('filter', filter.key);
    const url = `/bulk-changes/${id}${q.size ? `?${q}` : ''}`;
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
  };

  const act = async (/** @type {'retry' | 'cancel'} */ what) => {
    if (!(await confirmDialog(QUESTIONS[what](id)))) return;
    try {
      await api('POST', `/bulk-changes/${id}/${what}`);
      const text = what === 'retry' ? 'Retry started.' : 'Cancellation requested.';
      replace(message, h('div', { class: 'banner ok', text }));
      await refresh(true);
      live();
    } catch (error) {
      if (!isSignedOut(error)) failed(error);
    }
  };

  const drawHead = () => {
    replace(
      head,
      h('h1', { text: `Bulk change #${bc.id}` }),
      h('span', { 'data-testid': 'status' }, badge(bc.status, 'big')),
      h(
        'div',
        { class: 'actions' },
        // The server says what is possible now (the same rule guards the action itself).
        bc.actions.includes('retry') &&
          h('button', { type: 'button', text: 'Retry failed', onclick: () => void act('retry') }),
        bc.actions.includes('cancel') &&
          h('button', { type: 'button', class: 'danger', text: 'Cancel', onclick: () => void act('cancel') }),
        bc.actions.includes('undo') &&
          h('button', { type: 'button', text: 'Undo', onclick: () => void undoBulkChange(id, message) }),
        bc.undoOf &&
          link(`/bulk-changes/${bc.undoOf}`, { 'data-testid': 'undo-of', text: `Undo of #${bc.undoOf}` }),
        bc.undoneBy &&
          link(`/bulk-changes/${bc.undoneBy}`, {
            'data-testid': 'undone-by',
            text: `Undone by #${bc.undoneBy}`,
          }),
        bc.cancelRequestedAt &&
          OPEN_STATUSES.includes(bc.status) &&
          h('span', {
            class: 'note',
            'data-testid': 'cancelling',
            text: 'Cancelling: devices already begun finish all their steps.',
          }),
        link('/', { class: 'button', text: 'All bulk changes' }),
      ),
    );
    drawProgress(tiles, bar, bc);
    speed.add(bc.counts);
    rate.textContent = speed.text(bc.counts, isOpen());
    drawFacts(facts, bc, names);
  };

  const drawTabs = () => {
    const tabButton = (/** @type {string} */ key, /** @type {string} */ label) =>
      h('button', {
        type: 'button',
        role: 'tab',
        'aria-selected': String(tab === key),
        text: label,
        onclick: () => {
          tab = key;
          void reloadRows();
        },
      });
    replace(tabs, tabButton('devices', 'Devices'), tabButton('log', 'Change log'));
  };

  const drawBody = () => {
    if (tab === 'devices') {
      const pills = filterPills(filter, bc.counts, (f) => {
        filter = f;
        void reloadRows();
      });
      const csv = h('button', {
        type: 'button',
        text: 'Download CSV',
        'data-testid': 'csv',
        onclick: () => void downloadCsv(),
      });
      replace(
        body,
        h('div', { class: 'toolbar' }, pills, h('div', { class: 'right' }, csv)),
        devicesTable(rows, bc.options ?? {}),
      );
    } else
      replace(
        body,
        logFilters(logFilter, () => void reloadRows()),
        logTable(rows),
      );
    if (cursor) body.append(h('div', { class: 'more' }, moreButton(loadMoreRows)));
  };

  const rowsUrl = (/** @type {number} */ limit, /** @type {string | null} */ after) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (after) q.set('cursor', after);
    if (tab === 'devices' && filter.status) q.set('status', filter.status);
    if (tab === 'log' && logFilter.iccid) q.set('iccid', logFilter.iccid);
    if (tab === 'log' && logFilter.step) q.set('step', logFilter.step);
    return `/bulk-changes/${id}/${tab === 'log' ? 'logs' : 'devices'}?${q}`;
  };

  const reloadRows = async (limit = 50) => {
    syncUrl();
    drawTabs();
    const key = () => `${tab}/${filter.key}/${logFilter.iccid}/${logFilter.step}`;
    const wanted = key();
    const page = await api('GET', rowsUrl(Math.min(1000, Math.max(50, limit)), null));
    if (key() !== wanted) return;
    rows = page.items;
    cursor = page.nextCursor;
    drawBody();
  };

  const loadMoreRows = async () => {
    const page = await api('GET', rowsUrl(50, cursor));
    rows = rows.concat(page.items);
    cursor = page.nextCursor;
    drawBody();
  };

  const downloadCsv = async () => {
    try {
      const res = await fetch(`${API}/bulk-changes/${id}/devices`, {
        credentials: 'same-origin',
        headers: { accept: 'text/csv' },
      });
      if (res.status === 401) return signedOut();
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: `bulk-change-${id}-devices.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      failed(error);
    }
  };

  /** Re-reads the bulk change, and the rows on screen when something moved. */
  const refresh = async (force = false) => {
    const next = await api('GET', `/bulk-changes/${id}`);
    const moved =
      force || JSON.stringify(next.counts) !== JSON.stringify(bc.counts) || next.status !== bc.status;
    bc = next;
    drawHead();
    if (moved) await reloadRows(rows.length);
  };

  const isOpen = () => OPEN_STATUSES.includes(bc.status) || bc.counts.waiting > 0;
  /** @type {ReturnType<typeof follow> | null} */
  let following = null;
  const live = () => {
    if (following && following.mode() !== 'idle') return;
    following = follow(id, view, () => refresh(), isOpen);
  };

  if (!view.show(head, message, tiles, bar, rate, facts, tabs, body)) return;
  drawHead();
  await reloadRows();
  if (isOpen()) live();
}
