// New assignment: devices pasted, customer and site, the options; Check (a dry run) and Submit.
import { all, api, canSubmit, customers, providers } from '../lib/api.js';
import { confirmDialog } from '../lib/dialog.js';
import { h, link, replace } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { formErrors, formField, numberIn, showFailure } from '../lib/forms.js';
import { navigate } from '../lib/router.js';
import { customerPicker } from '../widgets/customer-picker.js';
import { showCheck } from './new-assignment-check.js';
import { carrierPlanOption, customerPlanOption } from './new-assignment-plans.js';
import { revOption } from './new-assignment-rev.js';
import { reviewSentence } from './new-assignment-review.js';
import { deviceSource } from './new-assignment-source.js';

/** @param {import('../lib/router.js').View} view */
export async function newAssignmentScreen(view) {
  if (!canSubmit()) {
    view.show(
      h('h1', { text: 'New assignment' }),
      h('div', { class: 'banner info', text: 'Your role may read bulk changes but not submit them.' }),
    );
    return;
  }
  const [providerMap, customerMap] = await Promise.all([providers(), customers()]);
  const [customerPlans, pools] = await Promise.all([all('/rate-plans?kind=customer'), all('/rate-pools')]);
  const errors = formErrors();

  const provider = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'provider', required: true },
      h('option', { value: '', text: 'Choose a provider…' }),
      [...providerMap.values()].map((p) => h('option', { value: p.id, text: p.name })),
    )
  );

  /** Check's answer, while the form is unchanged since. @type {any} */
  let checked = null;
  const review = h('p', { class: 'review', 'data-testid': 'review', 'aria-live': 'polite' });
  const source = deviceSource({ provider, errors, onChange: () => formChanged() });
  const picker = customerPicker(customerMap);
  const customer = picker.select;
  const site = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'site', disabled: true, class: 'wide' },
      h('option', { value: '', text: 'Choose a customer first' }),
    )
  );
  const rev = revOption({ customer, customerMap, errors });
  const loadSites = async () => {
    const id = customer.value;
    site.disabled = true;
    if (!id) {
      replace(site, h('option', { value: '', text: 'Choose a customer first' }));
      return;
    }
    replace(site, h('option', { value: '', text: 'Loading…' }));
    const sites = await all(`/customers/${id}/sites`);
    if (customer.value !== id) return;
    replace(
      site,
      h('option', { value: '', text: "Customer's default site" }),
      sites.map((s) =>
        h('option', {
          value: s.id,
          text: `${s.name}${s.isDefault ? ' (default)' : ''}${s.address ? ` — ${s.address}` : ''}`,
          selected: s.isDefault,
        }),
      ),
    );
    site.disabled = false;
    rev.needsRevCustomer(customerMap.get(Number(id))?.kind !== 'rev');
  };
  customer.addEventListener('change', () => void loadSites());
  picker.fill();
  customer.addEventListener('change', () => void rev.load());
  if (customer.value) void rev.load();

  // Options. Moving devices another customer owns is off by default: they are refused as `owned`.
  const box = (/** @type {string} */ id) =>
    /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id }));
  const reassign = box('opt-reassign');
  const createRev = box('opt-rev');
  const addCustomerPlan = box('opt-customer-plan');
  const addCarrierPlan = box('opt-carrier-plan');
  const customerPlan = customerPlanOption({ customerPlans, pools, errors });
  const carrierPlan = carrierPlanOption({ provider, errors });
  for (const [option, sub] of /** @type {[HTMLInputElement, HTMLElement][]} */ ([
    [createRev, rev.sub],
    [addCustomerPlan, customerPlan.sub],
    [addCarrierPlan, carrierPlan.sub],
  ]))
    option.addEventListener('change', () => (sub.hidden = !option.checked));

  const effectiveDate = /** @type {HTMLInputElement} */ (h('input', { id: 'effective-date', type: 'date' }));

  const checkButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', text: 'Check', onclick: () => void send(true) })
  );
  const submitButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'primary', text: 'Submit', onclick: () => void send(false) })
  );
  const result = h('div', { 'data-testid': 'check-result' });

  /** The request body, from the form. @param {boolean} dryRun */
  const body = (dryRun) => ({
    changeType: 'customer_assignment',
    serviceProviderId: numberIn(provider.value),
    ...source.value(),
    customerId: numberIn(customer.value),
    siteId: numberIn(site.value),
    reassign: reassign.checked || undefined,
    createRevService: createRev.checked,
    addCustomerRatePlan: addCustomerPlan.checked,
    addCarrierRatePlan: addCarrierPlan.checked,
    effectiveDate: effectiveDate.value || undefined,
    dryRun,
    revService: createRev.checked ? rev.value() : undefined,
    customerRatePlan: addCustomerPlan.checked ? customerPlan.value() : undefined,
    carrierRatePlan: addCarrierPlan.checked ? carrierPlan.value() : undefined,
  });

  /** What the server would refuse anyway, with a clearer message. @param {ReturnType<typeof body>} b */
  const localErrors = (b) => {
    const local = [];
    if (!b.serviceProviderId)
      local.push({ path: '/serviceProviderId', message: 'Choose a service provider.' });
    if (b.devices && b.devices.length === 0)
      local.push({ path: '/devices', message: 'Paste at least one ICCID or MSISDN, or choose a file.' });
    if (!b.customerId) local.push({ path: '/customerId', message: 'Choose a customer.' });
    return local;
  };

  const customerName = () => customerMap.get(Number(customer.value))?.name;
  const drawReview = () => {
    const revValue = createRev.checked ? rev.value() : null;
    review.textContent = reviewSentence({
      count: checked ? checked.counts.eligible : source.count(),
      checked: checked !== null,
      customer: customerName(),
      site: site.value
        ? (site.selectedOptions[0]?.textContent ?? '').split(' — ')[0]?.replace(' (default)', '')
        : undefined,
      rev: revValue ? { products: revValue.products?.length ?? 0, packageId: revValue.packageId } : null,
      customerPlan: addCustomerPlan.checked ? customerPlan.name() : undefined,
      carrierPlan: addCarrierPlan.checked ? carrierPlan.name() : undefined,
      date: effectiveDate.value,
    });
  };
  /** Any change: Check's answer no longer holds. */
  function formChanged() {
    checked = null;
    drawReview();
  }

  const send = async (/** @type {boolean} */ dryRun) => {
    errors.clear();
    const b = body(dryRun);
    const local = localErrors(b);
    if (local.length) {
      errors.show('Some fields need your attention.', local);
      errors.banner.scrollIntoView({ block: 'nearest' });
      return;
    }
    checkButton.disabled = submitButton.disabled = true;
    try {
      // Devices that change hands are moved only once the user said so, knowing how many.
      if (!dryRun && b.reassign) {
        const dry = await api('POST', '/bulk-changes', { ...b, dryRun: true });
        const moving = dry.counts.changingHands ?? 0;
        if (moving > 0) {
          const ok = await confirmDialog({
            title: 'Move devices other customers own?',
            message: `${fmtNum(moving)} ${moving === 1 ? 'device belongs' : 'devices belong'} to other customers today and will be moved to ${customerName() ?? 'this customer'}.`,
            confirm: `Move ${fmtNum(moving)} and submit`,
            keep: 'Go back',
            danger: true,
          });
          if (!ok) return;
        }
      }
      const answer = await api('POST', '/bulk-changes', b);
      if (dryRun) {
        showCheck(result, answer);
        checked = answer;
        drawReview();
        result.scrollIntoView({ block: 'nearest' });
      } else navigate(`/bulk-changes/${answer.id}`);
    } catch (error) {
      showFailure(errors, error);
      errors.banner.scrollIntoView({ block: 'nearest' });
    } finally {
      checkButton.disabled = submitButton.disabled = false;
    }
  };

  /** One option: its checkbox, and what it asks for once ticked. @param {HTMLInputElement} input @param {string} label @param {HTMLElement} [sub] */
  const option = (input, label, sub) =>
    h('div', { class: 'option' }, h('label', { class: 'check' }, input, label), sub);

  const shown = view.show(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'New assignment' }),
      h('div', { class: 'actions' }, link('/', { class: 'button', text: 'Cancel' })),
    ),
    errors.banner,
    h(
      'form',
      {
        novalidate: true,
        onsubmit: (/** @type {Event} */ e) => e.preventDefault(),
        oninput: () => formChanged(),
        onchange: () => formChanged(),
      },
      h(
        'div',
        { class: 'grid2' },
        h(
          'div',
          { class: 'panel' },
          h('h2', { text: 'Devices' }),
          formField(errors, 'serviceProviderId', 'Service provider', provider),
          source.filterSummary,
          source.pasted,
          source.drop,
          source.fileSummary,
        ),
        h(
          'div',
          { class: 'panel' },
          h('h2', { text: 'Customer and site' }),
          h(
            'div',
            { class: 'field' },
            h('label', { for: 'customer-filter', text: 'Customer' }),
            picker.filter,
            h('div', { style: 'height:6px' }),
            customer,
            errors.slot('customerId', customer),
          ),
          formField(errors, 'siteId', 'Site', site),
        ),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', { text: 'Options' }),
        option(reassign, 'Also move devices that belong to other customers'),
        option(createRev, 'Create Rev.io service', rev.sub),
        option(addCustomerPlan, 'Customer rate plan', customerPlan.sub),
        option(addCarrierPlan, 'Carrier rate plan', carrierPlan.sub),
        h(
          'div',
          { class: 'option' },
          formField(
            errors,
            'effectiveDate',
            'Effective date',
            effectiveDate,
            "Optional. When empty, each device's activation date is used.",
          ),
        ),
      ),
      h('div', { class: 'panel' }, h('h2', { text: 'Review' }), review),
      h(
        'div',
        { class: 'form-actions' },
        checkButton,
        submitButton,
        h('span', { class: 'muted small', text: 'Check validates every device without changing anything.' }),
      ),
    ),
    h('div', { style: 'margin-top:16px' }, result),
  );
  source.takeHandOver();
  drawReview();
  if (shown) provider.focus();
}
