// Bulk change page, Undo (issue 16): the dry run in a dialog first, then the undo, then its own page.
import { api, errorText, isSignedOut } from '../lib/api.js';
import { openDialog } from '../lib/dialog.js';
import { h, replace } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { navigate } from '../lib/router.js';

/** @param {number} id @param {HTMLElement} message where a refused dry run is said */
export async function undoBulkChange(id, message) {
  let plan;
  try {
    plan = await api('POST', `/bulk-changes/${id}/undo`, { dryRun: true });
  } catch (error) {
    if (!isSignedOut(error))
      replace(message, h('div', { class: 'banner error', role: 'alert', text: errorText(error) }));
    return;
  }
  const n = plan.counts;
  openDialog(`Undo bulk change #${id}?`, (close) => {
    const failure = h('div', { role: 'alert' });
    const confirmButton = /** @type {HTMLButtonElement} */ (
      h('button', {
        type: 'button',
        class: 'primary',
        'data-testid': 'undo-confirm',
        text: `Undo ${fmtNum(n.restorable)} devices`,
      })
    );
    confirmButton.disabled = n.restorable === 0;
    confirmButton.onclick = async () => {
      confirmButton.disabled = true;
      try {
        const created = await api('POST', `/bulk-changes/${id}/undo`);
        close();
        navigate(`/bulk-changes/${created.id}`);
      } catch (error) {
        confirmButton.disabled = false;
        if (!isSignedOut(error))
          replace(failure, h('div', { class: 'banner error', text: errorText(error) }));
      }
    };
    return h(
      'div',
      { 'data-testid': 'undo-dry-run' },
      h(
        'ul',
        {},
        h('li', {
          'data-testid': 'undo-restorable',
          text: `${fmtNum(n.restorable)} devices put back as they were`,
        }),
        h('li', {
          'data-testid': 'undo-conflicts',
          text: `${fmtNum(n.conflicts)} changed since: left alone and reported`,
        }),
        h('li', {
          'data-testid': 'undo-rev',
          text: `${fmtNum(n.revServices)} Rev.io services (${fmtNum(n.revServiceProducts)} products) disconnected today`,
        }),
        h('li', { text: `${fmtNum(n.carrierPlans)} carrier rate plans changed back` }),
      ),
      plan.conflicts.length > 0 &&
        h(
          'ul',
          { class: 'muted small' },
          ...plan.conflicts
            .slice(0, 5)
            .map((/** @type {any} */ c) => h('li', { text: `${c.identifier}: ${c.message}` })),
        ),
      failure,
      h(
        'div',
        { class: 'actions' },
        confirmButton,
        h('button', { type: 'button', text: 'Keep as is', onclick: close }),
      ),
    );
  });
}
