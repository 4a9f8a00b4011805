// The Accounts screen's sync runs: the newest runs, refreshed while one is open, and the buttons that
// start a sync.
import { api, errorText, isSignedOut } from '../lib/api.js';
import { h, replace, say } from '../lib/dom.js';
import { badge, fmtDuration, fmtNum, fmtTime } from '../lib/format.js';
import { emptyRow, table } from '../widgets/table.js';

const OPEN_SYNC_STATUSES = ['QUEUED', 'RUNNING'];
/** How many sync runs the Accounts screen shows, newest first. */
const SYNC_RUNS_SHOWN = 20;
const COLUMNS = ['What', 'Kind', 'Status', 'Seen', 'Created', 'Changed', 'Gone', 'Skipped', 'Pages'];

/**
 * @param {{ view: import('../lib/router.js').View, notice: HTMLElement,
 *   targetOf: (run: any) => string }} spec `targetOf`: what a run syncs ("Cisco Jasper M2M", "Rev.io billing")
 */
export function syncRuns({ view, notice, targetOf }) {
  const runsBody = h('tbody');

  const drawRuns = (/** @type {any[]} */ runs) => {
    const count = (/** @type {string} */ key, /** @type {number | null} */ n) =>
      h('td', { class: 'num', dataset: { count: key }, text: n === null ? '—' : fmtNum(n) });
    replace(
      runsBody,
      runs.length === 0
        ? emptyRow(12, 'No syncs yet: start one above.')
        : runs.map((run) => [
            h(
              'tr',
              { dataset: { id: run.id, status: run.status } },
              h(
                'td',
                {},
                h('div', { text: targetOf(run) }),
                h('div', {
                  class: 'muted small',
                  text: `#${run.id}${run.requestedBy === null ? ' · hourly' : ''}`,
                }),
              ),
              h('td', {}, h('div', { text: run.kind }), h('div', { class: 'muted small', text: run.mode })),
              h('td', {}, badge(run.status)),
              ['seen', 'created', 'changed', 'gone', 'skipped', 'pages'].map((key) =>
                count(key, run.counts[key]),
              ),
              h('td', { class: 'small nowrap', text: fmtTime(run.startedAt) }),
              h('td', { class: 'small nowrap', text: fmtTime(run.finishedAt) }),
              h('td', {
                class: 'small nowrap',
                text: run.startedAt ? fmtDuration(run.startedAt, run.finishedAt) : '',
              }),
            ),
            run.status === 'FAILED' &&
              run.error &&
              h(
                'tr',
                { class: 'run-error', dataset: { errorOf: run.id } },
                h('td', { colspan: '12' }, h('strong', { text: 'Error: ' }), run.error),
              ),
          ]),
    );
  };

  /** Responses may cross (a click and a refresh): only the latest request draws. */
  let asked = 0;
  /** Reads the newest runs and draws them; whether any is still open. */
  const load = async () => {
    const mine = ++asked;
    const { items: runs } = await api('GET', `/sync-runs?limit=${SYNC_RUNS_SHOWN}`);
    if (mine === asked) drawRuns(runs);
    return runs.some((/** @type {any} */ r) => OPEN_SYNC_STATUSES.includes(r.status));
  };

  let polling = false;
  const watch = () => {
    if (polling || !runsBody.isConnected) return;
    polling = true;
    view.every(async () => {
      const open = runsBody.isConnected && (await load());
      if (!open) polling = false;
      return open;
    });
  };

  /** A sync button: disabled while its request is in flight; the run then shows in the table. */
  const button = (/** @type {string} */ text, /** @type {string} */ label, /** @type {string} */ path) =>
    h('button', {
      type: 'button',
      text,
      'aria-label': `${text} of ${label}`,
      onclick: async (/** @type {Event} */ e) => {
        const clicked = /** @type {HTMLButtonElement} */ (e.currentTarget);
        clicked.disabled = true;
        try {
          const run = await api('POST', path);
          say(
            notice,
            'ok',
            run.status === 'QUEUED'
              ? `Sync queued: ${run.kind} of ${label} (run #${run.id}).`
              : `A sync of ${label} is already running (run #${run.id}).`,
          );
          await load();
          watch();
        } catch (error) {
          if (!isSignedOut(error)) say(notice, 'error', errorText(error));
        } finally {
          clicked.disabled = false;
        }
      },
    });

  const section = h(
    'section',
    { class: 'section', 'aria-labelledby': 'sync-runs-title' },
    h('h2', { id: 'sync-runs-title', text: 'Sync runs' }),
    table({
      labelledBy: 'sync-runs-title',
      heads: [
        ...COLUMNS.map((text, i) => ({ text, num: i >= 3 })),
        ...['Started', 'Finished', 'Took'].map((text) => ({ text })),
      ],
      body: runsBody,
    }),
  );
  return { section, load, watch, button };
}
