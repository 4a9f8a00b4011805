// The tenant's customer rate plans and pools (what the assignment form offers), with forms for admins.
import { all, api } from '../lib/api.js';
import { h, replace, say } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { apiForm, formField, numberOf, textInput } from '../lib/forms.js';
import { dataTable, emptyRow } from '../widgets/table.js';

/** @param {boolean} admin */
export async function plansSection(admin) {
  const notice = h('div', { 'aria-live': 'polite' });
  const plansBody = h('tbody');
  const poolsBody = h('tbody');
  const load = async () => {
    const [plans, pools] = await Promise.all([all('/rate-plans?kind=customer'), all('/rate-pools')]);
    replace(
      plansBody,
      plans.length === 0
        ? emptyRow(4, 'No customer rate plan yet.')
        : plans.map((p) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono', text: p.code }),
              h('td', { text: p.name }),
              h('td', { class: 'num', text: fmtNum(p.dataAllocationMb) }),
              h('td', { class: 'num', text: Number(p.monthlyRate).toFixed(2) }),
            ),
          ),
    );
    replace(
      poolsBody,
      pools.length === 0
        ? emptyRow(2, 'No rate pool yet.')
        : pools.map((p) =>
            h('tr', {}, h('td', { text: p.name }), h('td', { class: 'num', text: fmtNum(p.sharedDataMb) })),
          ),
    );
  };
  await load();
  const added = async (/** @type {string} */ text) => {
    say(notice, 'ok', text);
    await load();
  };

  const code = textInput('plan-code');
  const planName = textInput('plan-name');
  const allocation = textInput('plan-mb', { type: 'number', min: '0', step: 'any' });
  const rate = textInput('plan-rate', { type: 'number', min: '0', step: '0.01' });
  const planForm = apiForm({
    label: 'Add a rate plan',
    submit: 'Add rate plan',
    fields: (errors) =>
      h(
        'div',
        { class: 'row' },
        formField(errors, 'code', 'Code', code),
        formField(errors, 'name', 'Name', planName),
        formField(errors, 'dataAllocationMb', 'Data (MB)', allocation),
        formField(errors, 'monthlyRate', 'Monthly rate', rate),
      ),
    send: () =>
      api('POST', '/rate-plans', {
        code: code.value.trim(),
        name: planName.value.trim(),
        dataAllocationMb: numberOf(allocation),
        monthlyRate: numberOf(rate),
      }),
    done: (created) => added(`Rate plan ${created.code} added.`),
  });

  const poolName = textInput('pool-name');
  const shared = textInput('pool-mb', { type: 'number', min: '0', step: 'any' });
  const poolForm = apiForm({
    label: 'Add a pool',
    submit: 'Add pool',
    fields: (errors) =>
      h(
        'div',
        { class: 'row' },
        formField(errors, 'name', 'Name', poolName),
        formField(errors, 'sharedDataMb', 'Shared data (MB)', shared),
      ),
    send: () => api('POST', '/rate-pools', { name: poolName.value.trim(), sharedDataMb: numberOf(shared) }),
    done: (created) => added(`Pool ${created.name} added.`),
  });

  return h(
    'div',
    { class: 'section' },
    h('h2', { text: 'Customer rate plans and pools' }),
    h('p', {
      class: 'muted',
      text: 'What the tenant charges its customers; the New assignment form offers them.',
    }),
    notice,
    h(
      'div',
      { class: 'grid2' },
      h(
        'div',
        {},
        dataTable('Customer rate plans', ['Code', 'Name', 'Data (MB)', 'Monthly rate'], plansBody),
        admin && planForm,
      ),
      h('div', {}, dataTable('Rate pools', ['Name', 'Shared data (MB)'], poolsBody), admin && poolForm),
    ),
  );
}
