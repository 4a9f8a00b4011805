// The progress bar of a bulk change.
import { h } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';

/**
 * A progress bar from counts: processed (green), error (red), waiting/processing (amber), cancelled (grey).
 * @param {import('../lib/types.js').Counts} counts @param {boolean} [big]
 */
export function progressBar(counts, big = false) {
  const total = counts.total || 0;
  const part = (/** @type {number} */ n, /** @type {string} */ cls) =>
    n > 0 && total > 0 ? h('span', { class: cls, style: `width:${(100 * n) / total}%` }) : null;
  const done = counts.processed + counts.error + counts.cancelled;
  return h(
    'div',
    {
      class: big ? 'progress big' : 'progress',
      role: 'progressbar',
      'aria-valuemin': 0,
      'aria-valuemax': total,
      'aria-valuenow': done,
      title: `${fmtNum(counts.processed)} processed, ${fmtNum(counts.error)} error, ${fmtNum(counts.cancelled)} cancelled of ${fmtNum(total)}`,
    },
    part(counts.processed, 'p-ok'),
    part(counts.error, 'p-err'),
    part(counts.waiting + counts.processing, 'p-wait'),
    part(counts.cancelled, 'p-cancel'),
  );
}
