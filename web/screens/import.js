// Import (admins): customers and devices from CSV files, checked whole before anything is written.
import { api, errorText, isSignedOut, ApiError, providers } from '../lib/api.js';
import { h, replace, say } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { formErrors, formField } from '../lib/forms.js';
import { table } from '../widgets/table.js';

/** What the import routes accept (their `bodyLimit` and row limits), checked before a file is sent. */
const IMPORT_MAX_BYTES = 16 * 1024 * 1024;

/** @typedef {import('../lib/types.js').ErrorDetail} ErrorDetail */

/** Rows of the problems table from a refused file: `/rows/<line>/<column>`, or the file as a whole. */
function problemRows(/** @type {ErrorDetail[]} */ details) {
  return details.map((d) => {
    const row = /^\/rows\/(\d+)\/(.+)$/.exec(d.path ?? '');
    return h(
      'tr',
      {},
      h('td', { class: 'num', text: row ? row[1] : '—' }),
      h('td', { class: 'mono', text: row ? row[2] : d.path === '/csv/header' ? 'header' : 'file' }),
      h('td', { text: d.message }),
    );
  });
}

/**
 * One CSV upload: a file read in the browser as text and posted as `{ csv }`; the figures, or the
 * problems of a refused file in a table. @param {{ key: string, title: string, template: string,
 * limits: string, before?: (errors: import('../lib/forms.js').FormErrors) => HTMLElement,
 * path: () => string | ErrorDetail, figures: (a: any) => string }} spec
 */
function importPanel(spec) {
  const errors = formErrors();
  const file = /** @type {HTMLInputElement} */ (
    h('input', { id: `${spec.key}-file`, type: 'file', accept: '.csv,text/csv' })
  );
  const result = h('div', {
    'aria-live': 'polite',
    'data-testid': `${spec.key}-result`,
    style: 'margin-top:12px',
  });
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', text: 'Import' })
  );
  /** The file's problems, by line and column. @param {File} chosen @param {unknown} error */
  const refused = (chosen, error) => {
    const details = error instanceof ApiError ? error.details : [];
    replace(
      result,
      h(
        'div',
        { class: 'banner error', role: 'alert' },
        h('strong', { text: `${chosen.name}: ${errorText(error)}` }),
      ),
      details.length > 0 &&
        table({
          label: `Problems in ${chosen.name}`,
          testId: `${spec.key}-problems`,
          heads: [{ text: 'Line', num: true }, 'Column', 'Problem'],
          body: h('tbody', {}, problemRows(details)),
        }),
    );
  };
  return h(
    'form',
    {
      class: 'panel',
      novalidate: true,
      'aria-label': spec.title,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        errors.clear();
        replace(result);
        const chosen = file.files?.[0];
        const path = spec.path();
        const local = [];
        if (typeof path !== 'string') local.push(path);
        if (!chosen) local.push({ path: '/file', message: 'Choose a CSV file.' });
        else if (chosen.size > IMPORT_MAX_BYTES)
          local.push({ path: '/file', message: `The file is over 16 MB: split it.` });
        if (local.length || !chosen || typeof path !== 'string')
          return errors.show('Nothing was sent.', local);
        button.disabled = true;
        try {
          const answer = await api('POST', path, { csv: await chosen.text() });
          say(result, 'ok', `${chosen.name}: ${spec.figures(answer)}`);
        } catch (error) {
          if (!isSignedOut(error)) refused(chosen, error);
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h2', { text: spec.title }),
    errors.banner,
    spec.before?.(errors),
    formField(errors, 'file', 'CSV file', file, spec.limits),
    h(
      'div',
      { class: 'form-actions' },
      button,
      h('a', { href: spec.template, download: true, text: 'Download the template (header row)' }),
    ),
    result,
  );
}

/** @param {import('../lib/router.js').View} view */
export async function importScreen(view) {
  const providerMap = await providers();
  const provider = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'import-provider' },
      h('option', { value: '', text: 'Choose a service provider…' }),
      [...providerMap.values()].map((p) => h('option', { value: p.id, text: p.name })),
    )
  );
  view.show(
    h('div', { class: 'page-head' }, h('h1', { text: 'Import from CSV' })),
    h('p', {
      class: 'muted',
      text: 'Every row is checked first: one bad row refuses the whole file, lists its problems by line and column, and nothing is written. Fix the file and upload it again; rows already imported are not created twice.',
    }),
    h(
      'div',
      { class: 'grid2' },
      importPanel({
        key: 'customers',
        title: 'Customers (CSV)',
        template: '/templates/customers.csv',
        limits:
          'Columns: name, kind (amop or rev), rev_customer_id and rev_account (Rev.io rows), site_name, site_address. At most 10,000 rows and 16 MB.',
        path: () => '/customers/import',
        figures: (a) =>
          `${fmtNum(a.rows)} rows: ${fmtNum(a.created)} customers created, ${fmtNum(a.updated)} renamed, ${fmtNum(a.unchanged)} already there.`,
      }),
      importPanel({
        key: 'devices',
        title: 'Devices (CSV)',
        template: '/templates/devices.csv',
        limits:
          'Columns: iccid (required), msisdn, imei, status, carrier_rate_plan, communication_plan, activated_at (yyyy-MM-dd). At most 100,000 rows and 16 MB.',
        before: (errors) =>
          formField(
            errors,
            'provider',
            'Service provider',
            provider,
            'The carrier account the devices are on.',
          ),
        path: () =>
          provider.value
            ? `/service-providers/${provider.value}/devices/import`
            : { path: '/provider', message: 'Choose the service provider.' },
        figures: (a) =>
          `${fmtNum(a.rows)} rows: ${fmtNum(a.created)} devices created, ${fmtNum(a.updated)} updated.`,
      }),
    ),
  );
}
