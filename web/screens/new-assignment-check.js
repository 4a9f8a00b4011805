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
      table({
        label: 'Ineligible devices',
        heads: ['Identifier', 'Category', 'Message'],
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
            ),
          ),
        ),
      }),
    bad.length > shown.length &&
      h('p', { class: 'muted small', text: `First ${shown.length} of ${fmtNum(bad.length)} shown.` }),
  );
}
