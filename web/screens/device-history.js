// A device's history: each step that changed it, before → after with names, and its bulk change.
import { h, link } from '../lib/dom.js';
import { fmtTime } from '../lib/format.js';
import { dataTable, emptyRow } from '../widgets/table.js';

/** @type {Record<string, string>} */
const STEP_NAMES = {
  customer_assignment: 'Owner',
  customer_rate_plan: 'Customer plan',
  carrier_rate_plan: 'Carrier plan',
  carrier_rate_plan_scheduled: 'Carrier plan (scheduled)',
  rev_service: 'Rev.io line',
};

/** Ids shown only when no name stands beside them. @type {Record<string, string>} */
const NAME_OF = {
  customerId: 'customerName',
  siteId: 'siteName',
  ratePlanId: 'ratePlanName',
  ratePoolId: 'ratePoolName',
  customerRatePlanId: 'ratePlanName',
  customerRatePoolId: 'ratePoolName',
};

/** Bookkeeping that says nothing an operator reads (flags, simbind's own id of the Rev.io account). */
const HIDDEN = new Set(['isActive', 'isDeleted', 'revCredentialsId']);

/** A state as short text: its values, names in place of ids. @param {unknown} state */
export function describeState(state) {
  if (state === null || state === undefined) return '—';
  if (typeof state !== 'object') return String(state);
  const record = /** @type {Record<string, unknown>} */ (state);
  const parts = [];
  for (const [key, value] of Object.entries(record)) {
    if (value === null || value === undefined || value === '') continue;
    if (NAME_OF[key] && record[NAME_OF[key]]) continue;
    if (HIDDEN.has(key)) continue;
    const shown = typeof value === 'object' ? JSON.stringify(value) : String(value);
    parts.push(`${key.replace(/Name$/, '')}: ${shown}`);
  }
  return parts.join(', ') || '—';
}

/** @param {any[]} entries */
export function historySection(entries) {
  const body = h(
    'tbody',
    {},
    entries.length === 0
      ? emptyRow(6, 'No change recorded yet.')
      : entries.map((e) =>
          h(
            'tr',
            { dataset: { id: e.id } },
            h('td', { text: fmtTime(e.changedAt) }),
            h('td', { text: STEP_NAMES[e.changeType] ?? e.changeType }),
            h('td', { class: 'state', text: describeState(e.before) }),
            h('td', { class: 'state', text: describeState(e.after) }),
            h('td', { text: e.changedBy?.name ?? '—' }),
            h(
              'td',
              {},
              e.bulkChange
                ? link(`/bulk-changes/${e.bulkChange.id}`, { text: `Bulk change ${e.bulkChange.id}` })
                : '—',
            ),
          ),
        ),
  );
  return h(
    'section',
    { class: 'section', 'data-testid': 'device-history' },
    h('h2', { text: 'History' }),
    dataTable('History', ['When', 'Step', 'Before', 'After', 'By', 'Bulk change'], body),
  );
}
