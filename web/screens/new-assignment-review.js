// New assignment, the review: one sentence that says what Submit will do.
import { fmtNum } from '../lib/format.js';

/**
 * @typedef {object} Review
 * @property {number | null} count the devices that will be assigned (null: not known yet)
 * @property {boolean} checked whether `count` is Check's eligible count
 * @property {string | undefined} customer the customer's name
 * @property {string | undefined} site the site's name, when one is chosen
 * @property {{ products: number, packageId?: number } | null} rev the Rev.io service asked for, or null
 * @property {string | undefined} customerPlan the customer rate plan's name
 * @property {string | undefined} carrierPlan the carrier plan's name
 * @property {string} date the effective date, or '' (each device's activation date)
 */

/** @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => `${fmtNum(n)} ${n === 1 ? one : many}`;

/** "Assign 1,204 devices to Blue Ridge Agritech, create 1,204 Rev.io services with 2 products each, on 2026-12-05." @param {Review} r */
export function reviewSentence(r) {
  if (!r.customer) return 'Choose the devices and a customer; this line then says what Submit will do.';
  const n = r.count;
  const devices = n === null ? 'the selected devices' : plural(n, 'device', 'devices');
  const parts = [
    `Assign ${devices}${r.checked ? ' (the eligible ones)' : ''} to ${r.customer}${r.site ? `, site ${r.site}` : ''}`,
  ];
  if (r.rev) {
    const services = n === null ? 'a Rev.io service each' : plural(n, 'Rev.io service', 'Rev.io services');
    const what = r.rev.packageId
      ? ` with package ${r.rev.packageId}${r.rev.products ? ` and ${plural(r.rev.products, 'product', 'products')} each` : ''}`
      : r.rev.products
        ? ` with ${plural(r.rev.products, 'product', 'products')} each`
        : '';
    parts.push(`create ${services}${what}`);
  }
  if (r.customerPlan) parts.push(`put them on the customer rate plan ${r.customerPlan}`);
  if (r.carrierPlan) parts.push(`move them to the carrier plan ${r.carrierPlan}`);
  return `${parts.join(', ')}, ${r.date ? `on ${r.date}` : "on each device's activation date"}.`;
}
