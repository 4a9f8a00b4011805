// How values read on the screens: times, durations, numbers, statuses and partner names.
import { h } from './dom.js';

/** @type {Record<string, string>} */
export const SYSTEM_NAMES = { revio: 'Rev.io', thingspace: 'ThingSpace', jasper: 'Jasper' };
/** @type {Record<string, string>} */
export const PORTAL_NAMES = { m2m: 'M2M', mobility: 'Mobility', lnp: 'LNP' };

/** @param {number} n */
const pad = (n) => String(n).padStart(2, '0');

/** @param {string | null | undefined} iso */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** @param {string | null | undefined} from @param {string | null | undefined} to */
export function fmtDuration(from, to) {
  if (!from) return '';
  const ms = (to ? new Date(to) : new Date()).getTime() - new Date(from).getTime();
  if (ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** @param {number | null | undefined} n */
export const fmtNum = (n) => Number(n ?? 0).toLocaleString('en-US');

/** "Rev.io 1,204 · Jasper 300", or "none" (what a finished bulk change asked of each partner). */
export function externalCalls(/** @type {Record<string, number>} */ calls) {
  const parts = Object.entries(calls ?? {})
    .filter(([, n]) => n > 0)
    .map(([system, n]) => `${SYSTEM_NAMES[system] ?? system} ${fmtNum(n)}`);
  return parts.length ? parts.join(' · ') : 'none';
}

/** @param {string} status */
export function statusClass(status) {
  switch (status) {
    case 'PROCESSED':
    case 'SUCCEEDED':
      return 'ok';
    case 'ERROR':
    case 'PROCESSED_WITH_ERRORS':
    case 'FAILED':
      return 'err';
    case 'PROCESSING':
    case 'WAITING_CARRIER':
    case 'PENDING':
    case 'RUNNING':
      return 'busy';
    case 'NEW':
    case 'QUEUED':
      return 'new';
    default:
      return '';
  }
}

/** @param {string} status */
export const statusLabel = (status) => status.replace(/_/g, ' ');

/** @param {string} status @param {string} [extra] */
export function badge(status, extra = '') {
  return h('span', { class: `badge ${statusClass(status)} ${extra}`.trim(), text: statusLabel(status) });
}
