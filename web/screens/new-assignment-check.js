// New assignment, the answer of Check (a dry run): eligible, ineligible and duplicate counts, who owns
// the devices today, and the ineligible devices.
import { h, replace } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { table } from '../widgets/table.js';

/** Ineligible rows the screen draws; the counts cover them all. */
const SHOWN = 500;

/** "312 of Acme Fleet, 4 of Contoso Labs": who owns these devices today. @param {any[]} devices */
function ownersOf(devices) {
  /** @type {Map<string, number>} */
  const by = new Map();
  for (const d of devices) {
    const name = d.currentOwner?.name ?? `customer ${d.currentOwner?.customerId}`;
    by.set(name, (by.get(name) ?? 0) + 1);
  }
  const list = [...by].sort((a, b) => b[1] - a[1]);
  const top = list.slice(0, 3).map(([name, n]) => `${fmtNum(n)} of ${name}`);
  return list.length > 3 ? `${top.join(', ')} and ${list.length - 3} more customers` : top.join(', ');
}

/** "Acme Fleet (Depot 4)": a device's owner and site today. @param {any} d */
const ownerText = (d) =>
  d.currentOwner
    ? `${d.currentOwner.name ?? `customer ${d.currentOwner.customerId}`}${d.currentOwner.siteName ? ` (${d.currentOwner.siteName})` : ''}`
    : '';

/** @param {string} v */
const csvCell = (v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** Downloads every ineligible device as CSV, built here from the dry run's answer. @param {any[]} bad */
function downloadIneligible(bad) {
  const lines = [['identifier', 'reason', 'message', 'current_owner', 'current_site']].concat(
    bad.map((d) => [
      d.identifier,
      d.errorCategory ?? '',
      d.message ?? '',
      d.currentOwner?.name ?? '',
      d.currentOwner?.siteName ?? '',
    ]),
  );
  const blob = new Blob([lines.map((l) => l.map(csvCell).join(',')).join('\n') + '\n'], { type: 'text/csv' });
  const a = h('a', { href: URL.createObjectURL(blob), download: 'ineligible-devices.csv', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (a).href), 10_000);
}

/** @param {number} n */
const belong = (n) => `${fmtNum(n)} ${n === 1 ? 'device belongs' : 'devices belong'} to other customers`;

/** Draws a dry run's answer into `result`. @param {HTMLElement} result @param {any} answer */
export function showCheck(result, answer) {
  const bad = answer.devices.filter((/** @type {any} */ d) => !d.eligible);
  const dup = answer.duplicates?.length ?? 0;
  const shown = bad.slice(0, SHOWN);
  const ownedDevices = bad.filter((/** @type {any} */ d) => d.errorCategory === 'owned');
  const owned = ownedDevices.length;
  const moving = answer.counts.changingHands ?? 0;
  const movingDevices = answer.devices.filter((/** @type {any} */ d) => d.eligible && d.changesHands);
  replace(
    result,
    h(
      'div',
      { class: `banner ${bad.length || moving ? 'warn' : 'ok'}`, 'data-testid': 'check-summary' },
      h('strong', {
        text: `${fmtNum(answer.counts.eligible)} eligible, ${fmtNum(answer.counts.ineligible)} ineligible, ${fmtNum(dup)} duplicate${dup === 1 ? '' : 's'}`,
      }),
      moving > 0 &&
        h('div', {
          'data-testid': 'changing-hands',
          text: `${belong(moving)} and will change hands: ${ownersOf(movingDevices)}.`,
        }),
      owned > 0 &&
        h('div', {
          text: `${belong(owned)} (${ownersOf(ownedDevices)}); tick "Also move devices that belong to other customers" to move them.`,
        }),
      dup > 0 &&
        h('div', {
          class: 'small',
          text: `Duplicates (counted once): ${answer.duplicates.slice(0, 20).join(', ')}${dup > 20 ? ', …' : ''}`,
        }),
    ),
    bad.length > 0 &&
      h(
        'p',
        { 'data-testid': 'eligible-only' },
        `Submit assigns the ${fmtNum(answer.counts.eligible)} eligible devices only. The ${fmtNum(bad.length)} ineligible are recorded in the bulk change as errors and left unchanged. `,
        h('button', {
          type: 'button',
          text: `Download all ${fmtNum(bad.length)} ineligible (CSV)`,
          onclick: () => downloadIneligible(bad),
        }),
      ),
    movingDevices.length > 0 &&
      table({
        label: 'Devices changing hands',
        heads: ['Identifier', 'Owner today (site)'],
        body: h(
          'tbody',
          {},
          movingDevices
            .slice(0, SHOWN)
            .map((/** @type {any} */ d) =>
              h('tr', {}, h('td', { class: 'mono', text: d.identifier }), h('td', { text: ownerText(d) })),
            ),
        ),
      }),
    bad.length > 0 &&
      table({
        label: 'Ineligible devices',
        heads: ['Identifier', 'Category', 'Message', 'Owner today'],
        body: h(
          'tbody',
          {},
          shown.map((/** @type {any} */ d) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono', text: d.identifier }),
              h('td', { text: d.errorCategory ?? '' }),
              h('td', { text: d.message ?? '' }),
              h('td', { text: ownerText(d) }),
            ),
          ),
        ),
      }),
    bad.length > shown.length &&
      h('p', { class: 'muted small', text: `First ${shown.length} of ${fmtNum(bad.length)} shown.` }),
  );
}
