// Bulk change page: each device's steps (done, failed, not reached) and the change log's filters
// (a device's ICCID, a step).
import { h } from '../lib/dom.js';

/** The steps in the order a device goes through them, with their names. */
export const STEPS = /** @type {const} */ ([
  ['validation', 'Validation'],
  ['rev_service', 'Rev.io service'],
  ['ownership', 'Ownership'],
  ['customer_rate_plan', 'Customer rate plan'],
  ['carrier_rate_plan', 'Carrier plan'],
  ['processing', 'Processing'],
  ['other', 'Other'],
]);
const NAMES = new Map(STEPS);

/** The steps a bulk change's options ask for, in order. @param {Record<string, any>} options */
export function plannedSteps(options) {
  return [
    options.createRevService && 'rev_service',
    'ownership',
    options.addCustomerRatePlan && 'customer_rate_plan',
    options.addCarrierRatePlan && 'carrier_rate_plan',
  ].filter((s) => typeof s === 'string');
}

/**
 * A device's steps: ✓ done, ✗ the one that failed (the first not done, on an error), · not reached;
 * each in words for screen readers.
 * @param {{ status: string, stepsDone?: string[] }} row @param {string[]} planned
 */
export function stepsCell(row, planned) {
  const done = new Set(row.stepsDone ?? []);
  const failedAt = row.status === 'ERROR' ? planned.find((s) => !done.has(s)) : undefined;
  const items = planned.map((step) => {
    const name = NAMES.get(/** @type {any} */ (step)) ?? step;
    const state = done.has(step) ? 'done' : step === failedAt ? 'failed' : 'not reached';
    const mark = state === 'done' ? '✓' : state === 'failed' ? '✗' : '·';
    return h(
      'li',
      { class: `step step-${state.replace(' ', '-')}`, dataset: { step, state } },
      h('span', { 'aria-hidden': 'true', text: `${mark} ` }),
      h('span', { text: name }),
      h('span', { class: 'sr-only', text: `: ${state}` }),
    );
  });
  return h('td', {}, h('ul', { class: 'steps', 'aria-label': 'Steps' }, items));
}

/**
 * The change log's filters. Applying one calls `apply` with `filter` updated in place.
 * @param {{ iccid: string, step: string }} filter @param {() => void} apply
 */
export function logFilters(filter, apply) {
  const iccid = h('input', {
    id: 'log-iccid',
    type: 'search',
    inputmode: 'numeric',
    pattern: '[0-9]{19,20}',
    placeholder: '19–20 digits',
    value: filter.iccid,
  });
  const step = h(
    'select',
    { id: 'log-step' },
    h('option', { value: '', text: 'All steps' }),
    STEPS.map(([value, text]) => h('option', { value, text, selected: filter.step === value })),
  );
  const error = h('div', { class: 'field-error', role: 'alert' });
  const submit = (/** @type {Event} */ e) => {
    e.preventDefault();
    const digits = /** @type {HTMLInputElement} */ (iccid).value.replace(/\D/g, '');
    if (digits && !/^[0-9]{19,20}$/.test(digits)) {
      error.textContent = 'An ICCID has 19 or 20 digits.';
      return;
    }
    error.textContent = '';
    filter.iccid = digits;
    filter.step = /** @type {HTMLSelectElement} */ (step).value;
    apply();
  };
  return h(
    'form',
    { class: 'toolbar filters', 'aria-label': 'Filter the change log', onsubmit: submit },
    h('div', { class: 'field' }, h('label', { for: 'log-iccid', text: 'Device ICCID' }), iccid),
    h('div', { class: 'field' }, h('label', { for: 'log-step', text: 'Step' }), step),
    h('button', { type: 'submit', text: 'Filter' }),
    error,
  );
}
