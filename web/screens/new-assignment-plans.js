// New assignment, the plan options: the customer rate plan and pool, and the carrier rate plan of
// the chosen provider (with its communication plan).
import { all } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { numberOf } from '../lib/forms.js';
import { searchable } from '../widgets/picker.js';

/** @typedef {import('../lib/forms.js').FormErrors} FormErrors */

/** @param {{ customerPlans: any[], pools: any[], errors: FormErrors }} spec */
export function customerPlanOption({ customerPlans, pools, errors }) {
  const plan = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'customer-plan' },
      h('option', { value: '', text: '— no plan —' }),
      customerPlans.map((p) =>
        h('option', {
          value: p.id,
          text: `${p.code} · ${p.name} (${fmtNum(p.dataAllocationMb)} MB, ${Number(p.monthlyRate).toFixed(2)}/month)`,
        }),
      ),
    )
  );
  const pool = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'rate-pool' },
      h('option', { value: '', text: '— no pool —' }),
      pools.map((p) => h('option', { value: p.id, text: `${p.name} (${fmtNum(p.sharedDataMb)} MB)` })),
    )
  );
  const sub = h(
    'div',
    { class: 'sub', hidden: true },
    h(
      'div',
      { class: 'row' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'customer-plan', text: 'Rate plan' }),
        searchable(plan, 'rate plans'),
      ),
      h('div', { class: 'field' }, h('label', { for: 'rate-pool', text: 'Rate pool' }), pool),
    ),
    errors.slot('customerRatePlan', plan),
  );
  /** The request's `customerRatePlan`. */
  const value = () => ({ ratePlanId: numberOf(plan), ratePoolId: numberOf(pool) });
  /** The chosen plan's name, for the review sentence. */
  const name = () => (plan.value ? customerPlans.find((p) => String(p.id) === plan.value)?.name : undefined);
  return { sub, value, name };
}

/** @param {{ provider: HTMLSelectElement, errors: FormErrors }} spec */
export function carrierPlanOption({ provider, errors }) {
  const plan = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'carrier-plan' }, h('option', { value: '', text: 'Choose a provider first' }))
  );
  const commPlan = h('div', { class: 'hint', 'data-testid': 'comm-plan' });
  /** @type {any[]} */
  let plans = [];
  const chosen = () => plans.find((p) => p.code === plan.value);
  const showCommPlan = () => {
    const p = chosen();
    commPlan.textContent = p ? `Communication plan: ${p.communicationPlan ?? 'none (unchanged)'}` : '';
  };
  plan.addEventListener('change', showCommPlan);
  const load = async () => {
    const id = provider.value;
    plans = [];
    replace(plan, h('option', { value: '', text: id ? 'Loading…' : 'Choose a provider first' }));
    showCommPlan();
    if (!id) return;
    const read = await all(`/rate-plans?kind=carrier&serviceProviderId=${id}`);
    if (provider.value !== id) return;
    plans = read;
    replace(
      plan,
      h('option', { value: '', text: 'Choose a carrier plan…' }),
      read.map((p) => h('option', { value: p.code, text: `${p.code} · ${p.name}` })),
    );
  };
  provider.addEventListener('change', () => void load());
  const sub = h(
    'div',
    { class: 'sub', hidden: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'carrier-plan', text: 'Carrier rate plan' }),
      searchable(plan, 'carrier plans'),
      commPlan,
    ),
    errors.slot('carrierRatePlan', plan),
  );
  /** The request's `carrierRatePlan`: the plan's own communication plan goes with it. */
  const value = () => ({
    ratePlan: plan.value || undefined,
    communicationPlan: chosen()?.communicationPlan ?? undefined,
  });
  /** The chosen plan's name, for the review sentence. */
  const name = () => chosen()?.name;
  return { sub, value, name };
}
