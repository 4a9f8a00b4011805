// Bulk change page, the rows: its devices (filtered by status) and its change log.
import { h, link } from '../lib/dom.js';
import { badge, fmtNum, fmtTime } from '../lib/format.js';
import { emptyTable, table } from '../widgets/table.js';
import { plannedSteps, stepsCell } from './bulk-change-steps.js';

/** @typedef {{ key: string, label: string, status: string, count: keyof import('../lib/types.js').Counts }} DeviceFilter */

/** @type {DeviceFilter} */
export const ALL_DEVICES = { key: 'all', label: 'All', status: '', count: 'total' };

/** @type {DeviceFilter[]} */
export const DEVICE_FILTERS = [
  ALL_DEVICES,
  { key: 'errors', label: 'Errors', status: 'ERROR', count: 'error' },
  { key: 'processed', label: 'Processed', status: 'PROCESSED', count: 'processed' },
  { key: 'waiting', label: 'Waiting', status: 'WAITING_CARRIER', count: 'waiting' },
  { key: 'cancelled', label: 'Cancelled', status: 'CANCELLED', count: 'cancelled' },
];

/**
 * The status pills above the devices, each with its count.
 * @param {DeviceFilter} current @param {import('../lib/types.js').Counts} counts
 * @param {(filter: DeviceFilter) => void} choose
 */
export const filterPills = (current, counts, choose) =>
  h(
    'div',
    { class: 'tabs pills', role: 'tablist', 'aria-label': 'Device status' },
    DEVICE_FILTERS.map((f) =>
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          'aria-selected': String(current.key === f.key),
          onclick: () => choose(f),
        },
        f.label,
        h('span', { class: 'count', text: fmtNum(counts[f.count] ?? 0) }),
      ),
    ),
  );

const DEVICE_HEADS = [
  'Identifier',
  'ICCID',
  'MSISDN',
  'Status',
  'Steps',
  'Error category',
  'Message',
  'Rev service',
  'Processed',
];

/** @param {any[]} rows @param {Record<string, any>} options the bulk change's options (its steps) */
export const devicesTable = (rows, options) =>
  rows.length
    ? table({
        label: 'Devices',
        heads: DEVICE_HEADS,
        body: h(
          'tbody',
          {},
          rows.map((d) =>
            h(
              'tr',
              { dataset: { status: d.status } },
              h(
                'td',
                { class: 'mono' },
                d.deviceId ? link(`/devices/${d.deviceId}`, { text: d.identifier }) : d.identifier,
              ),
              h('td', { class: 'mono', text: d.iccid ?? '—' }),
              h('td', { class: 'mono', text: d.msisdn ?? '—' }),
              h('td', {}, badge(d.status)),
              stepsCell(d, plannedSteps(options)),
              h('td', { text: d.errorCategory ?? '' }),
              h('td', { text: d.message ?? '' }),
              h('td', { text: d.revServiceId ?? '' }),
              h('td', { class: 'small nowrap', text: d.processedAt ? fmtTime(d.processedAt) : '' }),
            ),
          ),
        ),
      })
    : emptyTable('No devices in this view.');

/** One change-log entry: its row, and the request and response it opens. @param {any} entry */
function logRows(entry) {
  const detail = h(
    'tr',
    { hidden: true, class: 'log-detail' },
    h(
      'td',
      { colspan: 6 },
      h('div', {
        class: 'small muted',
        text: `Device ${entry.deviceId ?? '—'} · work order ${entry.workOrderId ?? '—'} · by ${entry.processedBy}`,
      }),
      h('div', { class: 'small', style: 'margin-top:6px' }, h('strong', { text: 'Request' })),
      h('pre', { class: 'mono', text: entry.requestText ?? '(none)' }),
      h('div', { class: 'small', style: 'margin-top:6px' }, h('strong', { text: 'Response' })),
      h('pre', { class: 'mono', text: entry.responseText ?? '(none)' }),
    ),
  );
  // The time is the button that opens the request and response (a row cannot be expanded).
  const opener = h('button', {
    type: 'button',
    class: 'link small nowrap',
    'aria-expanded': 'false',
    text: fmtTime(entry.processedAt),
  });
  const toggle = () => {
    detail.hidden = !detail.hidden;
    opener.setAttribute('aria-expanded', String(!detail.hidden));
  };
  const row = h(
    'tr',
    { class: 'clickable', onclick: toggle },
    h('td', {}, opener),
    h('td', { class: 'mono', text: entry.iccid ?? entry.identifier ?? '—' }),
    h('td', { text: entry.description }),
    h('td', { text: entry.portalType }),
    h(
      'td',
      {},
      entry.hasError
        ? h('span', { class: 'badge err', text: entry.responseStatus ?? 'error' })
        : h('span', { class: 'badge ok', text: entry.responseStatus ?? 'ok' }),
    ),
    h('td', { text: entry.errorText ?? '' }),
  );
  return [row, detail];
}

/** @param {any[]} rows */
export const logTable = (rows) =>
  rows.length
    ? table({
        label: 'Change log',
        heads: ['Time', 'ICCID', 'Description', 'Portal', 'Status', 'Error'],
        body: h('tbody', {}, rows.map(logRows)),
      })
    : emptyTable('No change-log entries yet.');
