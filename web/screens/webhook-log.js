// A webhook endpoint's delivery log: the latest 20 deliveries, newest first.
import { api } from '../lib/api.js';
import { h, link, replace } from '../lib/dom.js';
import { fmtTime } from '../lib/format.js';
import { table } from '../widgets/table.js';

/** @type {Record<string, string>} */
const DELIVERY_BADGE = { delivered: 'ok', failed: 'err', pending: 'busy' };

/** Draws the log of `endpoint` into `panel`. @param {HTMLElement} panel @param {any} endpoint */
export async function showDeliveryLog(panel, endpoint) {
  const { items } = await api('GET', `/webhooks/${endpoint.id}/deliveries?limit=20`);
  replace(
    panel,
    h('h2', { id: 'delivery-log-title', text: `Delivery log: ${endpoint.description || endpoint.url}` }),
    items.length === 0
      ? h('p', { class: 'muted', text: 'Nothing delivered yet.' })
      : table({
          labelledBy: 'delivery-log-title',
          heads: ['When', 'Event', 'Status', 'Attempts', 'Answer'],
          body: h(
            'tbody',
            {},
            items.map((/** @type {any} */ d) =>
              h(
                'tr',
                {},
                h('td', { class: 'small', text: fmtTime(d.createdAt) }),
                h(
                  'td',
                  {},
                  d.bulkChangeId
                    ? link(`/bulk-changes/${d.bulkChangeId}`, { text: `${d.event} #${d.bulkChangeId}` })
                    : d.event,
                ),
                h('td', {}, h('span', { class: `badge ${DELIVERY_BADGE[d.status] ?? ''}`, text: d.status })),
                h('td', { text: String(d.attempts) }),
                h('td', {
                  class: 'small mono',
                  text: [d.statusCode ?? '', d.error ?? d.response ?? ''].filter(Boolean).join(' · '),
                }),
              ),
            ),
          ),
        }),
  );
}
