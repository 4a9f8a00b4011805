// simbind's browser UI: plain ES module, no build step, no framework.
// Every piece of data reaches the DOM through textContent / DOM APIs, never as HTML.

const API = '/api/v1';
const REFRESH_MS = 2500;
const OPEN_STATUSES = ['NEW', 'PROCESSING'];

/** @type {{ id: number, email: string, name: string, role: string, tenant: { id: number, slug: string, name: string }, allCustomers: boolean } | null} */
let me = null;
/** Cleanups of the current view (timers); run on every navigation. */
let cleanups = [];
/** Reference data, loaded once per sign-in. */
const cache = {
  /** @type {Map<number, any> | null} */ providers: null,
  /** @type {Map<number, any> | null} */ customers: null,
};

// ---------------------------------------------------------------- DOM helpers

/**
 * Creates an element. Attributes: `class`, `text`, `on<event>` handlers, `dataset`, booleans, strings.
 * Children: nodes, strings (as text) or null/false (skipped).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    // Through the CSSOM: the Content-Security-Policy forbids style attributes.
    else if (key === 'style') el.style.cssText = value;
    else if (key === 'value') /** @type {any} */ (el).value = value;
    else if (key === 'checked' || key === 'selected' || key === 'disabled')
      /** @type {any} */ (el)[key] = !!value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {any[]} children */
function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** @param {Element} el @param {...any} children */
function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const topbar = /** @type {HTMLElement} */ (document.getElementById('topbar'));

// ---------------------------------------------------------------- formatting

/** @param {number} n */
const pad = (n) => String(n).padStart(2, '0');

/** @param {string | null | undefined} iso */
function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** @param {string | null | undefined} from @param {string | null | undefined} to */
function fmtDuration(from, to) {
  if (!from) return '';
  const ms = (to ? new Date(to) : new Date()).getTime() - new Date(from).getTime();
  if (ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** "Rev.io 1,204 · Jasper 300", or "none" (what a finished bulk change asked of each partner). */
function externalCalls(/** @type {Record<string, number>} */ calls) {
  const names = /** @type {Record<string, string>} */ ({
    revio: 'Rev.io',
    thingspace: 'ThingSpace',
    jasper: 'Jasper',
  });
  const parts = Object.entries(calls ?? {})
    .filter(([, n]) => n > 0)
    .map(([system, n]) => `${names[system] ?? system} ${fmtNum(n)}`);
  return parts.length ? parts.join(' · ') : 'none';
}

/** @param {number} n */
const fmtNum = (n) => Number(n ?? 0).toLocaleString('en-US');

/** @param {string} status */
function statusClass(status) {
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
const statusLabel = (status) => status.replace(/_/g, ' ');

/** @param {string} status @param {string} [extra] */
function badge(status, extra = '') {
  return h('span', { class: `badge ${statusClass(status)} ${extra}`.trim(), text: statusLabel(status) });
}

/** A progress bar from counts: processed (green), error (red), waiting/processing (amber), cancelled (grey). */
function progressBar(/** @type {any} */ counts, big = false) {
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

// ---------------------------------------------------------------- API

class ApiError extends Error {
  /** @param {number} status @param {any} body */
  constructor(status, body) {
    super(body?.error?.message ?? `Request failed (${status})`);
    this.status = status;
    this.code = body?.error?.code ?? 'http_error';
    /** @type {{ path: string, message: string }[]} */
    this.details = body?.error?.details ?? [];
    this.retryAfter = 0;
  }
}

/**
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {any} [body]
 * @param {{ noRedirect?: boolean }} [opts]
 */
async function api(method, path, body, opts = {}) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(API + path, init);
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = new ApiError(res.status, data);
    error.retryAfter = Number(res.headers.get('retry-after') ?? 0);
    if (res.status === 401 && !opts.noRedirect) signedOut();
    throw error;
  }
  return data;
}

/** Every page of a list (reference data is small). @param {string} path */
async function all(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(
      'GET',
      `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

async function providers() {
  if (!cache.providers) cache.providers = new Map((await all('/service-providers')).map((p) => [p.id, p]));
  return cache.providers;
}

async function customers() {
  if (!cache.customers) cache.customers = new Map((await all('/customers')).map((c) => [c.id, c]));
  return cache.customers;
}

function signedOut() {
  me = null;
  cache.providers = null;
  cache.customers = null;
  const here = location.pathname + location.search;
  if (location.pathname !== '/login')
    navigate(`/login${here !== '/' ? `?next=${encodeURIComponent(here)}` : ''}`, true);
}

const canSubmit = () => me !== null && me.role !== 'viewer';

// ---------------------------------------------------------------- routing

/** @param {string} url @param {boolean} [replaceState] */
function navigate(url, replaceState = false) {
  if (replaceState) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  void render();
}

window.addEventListener('popstate', () => void render());

// Same-origin links marked data-link navigate without a reload (modifier clicks keep browser behaviour).
document.addEventListener('click', (event) => {
  const target = /** @type {Element} */ (event.target);
  const link = target.closest?.('a[data-link]');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(/** @type {HTMLAnchorElement} */ (link).getAttribute('href') ?? '/');
});

/** @param {string} href @param {Record<string, any>} attrs @param {...any} children */
const link = (href, attrs, ...children) => h('a', { href, 'data-link': true, ...attrs }, ...children);

/** Registers a repeating refresh for the current view. @param {() => Promise<boolean>} tick returns whether to continue */
function every(tick) {
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const loop = async () => {
    if (stopped) return;
    let again;
    try {
      again = await tick();
    } catch (error) {
      again = !(error instanceof ApiError && error.status === 401);
    }
    if (!stopped && again) timer = setTimeout(() => void loop(), REFRESH_MS);
  };
  timer = setTimeout(() => void loop(), REFRESH_MS);
  cleanups.push(() => {
    stopped = true;
    clearTimeout(timer);
  });
}

async function render() {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
  const path = location.pathname;

  if (path === '/login') {
    topbar.hidden = true;
    return loginView();
  }
  if (!me) {
    try {
      me = (await api('GET', '/auth/me', undefined, { noRedirect: true })).user;
    } catch {
      signedOut();
      return;
    }
  }
  renderTopbar(path);
  const detail = /^\/bulk-changes\/(\d+)$/.exec(path);
  try {
    if (path === '/' || path === '/bulk-changes') await listView();
    else if (path === '/new') await newView();
    else if (detail) await detailView(Number(detail[1]));
    else if (path === '/users' && me.role === 'admin') await usersView();
    else if (path === '/integrations' && me.role === 'admin') await integrationsView();
    else if (path === '/webhooks' && me.role === 'admin') await webhooksView();
    else if (path === '/customers') await customersView();
    else if (/^\/customers\/\d+$/.test(path)) await customerView(Number(path.split('/')[2]));
    else if (path === '/import' && me.role === 'admin') await importView();
    else if (path === '/password') passwordView();
    else
      replace(main, h('h1', { text: 'Not found' }), h('p', {}, link('/', { text: 'Back to bulk changes' })));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    if (!(error instanceof ApiError)) console.error(error);
    replace(main, h('div', { class: 'banner error', role: 'alert', text: errorText(error) }));
  }
}

// ---------------------------------------------------------------- people (admins)

async function usersView() {
  const customerMap = await customers();
  const tbody = h('tbody');
  const notice = h('div', { 'aria-live': 'polite' });

  const load = async () => {
    const users = await all('/users');
    replace(
      tbody,
      users.map((/** @type {any} */ u) =>
        h(
          'tr',
          { dataset: { email: u.email } },
          h('td', { text: u.name }),
          h('td', { class: 'mono', text: u.email }),
          h('td', { text: u.role }),
          h('td', {
            text:
              u.customerIds === null
                ? 'all customers'
                : u.customerIds
                    .map((/** @type {number} */ id) => customerMap.get(id)?.name ?? `#${id}`)
                    .join(', ') || 'none',
          }),
          h('td', {}, badge(u.active ? 'ACTIVE' : 'DISABLED')),
          h(
            'td',
            {},
            u.id !== me?.id &&
              h('button', {
                type: 'button',
                text: u.active ? 'Disable' : 'Enable',
                'aria-label': `${u.active ? 'Disable' : 'Enable'} ${u.email}`,
                onclick: async () => {
                  await api('PATCH', `/users/${u.id}`, { active: !u.active });
                  replace(
                    notice,
                    h('div', {
                      class: 'banner ok',
                      role: 'status',
                      text: `${u.email} ${u.active ? 'disabled: its sessions and API tokens stopped.' : 'enabled.'}`,
                    }),
                  );
                  await load();
                },
              }),
          ),
        ),
      ),
    );
  };

  const email = /** @type {HTMLInputElement} */ (
    h('input', { id: 'new-user-email', type: 'email', required: true, autocomplete: 'off' })
  );
  const name = /** @type {HTMLInputElement} */ (
    h('input', { id: 'new-user-name', required: true, autocomplete: 'off' })
  );
  const role = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'new-user-role' },
      ...['operator', 'viewer', 'admin'].map((r) => h('option', { value: r, text: r })),
    )
  );
  const form = h(
    'form',
    {
      class: 'panel',
      'aria-label': 'Add a person',
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        try {
          const created = await api('POST', '/users', {
            email: email.value,
            name: name.value,
            role: role.value,
          });
          replace(
            notice,
            h(
              'div',
              { class: 'banner ok', role: 'status', 'data-testid': 'one-time-password' },
              h('strong', { text: `${created.user.email} added.` }),
              h(
                'div',
                {},
                'One-time password (shown once; they change it after signing in): ',
                h('code', { class: 'mono', text: created.initialPassword }),
              ),
            ),
          );
          email.value = name.value = '';
          await load();
        } catch (error) {
          replace(notice, h('div', { class: 'banner error', role: 'alert', text: errorText(error) }));
        }
      },
    },
    h('h2', { text: 'Add a person' }),
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'new-user-email', text: 'E-mail' }), email),
      h('div', { class: 'field' }, h('label', { for: 'new-user-name', text: 'Name' }), name),
      h('div', { class: 'field' }, h('label', { for: 'new-user-role', text: 'Role' }), role),
    ),
    h('button', { type: 'submit', class: 'primary', text: 'Add' }),
  );

  await load();
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: 'People' })),
    notice,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'aria-label': 'People' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Name', 'E-mail', 'Role', 'Customers', 'Status', ''].map((t) => h('th', { text: t })),
          ),
        ),
        tbody,
      ),
    ),
    form,
  );
}

// ---------------------------------------------------------------- accounts (admins)

/** @type {Record<string, string>} */
const SYSTEM_NAMES = { revio: 'Rev.io', thingspace: 'ThingSpace', jasper: 'Jasper' };
/** @type {Record<string, string>} */
const PORTAL_NAMES = { m2m: 'M2M', mobility: 'Mobility', lnp: 'LNP' };
const OPEN_SYNC_STATUSES = ['QUEUED', 'RUNNING'];
/** How many sync runs the Accounts screen shows, newest first. */
const SYNC_RUNS_SHOWN = 20;

/** Said once on the Accounts screen after a dialog saved (the screen is drawn afresh). */
let accountsFlash = '';

async function integrationsView() {
  // Read afresh (and for the other screens too): providers are added here or through the API.
  cache.providers = null;
  const [{ items }, providerMap] = await Promise.all([api('GET', '/integrations'), providers()]);
  /** @type {Map<number, any>} */
  const accountMap = new Map(items.map((/** @type {any} */ a) => [a.id, a]));
  const notice = h('div', { 'aria-live': 'polite' });
  const runsBody = h('tbody');
  const say = (/** @type {'ok' | 'error'} */ kind, /** @type {string} */ text) =>
    replace(notice, h('div', { class: `banner ${kind}`, role: kind === 'error' ? 'alert' : 'status', text }));
  if (accountsFlash) say('ok', accountsFlash);
  accountsFlash = '';
  /** After a dialog saved: the screen again, saying what changed. */
  const saved = (/** @type {string} */ text) => {
    accountsFlash = text;
    navigate('/integrations', true);
  };

  /** What a run syncs: "Cisco Jasper M2M" (devices) or "Rev.io billing" (customers). */
  const targetOf = (/** @type {any} */ run) =>
    run.kind === 'devices'
      ? (providerMap.get(run.serviceProviderId)?.name ?? `Provider #${run.serviceProviderId}`)
      : (accountMap.get(run.credentialsId)?.name ?? `Account #${run.credentialsId}`);

  const drawRuns = (/** @type {any[]} */ runs) => {
    const count = (/** @type {string} */ key, /** @type {number | null} */ n) =>
      h('td', { class: 'num', dataset: { count: key }, text: n === null ? '—' : fmtNum(n) });
    replace(
      runsBody,
      runs.length === 0
        ? h('tr', {}, h('td', { colspan: '12', class: 'muted', text: 'No syncs yet: start one above.' }))
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
              count('seen', run.counts.seen),
              count('created', run.counts.created),
              count('changed', run.counts.changed),
              count('gone', run.counts.gone),
              count('skipped', run.counts.skipped),
              count('pages', run.counts.pages),
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
  const loadRuns = async () => {
    const mine = ++asked;
    const { items: runs } = await api('GET', `/sync-runs?limit=${SYNC_RUNS_SHOWN}`);
    if (mine === asked) drawRuns(runs);
    return runs.some((/** @type {any} */ r) => OPEN_SYNC_STATUSES.includes(r.status));
  };

  let polling = false;
  const watchRuns = () => {
    if (polling || !runsBody.isConnected) return;
    polling = true;
    every(async () => {
      const open = runsBody.isConnected && (await loadRuns());
      if (!open) polling = false;
      return open;
    });
  };

  /** A sync button: disabled while its request is in flight; the run then shows in the table. */
  const syncButton = (/** @type {string} */ text, /** @type {string} */ label, /** @type {string} */ path) =>
    h('button', {
      type: 'button',
      text,
      'aria-label': `${text} of ${label}`,
      onclick: async (/** @type {Event} */ e) => {
        const button = /** @type {HTMLButtonElement} */ (e.currentTarget);
        button.disabled = true;
        try {
          const run = await api('POST', path);
          say(
            'ok',
            run.status === 'QUEUED'
              ? `Sync queued: ${run.kind} of ${label} (run #${run.id}).`
              : `A sync of ${label} is already running (run #${run.id}).`,
          );
          await loadRuns();
          watchRuns();
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 401)) say('error', errorText(error));
        } finally {
          button.disabled = false;
        }
      },
    });

  const rows = items.map((/** @type {any} */ a) => {
    const result = h('td', { 'aria-live': 'polite', 'data-testid': `test-result-${a.id}` });
    return h(
      'tr',
      { dataset: { id: a.id } },
      h('td', { text: a.name }),
      h('td', { text: SYSTEM_NAMES[a.integration] ?? a.integration }),
      h('td', { class: 'mono small', text: a.baseUrl }),
      h('td', {
        class: 'small',
        text: a.secrets.setAt
          ? `${a.secrets.fields.join(', ')}: set ${fmtTime(a.secrets.setAt)}${a.secrets.setBy ? ` by ${a.secrets.setBy.name}` : ''}`
          : 'not set',
      }),
      h(
        'td',
        {},
        h(
          'div',
          { class: 'cell-actions' },
          h('button', {
            type: 'button',
            text: 'Test connection',
            'aria-label': `Test connection of ${a.name}`,
            onclick: async (/** @type {Event} */ e) => {
              const button = /** @type {HTMLButtonElement} */ (e.currentTarget);
              button.disabled = true;
              replace(result, h('span', { class: 'muted', text: 'Testing…' }));
              try {
                const t = await api('POST', `/integrations/${a.id}/test`);
                replace(
                  result,
                  h(
                    'div',
                    { class: `banner ${t.ok ? 'ok' : 'error'}` },
                    h('strong', { text: t.ok ? 'Connected' : 'Failed' }),
                    h('div', {
                      class: 'small',
                      text: `${t.check}${t.status ? ` → ${t.status}` : ''} in ${t.durationMs} ms: ${t.message}`,
                    }),
                  ),
                );
              } catch (error) {
                replace(result, h('div', { class: 'banner error', text: errorText(error) }));
              } finally {
                button.disabled = false;
              }
            },
          }),
          // Rev.io accounts hold the customers; the carriers' devices are synced per service provider below.
          a.integration === 'revio' && syncButton('Sync customers', a.name, `/integrations/${a.id}/sync`),
          h('button', {
            type: 'button',
            text: 'Edit',
            'aria-label': `Edit ${a.name}`,
            onclick: () => accountForm(a, saved),
          }),
        ),
      ),
      result,
    );
  });

  const providerRows = [...providerMap.values()].map((p) =>
    h(
      'tr',
      { dataset: { id: p.id } },
      h('td', { text: p.name }),
      h('td', { text: SYSTEM_NAMES[p.integration] ?? p.integration }),
      h('td', { text: PORTAL_NAMES[p.portalType] ?? p.portalType }),
      h(
        'td',
        {},
        !p.hasCarrierAccount
          ? h('span', { class: 'muted small', text: 'No carrier account: import its devices from CSV' })
          : syncButton('Sync devices', p.name, `/service-providers/${p.id}/sync`),
      ),
    ),
  );

  const open = await loadRuns();
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'Accounts' }),
      h('button', {
        type: 'button',
        class: 'primary',
        text: 'Add an account',
        onclick: () => accountForm(null, saved),
      }),
    ),
    h('p', {
      class: 'muted',
      text: 'Your Rev.io, ThingSpace and Jasper accounts. Secrets are write-only: never shown again once set, only when and by whom.',
    }),
    notice,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'aria-label': 'Accounts' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Name', 'System', 'Base URL', 'Secrets', '', 'Result'].map((t) => h('th', { text: t })),
          ),
        ),
        h(
          'tbody',
          {},
          rows.length
            ? rows
            : h('tr', {}, h('td', { colspan: '6', class: 'muted', text: 'No accounts yet: add one above.' })),
        ),
      ),
    ),
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'providers-title' },
      h(
        'div',
        { class: 'page-head' },
        h('h2', { id: 'providers-title', text: 'Service providers' }),
        h('button', {
          type: 'button',
          text: 'Add a service provider',
          onclick: () => providerForm(items, saved),
        }),
      ),
      h('p', {
        class: 'muted small',
        text: "Sync devices reads the provider's devices from its carrier account: Jasper the devices changed since the last sync (a year back the first time), ThingSpace the whole account.",
      }),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { 'aria-labelledby': 'providers-title' },
          h('thead', {}, h('tr', {}, ...['Name', 'Carrier', 'Portal', ''].map((t) => h('th', { text: t })))),
          h(
            'tbody',
            {},
            providerRows.length
              ? providerRows
              : h('tr', {}, h('td', { colspan: '4', class: 'muted', text: 'No service providers yet.' })),
          ),
        ),
      ),
    ),
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'sync-runs-title' },
      h('h2', { id: 'sync-runs-title', text: 'Sync runs' }),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { 'aria-labelledby': 'sync-runs-title' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...[
                'What',
                'Kind',
                'Status',
                'Seen',
                'Created',
                'Changed',
                'Gone',
                'Skipped',
                'Pages',
                'Started',
                'Finished',
                'Took',
              ].map((t, i) => h('th', { class: i >= 3 && i <= 8 ? 'num' : undefined, text: t })),
            ),
          ),
          runsBody,
        ),
      ),
    ),
  );
  if (open) watchRuns();
}

// ---------------------------------------------------------------- forms in dialogs (accounts, first run)

let formIds = 0;

/**
 * Field errors of one form: a slot under each field, filled from an API 400's `error.details` (the
 * deepest path with a slot: '/secrets/apiKey' goes under the API key), the rest in the banner.
 */
function formErrors() {
  const prefix = `f${++formIds}`;
  /** @type {Map<string, HTMLElement>} */
  const slots = new Map();
  const banner = h('div', { class: 'banner error', role: 'alert', hidden: true });
  return {
    banner,
    /** @param {string} key a JSON pointer without its leading '/' @param {HTMLElement} control */
    slot(key, control) {
      const el = h('div', {
        class: 'field-error',
        role: 'alert',
        hidden: true,
        id: `${prefix}-err-${key.replace(/[^\w-]/g, '-')}`,
        dataset: { errorFor: key },
      });
      slots.set(key, el);
      /** @type {any} */ (el).control = control;
      return el;
    },
    /** Forgets the slots under a prefix (fields redrawn). @param {string} under */
    drop(under) {
      for (const key of [...slots.keys()]) if (key.startsWith(under)) slots.delete(key);
    },
    clear() {
      banner.hidden = true;
      for (const el of slots.values()) {
        el.hidden = true;
        el.textContent = '';
        /** @type {any} */ (el).control?.classList.remove('invalid');
        /** @type {any} */ (el).control?.removeAttribute('aria-invalid');
      }
    },
    /** @param {string} message @param {{ path: string, message: string }[]} details */
    show(message, details) {
      const unplaced = [];
      for (const d of details) {
        const parts = (d.path ?? '').split('/').filter(Boolean);
        let el;
        for (let n = parts.length; n > 0 && !el; n -= 1) el = slots.get(parts.slice(0, n).join('/'));
        if (el) {
          el.textContent = el.hidden ? d.message : `${el.textContent} ${d.message}`;
          el.hidden = false;
          /** @type {any} */ (el).control?.classList.add('invalid');
          /** @type {any} */ (el).control?.setAttribute('aria-invalid', 'true');
        } else unplaced.push(d.path ? `${d.path}: ${d.message}` : d.message);
      }
      replace(
        banner,
        h('strong', { text: message }),
        unplaced.length > 0 &&
          h(
            'ul',
            {},
            unplaced.map((u) => h('li', { text: u })),
          ),
      );
      banner.hidden = false;
    },
  };
}

/**
 * A labelled field with its error slot. @param {ReturnType<typeof formErrors>} errors
 * @param {string} key @param {string} label @param {HTMLElement} control @param {any} [hint]
 */
function formField(errors, key, label, control, hint) {
  const slot = errors.slot(key, control);
  const hintEl = hint ? h('div', { class: 'hint', id: `${slot.id}-hint` }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl?.id, slot.id].filter(Boolean).join(' '));
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control, hintEl, slot);
}

/**
 * A modal `<dialog>`: Escape or Cancel closes it; it is removed once closed, and on navigation.
 * @param {string} title @param {(close: () => void) => Node} build
 */
function openDialog(title, build) {
  const titleId = `dialog-title-${++formIds}`;
  const dialog = /** @type {HTMLDialogElement} */ (
    h('dialog', { class: 'dialog', 'aria-labelledby': titleId })
  );
  const close = () => dialog.close();
  dialog.addEventListener('close', () => dialog.remove());
  append(dialog, [h('h2', { id: titleId, text: title }), build(close)]);
  document.body.append(dialog);
  cleanups.push(() => dialog.isConnected && dialog.close());
  dialog.showModal();
  return dialog;
}

/** @param {HTMLButtonElement} button @param {string} text */
async function copyText(button, text) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Select and copy it';
  }
  setTimeout(() => (button.textContent = 'Copy URL'), 2000);
}

/** What each system's account holds (the API's ACCOUNT_FIELDS): settings are shown, secrets never. */
const ACCOUNT_FIELDS = /** @type {Record<string, { settings: string[], secrets: string[] }>} */ ({
  revio: { settings: ['username', 'clientCode'], secrets: ['password', 'subscriptionKey'] },
  thingspace: { settings: ['username', 'accountName'], secrets: ['appKey', 'appSecret', 'password'] },
  jasper: { settings: ['username'], secrets: ['apiKey'] },
});
/** @type {Record<string, string>} */
const ACCOUNT_FIELD_LABELS = {
  username: 'User name',
  clientCode: 'Client code',
  accountName: 'Account name',
  password: 'Password',
  subscriptionKey: 'Subscription key',
  appKey: 'App key',
  appSecret: 'App secret',
  apiKey: 'API key',
};
/** @type {Record<string, string>} */
const DEFAULT_LIMITS = {
  revio: '500 requests a minute',
  thingspace: '10 requests a second',
  jasper: '5 requests a second, one at a time',
};

/** "set on 2026-12-03 14:02:11 by Ada Admin", or "not set". @param {any} account */
const secretsSetText = (account) =>
  account.secrets.setAt
    ? `set on ${fmtTime(account.secrets.setAt)}${account.secrets.setBy ? ` by ${account.secrets.setBy.name}` : ''}`
    : 'not set';

/**
 * Adds (no `account`) or edits an integration account. Secrets are write-only: an edit shows them
 * empty, and a field left empty keeps what is stored. @param {any | null} account
 * @param {(text: string) => void} done
 */
function accountForm(account, done) {
  return openDialog(account ? `Edit ${account.name}` : 'Add an account', (close) => {
    const errors = formErrors();
    const input = (/** @type {string} */ id, /** @type {Record<string, any>} */ attrs = {}) =>
      /** @type {HTMLInputElement} */ (h('input', { id, autocomplete: 'off', ...attrs }));
    const kind = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { id: 'account-kind' },
        Object.entries(SYSTEM_NAMES).map(([value, text]) =>
          h('option', { value, text, selected: value === (account?.integration ?? 'revio') }),
        ),
      )
    );
    const name = input('account-name', { value: account?.name ?? '', required: true });
    const baseUrl = input('account-base-url', {
      value: account?.baseUrl ?? '',
      required: true,
      spellcheck: 'false',
      class: 'wide',
    });
    const limit = {
      requests: input('account-limit-requests', {
        type: 'number',
        min: 1,
        value: account?.rateLimit?.requests,
      }),
      windowMs: input('account-limit-window', {
        type: 'number',
        min: 1,
        value: account?.rateLimit?.windowMs,
      }),
      concurrency: input('account-limit-concurrency', {
        type: 'number',
        min: 1,
        value: account?.rateLimit?.concurrency,
      }),
    };
    /** @type {Map<string, HTMLInputElement>} */ const settings = new Map();
    /** @type {Map<string, HTMLInputElement>} */ const secrets = new Map();
    const kindFields = h('div');
    const limitHint = h('span');
    const baseUrlHint = h('span');

    const drawKind = () => {
      const system = kind.value;
      errors.drop('settings/');
      errors.drop('secrets/');
      settings.clear();
      secrets.clear();
      const fields = ACCOUNT_FIELDS[system] ?? { settings: [], secrets: [] };
      for (const f of fields.settings) {
        settings.set(
          f,
          input(`account-setting-${f}`, { value: account?.settings?.[f] ?? '', spellcheck: 'false' }),
        );
      }
      for (const f of fields.secrets) {
        secrets.set(f, input(`account-secret-${f}`, { type: 'password', autocomplete: 'new-password' }));
      }
      replace(
        kindFields,
        h(
          'fieldset',
          {},
          h('legend', { text: 'Account' }),
          [...settings].map(([f, el]) =>
            formField(errors, `settings/${f}`, ACCOUNT_FIELD_LABELS[f] ?? f, el),
          ),
        ),
        h(
          'fieldset',
          {},
          h('legend', { text: 'Secrets' }),
          h('p', {
            class: 'muted small',
            text: account
              ? `Never shown again once saved; ${secretsSetText(account)}. Leave a field empty to keep what is stored.`
              : 'Never shown again once saved: sealed at rest, shown only as when and by whom they were set.',
          }),
          [...secrets].map(([f, el]) =>
            formField(
              errors,
              `secrets/${f}`,
              ACCOUNT_FIELD_LABELS[f] ?? f,
              el,
              account ? `${secretsSetText(account)}; empty: kept` : undefined,
            ),
          ),
        ),
      );
      limitHint.textContent = `Shared by every worker. All empty: the default, ${DEFAULT_LIMITS[system] ?? 'of the system'}.`;
      baseUrlHint.textContent = `https://…, or simulator://${system} for the built-in simulator.`;
    };
    kind.addEventListener('change', drawKind);
    drawKind();

    const callback =
      account?.callbackUrl &&
      (() => {
        const url = input('account-callback-url', {
          value: account.callbackUrl,
          readonly: true,
          class: 'wide mono',
        });
        return h(
          'div',
          { class: 'field' },
          h('label', { for: url.id, text: 'Callback URL (ThingSpace calls simbind back here)' }),
          h(
            'div',
            { class: 'copy-row' },
            url,
            h('button', {
              type: 'button',
              text: 'Copy URL',
              onclick: (/** @type {Event} */ e) =>
                void copyText(/** @type {HTMLButtonElement} */ (e.currentTarget), url.value),
            }),
          ),
          h('div', {
            class: 'hint',
            text: 'simbind registers it at ThingSpace itself, followed by a secret token of this account that is never shown. Set PUBLIC_URL to the address ThingSpace can reach.',
          }),
        );
      })();

    const save = h('button', { type: 'submit', class: 'primary', text: account ? 'Save' : 'Add account' });
    const num = (/** @type {HTMLInputElement} */ el) =>
      el.value.trim() === '' ? undefined : Number(el.value);
    const body = () => {
      const rl = {
        requests: num(limit.requests),
        windowMs: num(limit.windowMs),
        concurrency: num(limit.concurrency),
      };
      const rateLimit = Object.values(rl).every((v) => v === undefined)
        ? null
        : Object.fromEntries(Object.entries(rl).filter(([, v]) => v !== undefined));
      const given = Object.fromEntries(
        [...secrets].map(([f, el]) => [f, el.value]).filter(([, v]) => v !== ''),
      );
      return {
        ...(account ? {} : { integration: kind.value }),
        name: name.value.trim(),
        baseUrl: baseUrl.value.trim(),
        settings: Object.fromEntries([...settings].map(([f, el]) => [f, el.value.trim()])),
        // An edit sends only the secrets typed: the others stay as stored.
        ...(account && Object.keys(given).length === 0 ? {} : { secrets: given }),
        ...(account || rateLimit ? { rateLimit } : {}),
      };
    };

    return h(
      'form',
      {
        novalidate: true,
        'aria-label': account ? `Edit ${account.name}` : 'Add an account',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          errors.clear();
          save.disabled = true;
          try {
            const saved = account
              ? await api('PATCH', `/integrations/${account.id}`, body())
              : await api('POST', '/integrations', body());
            close();
            done(account ? `${saved.name} saved.` : `${saved.name} added: test its connection.`);
          } catch (error) {
            if (error instanceof ApiError && error.status === 401) return;
            errors.show(errorText(error), error instanceof ApiError ? error.details : []);
          } finally {
            save.disabled = false;
          }
        },
      },
      errors.banner,
      h(
        'div',
        { class: 'row' },
        account
          ? h(
              'div',
              { class: 'field' },
              h('div', { class: 'label', text: 'System' }),
              h('div', { text: SYSTEM_NAMES[account.integration] }),
            )
          : formField(errors, 'integration', 'System', kind),
        formField(errors, 'name', 'Name', name),
      ),
      formField(errors, 'baseUrl', 'Base URL', baseUrl, baseUrlHint),
      kindFields,
      h(
        'fieldset',
        {},
        h('legend', { text: 'Rate limit' }),
        h(
          'div',
          { class: 'row' },
          formField(errors, 'rateLimit/requests', 'Requests', limit.requests),
          formField(errors, 'rateLimit/windowMs', 'Per (ms)', limit.windowMs),
          formField(errors, 'rateLimit/concurrency', 'At once', limit.concurrency),
        ),
        h('div', { class: 'hint' }, limitHint),
        // A rate-limit problem without a field of its own (e.g. the whole object).
        errors.slot('rateLimit', limit.requests),
      ),
      callback,
      h(
        'div',
        { class: 'form-actions' },
        save,
        h('button', { type: 'button', text: 'Cancel', onclick: close }),
      ),
    );
  });
}

/** Adds a service provider on one of the tenant's carrier accounts. @param {any[]} accounts @param {(text: string) => void} done */
function providerForm(accounts, done) {
  return openDialog('Add a service provider', (close) => {
    const errors = formErrors();
    const carriers = accounts.filter((a) => a.integration === 'thingspace' || a.integration === 'jasper');
    const name = /** @type {HTMLInputElement} */ (
      h('input', { id: 'provider-name', autocomplete: 'off', required: true })
    );
    const account = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { id: 'provider-account' },
        h('option', {
          value: '',
          text: carriers.length ? 'Choose an account…' : 'No ThingSpace or Jasper account yet',
        }),
        carriers.map((a) => h('option', { value: a.id, text: `${a.name} (${SYSTEM_NAMES[a.integration]})` })),
      )
    );
    const portal = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { id: 'provider-portal' },
        Object.entries(PORTAL_NAMES).map(([value, text]) => h('option', { value, text })),
      )
    );
    const save = h('button', { type: 'submit', class: 'primary', text: 'Add service provider' });
    return h(
      'form',
      {
        novalidate: true,
        'aria-label': 'Add a service provider',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          errors.clear();
          if (!account.value)
            return errors.show('Some fields need your attention.', [
              { path: '/credentialsId', message: 'Choose its carrier account.' },
            ]);
          save.disabled = true;
          try {
            const created = await api('POST', '/service-providers', {
              name: name.value.trim(),
              credentialsId: Number(account.value),
              portalType: portal.value,
            });
            close();
            done(`${created.name} added.`);
          } catch (error) {
            if (error instanceof ApiError && error.status === 401) return;
            errors.show(errorText(error), error instanceof ApiError ? error.details : []);
          } finally {
            save.disabled = false;
          }
        },
      },
      errors.banner,
      formField(errors, 'name', 'Name', name),
      formField(
        errors,
        'credentialsId',
        'Carrier account',
        account,
        'Its ThingSpace or Jasper account: devices are synced from it.',
      ),
      formField(
        errors,
        'portalType',
        'Portal',
        portal,
        'M2M devices are named by ICCID; Mobility and LNP by MSISDN.',
      ),
      h(
        'div',
        { class: 'form-actions' },
        save,
        h('button', { type: 'button', text: 'Cancel', onclick: close }),
      ),
    );
  });
}

// ---------------------------------------------------------------- webhooks (admins)

/** @type {Record<string, string>} */
const DELIVERY_BADGE = { delivered: 'ok', failed: 'err', pending: 'busy' };

async function webhooksView() {
  const tbody = h('tbody');
  const notice = h('div', { 'aria-live': 'polite' });
  const logPanel = h('section', { class: 'log-panel', 'aria-live': 'polite' });
  const say = (/** @type {'ok' | 'error'} */ kind, /** @type {Node | string} */ content) =>
    replace(
      notice,
      h('div', { class: `banner ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, content),
    );
  /** The secret, once: the banner that shows it. */
  const secretShown = (/** @type {string} */ title, /** @type {string} */ secret) =>
    h(
      'div',
      { 'data-testid': 'webhook-secret' },
      h('strong', { text: title }),
      h(
        'div',
        {},
        'Signing secret (shown once; keep it with the receiver to check X-Simbind-Signature): ',
        h('code', { class: 'mono', text: secret }),
      ),
    );
  const attempt = async (/** @type {() => Promise<void>} */ action) => {
    try {
      await action();
    } catch (error) {
      say('error', errorText(error));
    }
  };

  const showLog = async (/** @type {any} */ endpoint) => {
    const { items } = await api('GET', `/webhooks/${endpoint.id}/deliveries?limit=20`);
    replace(
      logPanel,
      h('h2', { id: 'delivery-log-title', text: `Delivery log: ${endpoint.description || endpoint.url}` }),
      items.length === 0
        ? h('p', { class: 'muted', text: 'Nothing delivered yet.' })
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { 'aria-labelledby': 'delivery-log-title' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['When', 'Event', 'Status', 'Attempts', 'Answer'].map((t) => h('th', { text: t })),
                ),
              ),
              h(
                'tbody',
                {},
                items.map((/** @type {any} */ d) =>
                  h(
                    'tr',
                    {},
                    h('td', { class: 'small', text: fmtTime(d.createdAt) }),
                    h(
                      'td',
                      {},
                      d.bulkChangeId
                        ? link(`/bulk-changes/${d.bulkChangeId}`, { text: `${d.event} #${d.bulkChangeId}` })
                        : d.event,
                    ),
                    h(
                      'td',
                      {},
                      h('span', { class: `badge ${DELIVERY_BADGE[d.status] ?? ''}`, text: d.status }),
                    ),
                    h('td', { text: String(d.attempts) }),
                    h('td', {
                      class: 'small mono',
                      text: [d.statusCode ?? '', d.error ?? d.response ?? ''].filter(Boolean).join(' · '),
                    }),
                  ),
                ),
              ),
            ),
          ),
    );
  };

  const load = async () => {
    const endpoints = await all('/webhooks');
    replace(
      tbody,
      endpoints.length === 0
        ? h('tr', {}, h('td', { colspan: '5', class: 'muted', text: 'No endpoints yet: add one below.' }))
        : endpoints.map((/** @type {any} */ e) => {
            const label = e.description || e.url;
            const button = (/** @type {string} */ text, /** @type {() => Promise<void>} */ action) =>
              h('button', {
                type: 'button',
                text,
                'aria-label': `${text}: ${label}`,
                onclick: () => void attempt(action),
              });
            return h(
              'tr',
              { dataset: { id: e.id } },
              h(
                'td',
                {},
                h('div', { text: e.description || '—' }),
                h('div', { class: 'mono small', text: e.url }),
              ),
              h('td', { class: 'small', text: e.events.join(', ') }),
              h(
                'td',
                {},
                h('span', {
                  class: `badge ${e.active ? 'ok' : ''}`,
                  text: e.active ? 'enabled' : 'disabled',
                }),
              ),
              h('td', {
                class: 'small',
                text: `set ${fmtTime(e.secret.setAt)}${e.secret.setBy ? ` by ${e.secret.setBy.name}` : ''}`,
              }),
              h(
                'td',
                { class: 'cell-actions' },
                button('Send test', async () => {
                  const d = await api('POST', `/webhooks/${e.id}/test`);
                  say(
                    d.status === 'delivered' ? 'ok' : 'error',
                    `Test ${d.status === 'delivered' ? 'delivered' : 'failed'}: ${[
                      d.statusCode,
                      d.error ?? d.response,
                    ]
                      .filter((x) => x !== null && x !== '')
                      .join(' · ')}`,
                  );
                  await showLog(e);
                }),
                button('Delivery log', () => showLog(e)),
                button(e.active ? 'Disable' : 'Enable', async () => {
                  await api('PATCH', `/webhooks/${e.id}`, { active: !e.active });
                  say('ok', `${label} ${e.active ? 'disabled: it gets nothing until enabled.' : 'enabled.'}`);
                  await load();
                }),
                button('New secret', async () => {
                  if (!window.confirm(`Replace the signing secret of ${label}? The old one stops at once.`))
                    return;
                  const { secret } = await api('POST', `/webhooks/${e.id}/secret`);
                  replace(
                    notice,
                    h(
                      'div',
                      { class: 'banner ok', role: 'status' },
                      secretShown(`New secret for ${label}.`, secret),
                    ),
                  );
                  await load();
                }),
                button('Delete', async () => {
                  if (!window.confirm(`Delete the endpoint ${label}? Its delivery log is kept.`)) return;
                  await api('DELETE', `/webhooks/${e.id}`);
                  say('ok', `${label} deleted.`);
                  replace(logPanel);
                  await load();
                }),
              ),
            );
          }),
    );
  };

  const url = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'new-webhook-url',
      type: 'url',
      required: true,
      placeholder: 'https://erp.example.com/simbind',
      autocomplete: 'off',
    })
  );
  const description = /** @type {HTMLInputElement} */ (
    h('input', { id: 'new-webhook-description', maxlength: '200', autocomplete: 'off' })
  );
  const form = h(
    'form',
    {
      class: 'panel',
      'aria-label': 'Add an endpoint',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        void attempt(async () => {
          const created = await api('POST', '/webhooks', { url: url.value, description: description.value });
          replace(
            notice,
            h(
              'div',
              { class: 'banner ok', role: 'status' },
              secretShown(`${created.endpoint.url} added.`, created.secret),
            ),
          );
          url.value = description.value = '';
          await load();
        });
      },
    },
    h('h2', { text: 'Add an endpoint' }),
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field grow' }, h('label', { for: 'new-webhook-url', text: 'URL' }), url),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'new-webhook-description', text: 'Description' }),
        description,
      ),
    ),
    h('p', {
      class: 'muted small',
      text: 'Receives bulk_change.completed when a bulk change finishes. Private and loopback addresses are refused unless WEBHOOK_ALLOW_ADDRESSES allows them.',
    }),
    h('button', { type: 'submit', class: 'primary', text: 'Add' }),
  );

  await load();
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { text: 'Webhooks' })),
    notice,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'aria-label': 'Webhook endpoints' },
        h(
          'thead',
          {},
          h('tr', {}, ...['Endpoint', 'Events', 'Status', 'Secret', ''].map((t) => h('th', { text: t }))),
        ),
        tbody,
      ),
    ),
    logPanel,
    form,
  );
}

// ---------------------------------------------------------------- customers, plans and pools; CSV imports

/** @type {Record<string, string>} */
const KIND_NAMES = { amop: 'AMOP', rev: 'Rev.io' };
/** Rows the customer list draws at once: the search narrows a larger list. */
const CUSTOMERS_SHOWN = 300;
/** What the import routes accept (their `bodyLimit` and row limits), checked before a file is sent. */
const IMPORT_MAX_BYTES = 16 * 1024 * 1024;
/** A message for the next screen (e.g. "Acme added" on the customer's page after the form). */
let customerFlash = '';

/** A banner in a live region. @param {HTMLElement} notice @param {'ok' | 'error'} kind @param {string} text */
function say(notice, kind, text) {
  replace(notice, h('div', { class: `banner ${kind}`, role: kind === 'error' ? 'alert' : 'status', text }));
}

/**
 * A form that posts to the API and shows its 400/409/422 `error.details` under the fields.
 * @param {{ label: string, submit: string, fields: (errors: ReturnType<typeof formErrors>) => any[],
 *   send: () => Promise<any> | { path: string, message: string }[], done: (answer: any) => Promise<void> | void }} spec
 */
function apiForm(spec) {
  const errors = formErrors();
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', text: spec.submit })
  );
  return h(
    'form',
    {
      class: 'panel section',
      novalidate: true,
      'aria-label': spec.label,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        errors.clear();
        button.disabled = true;
        try {
          const sent = spec.send();
          if (Array.isArray(sent)) return errors.show('Some fields need your attention.', sent);
          await spec.done(await sent);
          /** @type {HTMLFormElement} */ (e.target).reset();
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) return;
          errors.show(errorText(error), error instanceof ApiError ? error.details : []);
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h2', { text: spec.label }),
    errors.banner,
    spec.fields(errors),
    h('div', { class: 'form-actions' }, button),
  );
}

/** @param {string} id @param {Record<string, any>} [attrs] */
const textInput = (id, attrs = {}) =>
  /** @type {HTMLInputElement} */ (h('input', { id, autocomplete: 'off', ...attrs }));

/** A number from a form field: undefined when empty, NaN when not a number. @param {HTMLInputElement} input */
const numberOf = (input) => (input.value.trim() === '' ? undefined : Number(input.value));

/** @param {string} caption @param {string[]} heads @param {HTMLElement} tbody */
const dataTable = (caption, heads, tbody) =>
  h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { 'aria-label': caption },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          heads.map((t) => h('th', { text: t, class: /MB|rate/.test(t) ? 'num' : undefined })),
        ),
      ),
      tbody,
    ),
  );

async function customersView() {
  // Read afresh (and for the assignment form too): customers come from the API, syncs and imports.
  cache.customers = null;
  const admin = me?.role === 'admin';
  const [customerMap, revAccounts] = await Promise.all([
    customers(),
    admin
      ? api('GET', '/integrations').then((r) =>
          r.items.filter((/** @type {any} */ a) => a.integration === 'revio'),
        )
      : [],
  ]);
  const list = [...customerMap.values()].sort((a, b) => a.name.localeCompare(b.name));
  const notice = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody');
  const shown = h('div', { class: 'muted small', 'aria-live': 'polite', 'data-testid': 'customer-count' });
  const search = textInput('customer-search', {
    type: 'search',
    placeholder: 'Name or Rev.io id',
    'aria-label': 'Search customers by name or Rev.io id',
  });
  const kind = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'customer-kind', 'aria-label': 'Kind' },
      h('option', { value: '', text: 'All kinds' }),
      Object.entries(KIND_NAMES).map(([value, text]) => h('option', { value, text })),
    )
  );
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const matches = list.filter(
      (c) =>
        (!kind.value || c.kind === kind.value) &&
        (!q || c.name.toLowerCase().includes(q) || String(c.revCustomerId ?? '') === q),
    );
    shown.textContent =
      matches.length > CUSTOMERS_SHOWN
        ? `${fmtNum(matches.length)} customers: the first ${CUSTOMERS_SHOWN} are shown, search to narrow.`
        : `${fmtNum(matches.length)} customer${matches.length === 1 ? '' : 's'}`;
    replace(
      tbody,
      matches.length === 0
        ? h('tr', {}, h('td', { colspan: '4', class: 'muted', text: 'No customer matches.' }))
        : matches
            .slice(0, CUSTOMERS_SHOWN)
            .map((c) =>
              h(
                'tr',
                { dataset: { id: c.id } },
                h('td', {}, link(`/customers/${c.id}`, { text: c.name })),
                h('td', { text: KIND_NAMES[c.kind] ?? c.kind }),
                h('td', { class: 'mono', text: c.revCustomerId ?? '—' }),
                h('td', {}, badge(c.active ? 'ACTIVE' : 'INACTIVE')),
              ),
            ),
    );
  };
  search.addEventListener('input', draw);
  kind.addEventListener('change', draw);
  draw();

  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'Customers' }),
      admin && h('div', { class: 'actions' }, link('/import', { class: 'button', text: 'Import from CSV' })),
    ),
    notice,
    h('div', { class: 'toolbar' }, search, kind, h('div', { class: 'right' }, shown)),
    dataTable('Customers', ['Name', 'Kind', 'Rev.io id', 'Status'], tbody),
    admin && customerForm(revAccounts),
    await plansSection(admin),
  );
}

/** Add a customer: AMOP, or Rev.io with its Rev.io account and id. @param {any[]} revAccounts */
function customerForm(revAccounts) {
  const name = textInput('customer-name', { required: true });
  const kind = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'customer-kind-new' },
      h('option', { value: 'amop', text: 'AMOP (not billed in Rev.io)' }),
      h('option', { value: 'rev', text: 'Rev.io customer' }),
    )
  );
  const account = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'customer-rev-account' },
      h('option', {
        value: '',
        text: revAccounts.length ? 'Choose a Rev.io account…' : 'No Rev.io account yet',
      }),
      revAccounts.map((a) => h('option', { value: a.id, text: a.name, selected: revAccounts.length === 1 })),
    )
  );
  const revId = textInput('customer-rev-id', { inputmode: 'numeric' });
  const siteName = textInput('customer-site-name', { placeholder: 'Headquarters' });
  const siteAddress = textInput('customer-site-address', { class: 'wide' });
  const revFields = h('div', { class: 'row', hidden: true });
  kind.addEventListener('change', () => (revFields.hidden = kind.value !== 'rev'));
  return apiForm({
    label: 'Add a customer',
    submit: 'Add customer',
    fields: (errors) => {
      append(revFields, [
        formField(errors, 'revCredentialsId', 'Rev.io account', account),
        formField(errors, 'revCustomerId', 'Rev.io customer id', revId, 'Checked in that Rev.io account.'),
      ]);
      return [
        h(
          'div',
          { class: 'row' },
          formField(errors, 'name', 'Name', name),
          formField(errors, 'kind', 'Kind', kind),
        ),
        revFields,
        h(
          'div',
          { class: 'row' },
          formField(errors, 'site/name', 'Default site', siteName, 'Empty: "Headquarters".'),
          formField(errors, 'site/address', 'Its address', siteAddress),
        ),
      ];
    },
    send: () => {
      const problems = [];
      if (!name.value.trim()) problems.push({ path: '/name', message: 'Enter its name.' });
      const rev = kind.value === 'rev';
      if (rev && !account.value)
        problems.push({ path: '/revCredentialsId', message: 'Choose its Rev.io account.' });
      if (rev && !/^\d+$/.test(revId.value.trim()))
        problems.push({ path: '/revCustomerId', message: 'Enter its id in Rev.io (a whole number).' });
      if (problems.length) return problems;
      const site =
        siteName.value.trim() || siteAddress.value.trim() ? siteName.value.trim() || 'Headquarters' : '';
      return api('POST', '/customers', {
        name: name.value.trim(),
        kind: kind.value,
        ...(rev
          ? { revCredentialsId: Number(account.value), revCustomerId: Number(revId.value.trim()) }
          : {}),
        ...(site
          ? {
              site: {
                name: site,
                ...(siteAddress.value.trim() ? { address: siteAddress.value.trim() } : {}),
              },
            }
          : {}),
      });
    },
    done: (created) => {
      cache.customers = null;
      customerFlash = `${created.name} added, with its default site.`;
      navigate(`/customers/${created.id}`);
    },
  });
}

/** The tenant's customer rate plans and pools (what the assignment form offers), with forms for admins. */
async function plansSection(/** @type {boolean} */ admin) {
  const notice = h('div', { 'aria-live': 'polite' });
  const plansBody = h('tbody');
  const poolsBody = h('tbody');
  const load = async () => {
    const [plans, pools] = await Promise.all([all('/rate-plans?kind=customer'), all('/rate-pools')]);
    const none = (/** @type {number} */ span, /** @type {string} */ text) =>
      h('tr', {}, h('td', { colspan: String(span), class: 'muted', text }));
    replace(
      plansBody,
      plans.length === 0
        ? none(4, 'No customer rate plan yet.')
        : plans.map((/** @type {any} */ p) =>
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
        ? none(2, 'No rate pool yet.')
        : pools.map((/** @type {any} */ p) =>
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

/** One customer: its sites, and "Add a site" for admins. @param {number} id */
async function customerView(id) {
  cache.customers = null;
  const customer = (await customers()).get(id);
  const notice = h('div', { 'aria-live': 'polite' });
  if (customerFlash) say(notice, 'ok', customerFlash);
  customerFlash = '';
  if (!customer) {
    replace(
      main,
      h('h1', { text: 'Customer not found' }),
      h('p', {}, link('/customers', { text: 'Back to customers' })),
    );
    return;
  }
  const tbody = h('tbody');
  const load = async () => {
    const sites = await all(`/customers/${id}/sites`);
    replace(
      tbody,
      sites.map((/** @type {any} */ s) =>
        h(
          'tr',
          { dataset: { id: s.id } },
          h('td', { text: s.name }),
          h('td', { text: s.address ?? '—' }),
          h('td', {}, s.isDefault && h('span', { class: 'badge ok', text: 'default' })),
        ),
      ),
    );
  };
  await load();

  const name = textInput('site-name');
  const address = textInput('site-address', { class: 'wide' });
  const isDefault = /** @type {HTMLInputElement} */ (h('input', { id: 'site-default', type: 'checkbox' }));
  const siteForm = apiForm({
    label: 'Add a site',
    submit: 'Add site',
    fields: (errors) => [
      h(
        'div',
        { class: 'row' },
        formField(errors, 'name', 'Name', name),
        formField(errors, 'address', 'Address', address),
      ),
      h('div', { class: 'field' }, h('label', { class: 'check' }, isDefault, 'Make it the default site')),
      errors.slot('isDefault', isDefault),
    ],
    send: () =>
      api('POST', `/customers/${id}/sites`, {
        name: name.value.trim(),
        ...(address.value.trim() ? { address: address.value.trim() } : {}),
        isDefault: isDefault.checked,
      }),
    done: async (created) => {
      say(notice, 'ok', `Site ${created.name} added${created.isDefault ? ' as the default site' : ''}.`);
      await load();
    },
  });

  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: customer.name }),
      h('div', { class: 'actions' }, link('/customers', { class: 'button', text: 'All customers' })),
    ),
    notice,
    h(
      'dl',
      { class: 'facts' },
      h('dt', { text: 'Kind' }),
      h('dd', { text: KIND_NAMES[customer.kind] ?? customer.kind }),
      customer.kind === 'rev' && [
        h('dt', { text: 'Rev.io id' }),
        h('dd', { class: 'mono', text: customer.revCustomerId }),
      ],
      h('dt', { text: 'Status' }),
      h('dd', {}, badge(customer.active ? 'ACTIVE' : 'INACTIVE')),
    ),
    h('h2', { class: 'section', text: 'Sites' }),
    dataTable(`Sites of ${customer.name}`, ['Name', 'Address', ''], tbody),
    me?.role === 'admin' && siteForm,
  );
}

/** Columns of the problems table from a refused file: `/rows/<line>/<column>`, or the file as a whole. */
function problemRows(/** @type {{ path: string, message: string }[]} */ details) {
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
 * limits: string, before?: (errors: ReturnType<typeof formErrors>) => HTMLElement, path: () => string | { path: string, message: string }, figures: (a: any) => string }} spec
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
          if (error instanceof ApiError && error.status === 401) return;
          const details = error instanceof ApiError ? error.details : [];
          replace(
            result,
            h(
              'div',
              { class: 'banner error', role: 'alert' },
              h('strong', { text: `${chosen.name}: ${errorText(error)}` }),
            ),
            details.length > 0 &&
              h(
                'div',
                { class: 'table-wrap' },
                h(
                  'table',
                  { 'aria-label': `Problems in ${chosen.name}`, 'data-testid': `${spec.key}-problems` },
                  h(
                    'thead',
                    {},
                    h(
                      'tr',
                      {},
                      h('th', { class: 'num', text: 'Line' }),
                      h('th', { text: 'Column' }),
                      h('th', { text: 'Problem' }),
                    ),
                  ),
                  h('tbody', {}, problemRows(details)),
                ),
              ),
          );
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

async function importView() {
  const providerMap = await providers();
  const provider = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'import-provider' },
      h('option', { value: '', text: 'Choose a service provider…' }),
      [...providerMap.values()].map((p) => h('option', { value: p.id, text: p.name })),
    )
  );
  replace(
    main,
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
/** @param {unknown} error */
function errorText(error) {
  if (error instanceof ApiError) return error.message;
  return 'The server could not be reached. Check your connection and try again.';
}

function renderTopbar(/** @type {string} */ path) {
  if (!me) return;
  topbar.hidden = false;
  const current = (/** @type {boolean} */ yes) => (yes ? 'page' : undefined);
  replace(
    topbar,
    link('/', { class: 'brand', text: 'simbind' }),
    h(
      'nav',
      { 'aria-label': 'Main' },
      link('/', {
        text: 'Bulk changes',
        'aria-current': current(path === '/' || path.startsWith('/bulk-changes')),
      }),
      canSubmit() && link('/new', { text: 'New assignment', 'aria-current': current(path === '/new') }),
      me.role === 'admin' && link('/users', { text: 'People', 'aria-current': current(path === '/users') }),
      me.role === 'admin' &&
        link('/integrations', { text: 'Accounts', 'aria-current': current(path === '/integrations') }),
      link('/customers', { text: 'Customers', 'aria-current': current(path.startsWith('/customers')) }),
      me.role === 'admin' && link('/import', { text: 'Import', 'aria-current': current(path === '/import') }),
      me.role === 'admin' &&
        link('/webhooks', { text: 'Webhooks', 'aria-current': current(path === '/webhooks') }),
    ),
    h(
      'div',
      { class: 'who' },
      h('span', { class: 'tenant', text: me.tenant.name, 'data-testid': 'tenant' }),
      h('strong', { text: me.name, 'data-testid': 'user-name' }),
      h('span', { class: 'role', text: me.role }),
      link('/password', { text: 'Password', 'aria-current': current(path === '/password') }),
      h('button', { type: 'button', onclick: () => void signOut(), text: 'Sign out' }),
    ),
  );
}

async function signOut() {
  try {
    await api('POST', '/auth/logout', undefined, { noRedirect: true });
  } catch {
    // signed out either way
  }
  me = null;
  cache.providers = null;
  cache.customers = null;
  navigate('/login');
}

// ---------------------------------------------------------------- sign in

async function loginView() {
  // A database with no tenant yet (demo data off): the first-run screen instead.
  const setup = await api('GET', '/setup', undefined, { noRedirect: true }).catch(() => ({ needed: false }));
  if (setup.needed) return setupView();
  const email = h('input', {
    id: 'email',
    type: 'email',
    name: 'email',
    autocomplete: 'username',
    required: true,
  });
  const password = h('input', {
    id: 'password',
    type: 'password',
    name: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('div', { class: 'banner error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });

  const form = h(
    'form',
    {
      class: 'panel',
      novalidate: true,
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault();
        error.hidden = true;
        const body = {
          email: /** @type {HTMLInputElement} */ (email).value.trim(),
          password: /** @type {HTMLInputElement} */ (password).value,
        };
        if (!body.email || !body.password) {
          error.textContent = 'Enter your e-mail and password.';
          error.hidden = false;
          return;
        }
        /** @type {HTMLButtonElement} */ (button).disabled = true;
        try {
          me = (await api('POST', '/auth/login', body, { noRedirect: true })).user;
          const next = new URLSearchParams(location.search).get('next');
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) error.textContent = 'Wrong e-mail or password.';
          else if (e instanceof ApiError && e.status === 429)
            error.textContent = `Too many sign-in attempts. Try again ${e.retryAfter ? `in ${e.retryAfter} s` : 'later'}.`;
          else error.textContent = errorText(e);
          error.hidden = false;
          /** @type {HTMLInputElement} */ (password).select();
        } finally {
          /** @type {HTMLButtonElement} */ (button).disabled = false;
        }
      },
    },
    h('h1', { text: 'simbind' }),
    h('p', { class: 'muted', text: 'Sign in to assign devices to customers.' }),
    error,
    h('div', { class: 'field' }, h('label', { for: 'email', text: 'E-mail' }), email),
    h('div', { class: 'field' }, h('label', { for: 'password', text: 'Password' }), password),
    button,
  );
  replace(main, h('div', { class: 'login' }, form));
  email.focus();
}

// ---------------------------------------------------------------- first run

/** The server's password rule (users.service.ts), checked here first for a clearer message. */
const MIN_PASSWORD_LENGTH = 12;

/** The first-run screen: a database with no tenant (demo data off) is set up here or with `simbind init`. */
function setupView() {
  const errors = formErrors();
  const input = (/** @type {string} */ id, /** @type {Record<string, any>} */ attrs = {}) =>
    /** @type {HTMLInputElement} */ (h('input', { id, required: true, ...attrs }));
  const code = input('setup-code', { autocomplete: 'off', spellcheck: 'false', class: 'mono' });
  const tenant = input('setup-tenant', { autocomplete: 'organization' });
  const email = input('setup-email', { type: 'email', autocomplete: 'username' });
  const name = input('setup-name', { autocomplete: 'name', required: false });
  const password = input('setup-password', { type: 'password', autocomplete: 'new-password' });
  const confirm = input('setup-confirm', { type: 'password', autocomplete: 'new-password' });
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', text: 'Set up simbind' })
  );

  const form = h(
    'form',
    {
      class: 'panel',
      novalidate: true,
      'aria-labelledby': 'setup-title',
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault();
        errors.clear();
        const local = [];
        if (!code.value.trim())
          local.push({ path: '/setupCode', message: "Type the code from simbind's terminal." });
        if (!tenant.value.trim()) local.push({ path: '/tenantName', message: 'Name your organisation.' });
        if (!email.value.trim()) local.push({ path: '/adminEmail', message: 'Enter your e-mail.' });
        if (password.value.length < MIN_PASSWORD_LENGTH)
          local.push({ path: '/password', message: `At least ${MIN_PASSWORD_LENGTH} characters.` });
        else if (confirm.value !== password.value)
          local.push({ path: '/confirm', message: 'The two passwords differ.' });
        if (local.length) return errors.show('Some fields need your attention.', local);
        button.disabled = true;
        try {
          me = (
            await api(
              'POST',
              '/setup',
              {
                setupCode: code.value.trim(),
                tenantName: tenant.value.trim(),
                adminEmail: email.value.trim(),
                ...(name.value.trim() ? { adminName: name.value.trim() } : {}),
                password: password.value,
              },
              { noRedirect: true },
            )
          ).user;
          navigate('/integrations', true);
        } catch (e) {
          if (e instanceof ApiError && e.status === 409) {
            replace(
              errors.banner,
              h('strong', { text: e.message }),
              ' ',
              link('/login', { text: 'Sign in' }),
            );
            errors.banner.hidden = false;
          } else if (e instanceof ApiError && e.status === 403)
            errors.show('The setup code is not right.', [{ path: '/setupCode', message: e.message }]);
          else if (e instanceof ApiError && e.status === 429)
            errors.show(
              `Too many wrong codes. Try again ${e.retryAfter ? `in ${e.retryAfter} s` : 'later'}.`,
              [],
            );
          else errors.show(errorText(e), e instanceof ApiError ? e.details : []);
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h1', { id: 'setup-title', text: 'Set up simbind' }),
    h('p', {
      class: 'muted',
      text: 'No organisation exists yet. Create yours and its first administrator: you. (On the server, `npx simbind init` does the same.)',
    }),
    errors.banner,
    formField(
      errors,
      'setupCode',
      'Setup code',
      code,
      "Printed on simbind's terminal when it started (a new one at each start): only whoever runs the server can set it up.",
    ),
    formField(errors, 'tenantName', 'Organisation', tenant, 'e.g. Acme IoT'),
    formField(errors, 'adminEmail', 'Your e-mail', email),
    formField(errors, 'adminName', 'Your name', name),
    formField(errors, 'password', 'Password', password, `At least ${MIN_PASSWORD_LENGTH} characters.`),
    formField(errors, 'confirm', 'Password again', confirm),
    button,
  );
  replace(main, h('div', { class: 'login setup' }, form));
  code.focus();
}

// ---------------------------------------------------------------- your password

/** Everyone changes their own password here (first of all the one-time password an admin gave them). */
function passwordView() {
  const errors = formErrors();
  const input = (/** @type {string} */ id, /** @type {string} */ autocomplete) =>
    /** @type {HTMLInputElement} */ (h('input', { id, type: 'password', autocomplete, required: true }));
  const current = input('current-password', 'current-password');
  const fresh = input('new-password', 'new-password');
  const confirm = input('new-password-confirm', 'new-password');
  const notice = h('div', { 'aria-live': 'polite' });
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', text: 'Change password' })
  );
  const form = h(
    'form',
    {
      class: 'panel',
      novalidate: true,
      'aria-labelledby': 'password-title',
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault();
        errors.clear();
        replace(notice);
        const local = [];
        if (!current.value) local.push({ path: '/currentPassword', message: 'Enter your current password.' });
        if (fresh.value.length < MIN_PASSWORD_LENGTH)
          local.push({ path: '/newPassword', message: `At least ${MIN_PASSWORD_LENGTH} characters.` });
        else if (confirm.value !== fresh.value)
          local.push({ path: '/confirm', message: 'The two passwords differ.' });
        if (local.length) return errors.show('Some fields need your attention.', local);
        button.disabled = true;
        try {
          await api('POST', '/auth/password', { currentPassword: current.value, newPassword: fresh.value });
          current.value = fresh.value = confirm.value = '';
          replace(
            notice,
            h('div', {
              class: 'banner ok',
              role: 'status',
              text: 'Password changed: your other sessions have ended, this one stays signed in.',
            }),
          );
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return;
          if (e instanceof ApiError && e.status === 422)
            errors.show('The current password is not right.', [
              { path: '/currentPassword', message: e.message },
            ]);
          else errors.show(errorText(e), e instanceof ApiError ? e.details : []);
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h1', { id: 'password-title', text: 'Change password' }),
    errors.banner,
    notice,
    formField(errors, 'currentPassword', 'Current password', current),
    formField(errors, 'newPassword', 'New password', fresh, `At least ${MIN_PASSWORD_LENGTH} characters.`),
    formField(errors, 'confirm', 'New password again', confirm),
    button,
  );
  replace(main, h('div', { class: 'login' }, form));
  current.focus();
}

// ---------------------------------------------------------------- bulk change list

async function listView() {
  const [providerMap, customerMap] = await Promise.all([providers(), customers()]);
  /** @type {any[]} */
  let items = [];
  /** @type {string | null} */
  let nextCursor = null;

  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  const wrap = h('div', { class: 'table-wrap' });

  const draw = () => {
    replace(
      tbody,
      items.map((bc) => {
        const go = () => navigate(`/bulk-changes/${bc.id}`);
        const c = bc.counts;
        return h(
          'tr',
          {
            class: 'clickable',
            tabindex: 0,
            dataset: { id: bc.id },
            onclick: go,
            onkeydown: (/** @type {KeyboardEvent} */ e) => e.key === 'Enter' && go(),
          },
          h('td', { class: 'num' }, link(`/bulk-changes/${bc.id}`, { text: `#${bc.id}`, tabindex: -1 })),
          h('td', {}, badge(bc.status)),
          h('td', { text: customerMap.get(bc.customerId)?.name ?? `Customer ${bc.customerId}` }),
          h('td', {
            text: providerMap.get(bc.serviceProviderId)?.name ?? `Provider ${bc.serviceProviderId}`,
          }),
          h('td', { text: bc.createdBy?.name ?? '' }),
          h('td', { class: 'small nowrap', text: fmtTime(bc.createdAt) }),
          h('td', {}, progressBar(c)),
          h(
            'td',
            { class: 'num small' },
            h('div', { text: `${fmtNum(c.processed + c.error + c.cancelled)} / ${fmtNum(c.total)}` }),
            c.error > 0 && h('div', { class: 'muted', text: `${fmtNum(c.error)} error` }),
          ),
        );
      }),
    );
    if (items.length === 0) replace(wrap, h('div', { class: 'empty', text: 'No bulk changes yet.' }));
    else
      replace(
        wrap,
        h(
          'table',
          { 'aria-label': 'Bulk changes' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['ID', 'Status', 'Customer', 'Provider', 'Created by', 'Created', 'Progress', 'Done'].map(
                (t, i) => h('th', { class: i === 0 || i === 7 ? 'num' : undefined, text: t }),
              ),
            ),
          ),
          tbody,
        ),
      );
    replace(
      more,
      nextCursor && h('button', { type: 'button', text: 'Load more', onclick: () => void loadMore() }),
    );
  };

  const loadMore = async () => {
    const page = await api('GET', `/bulk-changes?limit=50&cursor=${encodeURIComponent(nextCursor ?? '')}`);
    items = items.concat(page.items);
    nextCursor = page.nextCursor;
    draw();
  };

  const first = await api('GET', '/bulk-changes?limit=50');
  items = first.items;
  nextCursor = first.nextCursor;

  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'Bulk changes' }),
      h(
        'div',
        { class: 'actions' },
        canSubmit() && link('/new', { class: 'button primary', text: 'New assignment' }),
      ),
    ),
    wrap,
    more,
  );
  draw();

  // While anything is open, re-read what is on screen (same number of rows, newest first).
  every(async () => {
    if (!items.some((bc) => OPEN_STATUSES.includes(bc.status))) {
      // Something new may still arrive from elsewhere; look at the first page, cheaply.
      const page = await api('GET', '/bulk-changes?limit=50');
      if (page.items[0]?.id !== items[0]?.id) {
        items = page.items.concat(
          items.filter((bc) => !page.items.some((/** @type {any} */ p) => p.id === bc.id)),
        );
        draw();
      }
      return true;
    }
    const page = await api('GET', `/bulk-changes?limit=${Math.min(1000, Math.max(50, items.length))}`);
    items = page.items;
    if (items.length >= 1000 || !page.nextCursor) nextCursor = page.nextCursor;
    draw();
    return true;
  });
}

// ---------------------------------------------------------------- new assignment

/** Splits pasted identifiers: one per line, or separated by commas, semicolons or spaces. @param {string} text */
const parseIdentifiers = (text) => text.split(/[\s,;]+/).filter(Boolean);

async function newView() {
  if (!canSubmit()) {
    replace(
      main,
      h('h1', { text: 'New assignment' }),
      h('div', { class: 'banner info', text: 'Your role may read bulk changes but not submit them.' }),
    );
    return;
  }
  const [providerMap, customerMap] = await Promise.all([providers(), customers()]);
  const [customerPlans, pools] = await Promise.all([all('/rate-plans?kind=customer'), all('/rate-pools')]);

  /** @type {Map<string, HTMLElement>} field key → error slot */
  const errorSlots = new Map();
  /** @param {string} key @param {Element} control */
  const slot = (key, control) => {
    const el = h('div', { class: 'field-error', role: 'alert', hidden: true, dataset: { errorFor: key } });
    errorSlots.set(key, el);
    /** @type {any} */ (el).control = control;
    return el;
  };
  const top = h('div', { class: 'banner error', role: 'alert', hidden: true });

  // Provider
  const provider = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'provider', required: true },
      h('option', { value: '', text: 'Choose a provider…' }),
      [...providerMap.values()].map((p) => h('option', { value: p.id, text: p.name })),
    )
  );

  // Devices
  const devices = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      id: 'devices',
      rows: 8,
      spellcheck: 'false',
      class: 'mono',
      placeholder: 'ICCIDs or MSISDNs: one per line, or separated by commas or spaces',
    })
  );
  const deviceCount = h('div', { class: 'hint', 'data-testid': 'device-count', text: '0 identifiers' });
  devices.addEventListener('input', () => {
    const ids = parseIdentifiers(devices.value);
    const unique = new Set(ids).size;
    deviceCount.textContent = `${fmtNum(ids.length)} identifier${ids.length === 1 ? '' : 's'}${unique < ids.length ? ` (${fmtNum(ids.length - unique)} repeated)` : ''}`;
  });

  // Customer, with type-to-filter
  const customerFilter = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'customer-filter',
      type: 'search',
      placeholder: 'Type to filter customers…',
      class: 'wide',
      autocomplete: 'off',
    })
  );
  const customer = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'customer', 'aria-label': 'Customer', class: 'wide' })
  );
  const customerLabel = (/** @type {any} */ c) =>
    `${c.name} — ${c.kind === 'rev' ? `Rev ${c.revCustomerId ?? ''}`.trim() : 'AMOP'}${c.active ? '' : ' (inactive)'}`;
  const fillCustomers = () => {
    const q = customerFilter.value.trim().toLowerCase();
    const chosen = customer.value;
    const matches = [...customerMap.values()]
      .filter((c) => !q || customerLabel(c).toLowerCase().includes(q))
      .sort((a, b) => a.name.localeCompare(b.name));
    replace(
      customer,
      h('option', {
        value: '',
        text: matches.length ? `Choose a customer… (${matches.length})` : 'No customer matches',
      }),
      matches.map((c) =>
        h('option', {
          value: c.id,
          text: customerLabel(c),
          disabled: !c.active,
          selected: String(c.id) === chosen,
        }),
      ),
    );
    if (matches.length === 1 && matches[0].active && customer.value !== String(matches[0].id)) {
      customer.value = String(matches[0].id);
      // As if picked: its sites, and a Rev customer's catalogue.
      customer.dispatchEvent(new Event('change'));
    }
  };
  customerFilter.addEventListener('input', fillCustomers);
  customerFilter.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'Enter') {
      e.preventDefault();
      customer.focus();
    }
  });

  // Site
  const site = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'site', disabled: true, class: 'wide' },
      h('option', { value: '', text: 'Choose a customer first' }),
    )
  );
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
    revHint.hidden = customerMap.get(Number(id))?.kind === 'rev';
  };
  customer.addEventListener('change', () => void loadSites());
  fillCustomers();

  // Option: move devices that another customer owns (off by default: they are refused as `owned`)
  const reassign = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'opt-reassign' }));

  // Option: Rev.io service
  const createRev = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'opt-rev' }));
  // The Rev.io choices come from the cached catalogue of the customer's Rev.io account (GET
  // /customers/:id/rev-catalogue); when it cannot be read, the ids are typed, with a warning.
  /** @type {any} the catalogue of the chosen Rev customer, or null: typed ids */
  let revCatalogue = null;
  /** [element id, label, catalogue list, error key, optional] */
  const REV_FIELDS = /** @type {[string, string, string, string, boolean][]} */ ([
    ['service-type', 'Service type', 'serviceTypes', 'revService/serviceTypeId', false],
    ['package-id', 'Package', 'packages', 'revService/packageId', true],
    ['provider-id', 'Provider', 'providers', 'revService/providerId', true],
    ['usage-plan-group-id', 'Usage plan group', 'usagePlanGroups', 'revService/usagePlanGroupId', true],
  ]);
  const revControl = (
    /** @type {string} */ id,
    /** @type {string} */ label,
    /** @type {string} */ list,
    /** @type {boolean} */ optional,
  ) =>
    revCatalogue
      ? h(
          'select',
          { id, 'aria-label': label },
          h('option', { value: '', text: optional ? 'None' : `Choose a ${label.toLowerCase()}…` }),
          revCatalogue[list].map((/** @type {any} */ item) =>
            h('option', { value: item.id, text: `${item.name} · ${item.id}` }),
          ),
        )
      : h('input', {
          id,
          type: 'number',
          min: 1,
          step: 1,
          style: 'width:140px',
          'aria-label': `${label} id`,
        });
  const revFields = h('div', { class: 'row' });
  const drawRevFields = () =>
    replace(
      revFields,
      REV_FIELDS.map(([id, label, list, key, optional]) => {
        const control = revControl(id, label, list, optional);
        return h(
          'div',
          { class: 'field' },
          h('label', { for: id, text: revCatalogue ? label : `${label} id` }),
          control,
          id === 'package-id' && h('div', { class: 'hint', text: 'or products below' }),
          slot(key, control),
        );
      }),
    );
  /** The value of a Rev.io field, select or typed id. @param {string} id */
  const revValue = (id) =>
    /** @type {HTMLInputElement | null} */ (revFields.querySelector(`#${id}`))?.value ?? '';
  const productRows = h('div', { class: 'products' });
  const addProduct = () => {
    const rate = /** @type {HTMLInputElement} */ (
      h('input', {
        type: 'number',
        min: 0,
        step: '0.01',
        placeholder: 'Rate',
        'aria-label': 'Rate',
        class: 'product-rate',
        style: 'width:120px',
      })
    );
    const product = /** @type {HTMLSelectElement | HTMLInputElement} */ (
      revCatalogue
        ? h(
            'select',
            { class: 'product-id', 'aria-label': 'Product' },
            h('option', { value: '', text: 'Choose a product…' }),
            revCatalogue.products.map((/** @type {any} */ p) =>
              h('option', {
                value: p.id,
                text: `${p.name} · ${p.id}${p.rate === null ? '' : ` (default rate ${p.rate})`}`,
              }),
            ),
          )
        : h('input', {
            type: 'number',
            min: 1,
            step: 1,
            placeholder: 'Product id',
            'aria-label': 'Product id',
            class: 'product-id',
            style: 'width:140px',
          })
    );
    // Choosing a product fills in its default rate, which stays editable.
    product.addEventListener('change', () => {
      const chosen = revCatalogue?.products.find((/** @type {any} */ p) => String(p.id) === product.value);
      if (chosen && chosen.rate !== null) rate.value = String(chosen.rate);
    });
    const row = h(
      'div',
      { class: 'row product', style: 'margin-bottom:8px' },
      product,
      rate,
      h('button', {
        type: 'button',
        text: 'Remove',
        'aria-label': 'Remove product',
        onclick: () => row.remove(),
      }),
    );
    productRows.append(row);
  };
  const drawRev = () => {
    drawRevFields();
    replace(productRows);
    addProduct();
  };
  drawRev();
  const revSource = h('div', { class: 'hint', 'data-testid': 'rev-catalogue', hidden: true });
  const revWarning = h('div', { class: 'banner warn', role: 'status', hidden: true });
  /** Loads the chosen Rev customer's catalogue (first reading its account again, for `refresh`). */
  const loadRevCatalogue = async (refresh = false) => {
    const id = customer.value;
    const chosen = customerMap.get(Number(id));
    revSource.hidden = true;
    revWarning.hidden = true;
    if (!chosen || chosen.kind !== 'rev') {
      revCatalogue = null;
      drawRev();
      return;
    }
    // A failed refresh leaves the cached catalogue as it was: still offered, with the reason.
    let refreshError = null;
    if (refresh && revCatalogue) {
      try {
        await api('POST', `/integrations/${revCatalogue.account.id}/catalogue/refresh`);
      } catch (error) {
        refreshError = /** @type {Error} */ (error).message;
      }
    }
    try {
      const catalogue = await api('GET', `/customers/${id}/rev-catalogue`);
      if (customer.value !== id) return;
      revCatalogue = catalogue;
      replace(
        revSource,
        `Catalogue of ${catalogue.account.name} as of ${fmtTime(catalogue.fetchedAt)}`,
        me?.role === 'admin' &&
          h('a', {
            href: '#',
            id: 'rev-catalogue-refresh',
            text: 'Refresh',
            style: 'margin-left:8px',
            onclick: (/** @type {Event} */ e) => {
              e.preventDefault();
              void loadRevCatalogue(true);
            },
          }),
      );
      revSource.hidden = false;
      const problem = refreshError ?? catalogue.refreshError;
      if (problem) {
        replace(revWarning, `Could not read the account again just now: ${problem}`);
        revWarning.hidden = false;
      }
    } catch (error) {
      if (customer.value !== id) return;
      revCatalogue = null;
      replace(
        revWarning,
        `The Rev.io catalogue cannot be read (${/** @type {Error} */ (error).message}). Type the ids instead.`,
      );
      revWarning.hidden = false;
    }
    drawRev();
  };
  customer.addEventListener('change', () => void loadRevCatalogue());
  if (customer.value) void loadRevCatalogue();
  const revHint = h('div', { class: 'hint', text: 'A Rev.io service needs a Rev customer.', hidden: true });
  const revSub = h(
    'div',
    { class: 'sub', hidden: true },
    revSource,
    revWarning,
    revFields,
    revHint,
    slot('revService', revFields),
    h('label', { text: 'Products', style: 'margin-top:12px' }),
    productRows,
    slot('revService/products', productRows),
    h('button', { type: 'button', text: 'Add product', onclick: () => addProduct() }),
  );

  // Option: customer rate plan / pool
  const addCustomerPlan = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', id: 'opt-customer-plan' })
  );
  const customerPlan = /** @type {HTMLSelectElement} */ (
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
  const ratePool = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'rate-pool' },
      h('option', { value: '', text: '— no pool —' }),
      pools.map((p) => h('option', { value: p.id, text: `${p.name} (${fmtNum(p.sharedDataMb)} MB)` })),
    )
  );
  const planSub = h(
    'div',
    { class: 'sub', hidden: true },
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'customer-plan', text: 'Rate plan' }), customerPlan),
      h('div', { class: 'field' }, h('label', { for: 'rate-pool', text: 'Rate pool' }), ratePool),
    ),
    slot('customerRatePlan', customerPlan),
  );

  // Option: carrier rate plan
  const addCarrierPlan = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', id: 'opt-carrier-plan' })
  );
  const carrierPlan = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'carrier-plan' }, h('option', { value: '', text: 'Choose a provider first' }))
  );
  const commPlan = h('div', { class: 'hint', 'data-testid': 'comm-plan' });
  /** @type {any[]} */
  let carrierPlans = [];
  const showCommPlan = () => {
    const plan = carrierPlans.find((p) => p.code === carrierPlan.value);
    commPlan.textContent = plan ? `Communication plan: ${plan.communicationPlan ?? 'none (unchanged)'}` : '';
  };
  carrierPlan.addEventListener('change', showCommPlan);
  const loadCarrierPlans = async () => {
    const id = provider.value;
    carrierPlans = [];
    replace(carrierPlan, h('option', { value: '', text: id ? 'Loading…' : 'Choose a provider first' }));
    showCommPlan();
    if (!id) return;
    const plans = await all(`/rate-plans?kind=carrier&serviceProviderId=${id}`);
    if (provider.value !== id) return;
    carrierPlans = plans;
    replace(
      carrierPlan,
      h('option', { value: '', text: 'Choose a carrier plan…' }),
      plans.map((p) => h('option', { value: p.code, text: `${p.code} · ${p.name}` })),
    );
  };
  provider.addEventListener('change', () => void loadCarrierPlans());
  const carrierSub = h(
    'div',
    { class: 'sub', hidden: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'carrier-plan', text: 'Carrier rate plan' }),
      carrierPlan,
      commPlan,
    ),
    slot('carrierRatePlan', carrierPlan),
  );

  for (const [box, sub] of /** @type {[HTMLInputElement, HTMLElement][]} */ ([
    [createRev, revSub],
    [addCustomerPlan, planSub],
    [addCarrierPlan, carrierSub],
  ]))
    box.addEventListener('change', () => (sub.hidden = !box.checked));

  const effectiveDate = /** @type {HTMLInputElement} */ (h('input', { id: 'effective-date', type: 'date' }));

  const checkButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', text: 'Check', onclick: () => void send(true) })
  );
  const submitButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'primary', text: 'Submit', onclick: () => void send(false) })
  );
  const result = h('div', { 'data-testid': 'check-result' });

  /** Builds the request body from the form. */
  const body = (/** @type {boolean} */ dryRun) => {
    const num = (/** @type {string} */ v) => (v.trim() === '' ? undefined : Number(v));
    /** @type {Record<string, any>} */
    const b = {
      changeType: 'customer_assignment',
      serviceProviderId: num(provider.value),
      devices: parseIdentifiers(devices.value),
      customerId: num(customer.value),
      siteId: num(site.value),
      reassign: reassign.checked || undefined,
      createRevService: createRev.checked,
      addCustomerRatePlan: addCustomerPlan.checked,
      addCarrierRatePlan: addCarrierPlan.checked,
      effectiveDate: effectiveDate.value || undefined,
      dryRun,
    };
    if (createRev.checked) {
      const products = [...productRows.querySelectorAll('.product')]
        .map((row) => ({
          productId: num(/** @type {HTMLInputElement} */ (row.querySelector('.product-id')).value),
          rate: num(/** @type {HTMLInputElement} */ (row.querySelector('.product-rate')).value),
        }))
        .filter((p) => p.productId !== undefined || p.rate !== undefined);
      b.revService = {
        serviceTypeId: num(revValue('service-type')),
        packageId: num(revValue('package-id')),
        providerId: num(revValue('provider-id')),
        usagePlanGroupId: num(revValue('usage-plan-group-id')),
        products: products.length ? products : undefined,
      };
    }
    if (addCustomerPlan.checked)
      b.customerRatePlan = { ratePlanId: num(customerPlan.value), ratePoolId: num(ratePool.value) };
    if (addCarrierPlan.checked) {
      const plan = carrierPlans.find((p) => p.code === carrierPlan.value);
      b.carrierRatePlan = {
        ratePlan: carrierPlan.value || undefined,
        communicationPlan: plan?.communicationPlan ?? undefined,
      };
    }
    return b;
  };

  const clearErrors = () => {
    top.hidden = true;
    for (const el of errorSlots.values()) {
      el.hidden = true;
      /** @type {any} */ (el).control?.classList.remove('invalid');
    }
  };

  /** Client-side checks for what the server would refuse anyway, with a clearer message. */
  const localErrors = (/** @type {Record<string, any>} */ b) => {
    const errors = [];
    if (!b.serviceProviderId)
      errors.push({ path: '/serviceProviderId', message: 'Choose a service provider.' });
    if (b.devices.length === 0)
      errors.push({ path: '/devices', message: 'Paste at least one ICCID or MSISDN.' });
    if (!b.customerId) errors.push({ path: '/customerId', message: 'Choose a customer.' });
    return errors;
  };

  const showErrors = (
    /** @type {string} */ message,
    /** @type {{ path: string, message: string }[]} */ details,
  ) => {
    const unplaced = [];
    for (const d of details) {
      // The deepest field that has a slot: '/revService/packageId' goes under the package id,
      // not under the first field of the Rev.io section.
      const parts = (d.path ?? '').split('/').filter(Boolean);
      let el;
      for (let n = parts.length; n > 0 && !el; n -= 1) el = errorSlots.get(parts.slice(0, n).join('/'));
      if (el) {
        el.textContent = el.hidden ? d.message : `${el.textContent} ${d.message}`;
        el.hidden = false;
        /** @type {any} */ (el).control?.classList.add('invalid');
      } else unplaced.push(d.path ? `${d.path}: ${d.message}` : d.message);
    }
    replace(
      top,
      h('strong', { text: message }),
      unplaced.length > 0 &&
        h(
          'ul',
          { style: 'margin:6px 0 0' },
          unplaced.map((u) => h('li', { text: u })),
        ),
    );
    top.hidden = false;
    top.scrollIntoView({ block: 'nearest' });
  };

  const send = async (/** @type {boolean} */ dryRun) => {
    clearErrors();
    const b = body(dryRun);
    const local = localErrors(b);
    if (local.length) return showErrors('Some fields need your attention.', local);
    checkButton.disabled = submitButton.disabled = true;
    try {
      const answer = await api('POST', '/bulk-changes', b);
      if (dryRun) {
        showCheck(answer);
        result.scrollIntoView({ block: 'nearest' });
      } else navigate(`/bulk-changes/${answer.id}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      showErrors(errorText(error), error instanceof ApiError ? error.details : []);
    } finally {
      checkButton.disabled = submitButton.disabled = false;
    }
  };

  /** "312 to Acme Fleet, 4 to Contoso Labs": who owns these devices today. */
  const ownersOf = (/** @type {any[]} */ devices) => {
    /** @type {Map<string, number>} */
    const by = new Map();
    for (const d of devices) {
      const name = d.currentOwner?.name ?? `customer ${d.currentOwner?.customerId}`;
      by.set(name, (by.get(name) ?? 0) + 1);
    }
    const list = [...by].sort((a, b) => b[1] - a[1]);
    const top = list.slice(0, 3).map(([name, n]) => `${fmtNum(n)} of ${name}`);
    return list.length > 3 ? `${top.join(', ')} and ${list.length - 3} more customers` : top.join(', ');
  };

  const showCheck = (/** @type {any} */ answer) => {
    const bad = answer.devices.filter((/** @type {any} */ d) => !d.eligible);
    const dup = answer.duplicates?.length ?? 0;
    const shown = bad.slice(0, 500);
    const owned = bad.filter((/** @type {any} */ d) => d.errorCategory === 'owned').length;
    const moving = answer.counts.changingHands ?? 0;
    replace(
      result,
      h(
        'div',
        { class: `banner ${bad.length || moving ? 'warn' : 'ok'}`, 'data-testid': 'check-summary' },
        h('strong', {
          text: `${fmtNum(answer.counts.eligible)} eligible, ${fmtNum(answer.counts.ineligible)} ineligible, ${fmtNum(dup)} duplicate${dup === 1 ? '' : 's'}`,
        }),
        moving > 0 &&
          h('div', {
            'data-testid': 'changing-hands',
            text: `${fmtNum(moving)} ${moving === 1 ? 'device belongs' : 'devices belong'} to other customers and will change hands: ${ownersOf(answer.devices.filter((/** @type {any} */ d) => d.eligible && d.changesHands))}.`,
          }),
        owned > 0 &&
          h('div', {
            text: `${fmtNum(owned)} ${owned === 1 ? 'device belongs' : 'devices belong'} to other customers (${ownersOf(bad.filter((/** @type {any} */ d) => d.errorCategory === 'owned'))}); tick "Also move devices that belong to other customers" to move them.`,
          }),
        dup > 0 &&
          h('div', {
            class: 'small',
            text: `Duplicates (counted once): ${answer.duplicates.slice(0, 20).join(', ')}${dup > 20 ? ', …' : ''}`,
          }),
      ),
      bad.length > 0 &&
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { 'aria-label': 'Ineligible devices' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { text: 'Identifier' }),
                h('th', { text: 'Category' }),
                h('th', { text: 'Message' }),
              ),
            ),
            h(
              'tbody',
              {},
              shown.map((/** @type {any} */ d) =>
                h(
                  'tr',
                  {},
                  h('td', { class: 'mono', text: d.identifier }),
                  h('td', { text: d.errorCategory ?? '' }),
                  h('td', { text: d.message ?? '' }),
                ),
              ),
            ),
          ),
        ),
      bad.length > shown.length &&
        h('p', { class: 'muted small', text: `First ${shown.length} of ${fmtNum(bad.length)} shown.` }),
    );
  };

  const field = (
    /** @type {string} */ key,
    /** @type {string} */ label,
    /** @type {HTMLElement} */ control,
    /** @type {any[]} */ ...extra
  ) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: control.id, text: label }),
      control,
      ...extra,
      slot(key, control),
    );

  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { text: 'New assignment' }),
      h('div', { class: 'actions' }, link('/', { class: 'button', text: 'Cancel' })),
    ),
    top,
    h(
      'form',
      { novalidate: true, onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
      h(
        'div',
        { class: 'grid2' },
        h(
          'div',
          { class: 'panel' },
          h('h2', { text: 'Devices' }),
          field('serviceProviderId', 'Service provider', provider),
          field('devices', 'ICCIDs or MSISDNs', devices, deviceCount),
        ),
        h(
          'div',
          { class: 'panel' },
          h('h2', { text: 'Customer and site' }),
          h(
            'div',
            { class: 'field' },
            h('label', { for: 'customer-filter', text: 'Customer' }),
            customerFilter,
            h('div', { style: 'height:6px' }),
            customer,
            slot('customerId', customer),
          ),
          field('siteId', 'Site', site),
        ),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', { text: 'Options' }),
        h(
          'div',
          { class: 'option' },
          h('label', { class: 'check' }, reassign, 'Also move devices that belong to other customers'),
        ),
        h(
          'div',
          { class: 'option' },
          h('label', { class: 'check' }, createRev, 'Create Rev.io service'),
          revSub,
        ),
        h(
          'div',
          { class: 'option' },
          h('label', { class: 'check' }, addCustomerPlan, 'Customer rate plan'),
          planSub,
        ),
        h(
          'div',
          { class: 'option' },
          h('label', { class: 'check' }, addCarrierPlan, 'Carrier rate plan'),
          carrierSub,
        ),
        h(
          'div',
          { class: 'option' },
          field(
            'effectiveDate',
            'Effective date',
            effectiveDate,
            h('div', { class: 'hint', text: "Optional. When empty, each device's activation date is used." }),
          ),
        ),
      ),
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
  provider.focus();
}

// ---------------------------------------------------------------- bulk change detail

const DEVICE_FILTERS = [
  { key: 'all', label: 'All', status: '', count: 'total' },
  { key: 'errors', label: 'Errors', status: 'ERROR', count: 'error' },
  { key: 'processed', label: 'Processed', status: 'PROCESSED', count: 'processed' },
  { key: 'waiting', label: 'Waiting', status: 'WAITING_CARRIER', count: 'waiting' },
  { key: 'cancelled', label: 'Cancelled', status: 'CANCELLED', count: 'cancelled' },
];

/** @type {Record<string, string>} where a bulk change was submitted */
const SOURCE_LABELS = { ui: 'these screens', api: 'the API', legacy: 'the older endpoints' };

/** @param {number} id */
async function detailView(id) {
  const [providerMap, customerMap] = await Promise.all([providers(), customers()]);
  let bc = await api('GET', `/bulk-changes/${id}`);
  /** @type {Map<number, any>} */
  const sites = new Map(
    (await all(`/customers/${bc.customerId}/sites`).catch(() => [])).map((s) => [s.id, s]),
  );
  // Names for the customer rate plan and pool the options name by id.
  const planNames = new Map();
  if (bc.options?.addCustomerRatePlan) {
    const [plans, pools] = await Promise.all([
      all('/rate-plans?kind=customer').catch(() => []),
      all('/rate-pools').catch(() => []),
    ]);
    for (const p of plans) planNames.set(`plan ${p.id}`, `${p.code} · ${p.name}`);
    for (const p of pools) planNames.set(`pool ${p.id}`, `pool ${p.name}`);
  }
  // Left while loading: the screen now shown is another view's (its render started after ours).
  if (location.pathname !== `/bulk-changes/${id}`) return;
  const params = new URLSearchParams(location.search);
  let tab = params.get('tab') === 'log' ? 'log' : 'devices';
  let filter = DEVICE_FILTERS.find((f) => f.key === params.get('filter')) ?? DEVICE_FILTERS[0];

  const head = h('div', { class: 'page-head' });
  const message = h('div', { role: 'status' });
  const tiles = h('div', { class: 'tiles', 'data-testid': 'tiles' });
  const bar = h('div', { style: 'margin-bottom:16px' });
  const facts = h('div', { class: 'grid2' });
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const body = h('div');

  /** Rows of the current tab, and the cursor of its next page. */
  /** @type {any[]} */
  let rows = [];
  /** @type {string | null} */
  let cursor = null;

  const syncUrl = () => {
    const q = new URLSearchParams();
    if (tab === 'log') q.set('tab', 'log');
    else if (filter.key !== 'all') q.set('filter', filter.key);
    const url = `/bulk-changes/${id}${q.size ? `?${q}` : ''}`;
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
  };

  const act = async (/** @type {'retry' | 'cancel'} */ what) => {
    const question =
      what === 'retry'
        ? `Retry the failed devices of bulk change #${id}?`
        : `Cancel bulk change #${id}? Devices not yet started will not be processed; those already begun finish all their steps.`;
    if (!window.confirm(question)) return;
    try {
      await api('POST', `/bulk-changes/${id}/${what}`);
      replace(
        message,
        h('div', {
          class: 'banner ok',
          text: what === 'retry' ? 'Retry started.' : 'Cancellation requested.',
        }),
      );
      await refresh(true);
      startPolling();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401))
        replace(message, h('div', { class: 'banner error', role: 'alert', text: errorText(error) }));
    }
  };

  /** Undo (issue 16): the dry run in a dialog first, then the undo, then its own page. */
  const undo = async () => {
    let plan;
    try {
      plan = await api('POST', `/bulk-changes/${id}/undo`, { dryRun: true });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401))
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
          if (!(error instanceof ApiError && error.status === 401))
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
  };

  const drawHead = () => {
    const c = bc.counts;
    replace(
      head,
      h('h1', { text: `Bulk change #${bc.id}` }),
      h('span', { 'data-testid': 'status' }, badge(bc.status, 'big')),
      h(
        'div',
        { class: 'actions' },
        // The server says what is possible now (the same rule guards the action itself).
        bc.actions.includes('retry') &&
          h('button', { type: 'button', text: 'Retry failed', onclick: () => void act('retry') }),
        bc.actions.includes('cancel') &&
          h('button', { type: 'button', class: 'danger', text: 'Cancel', onclick: () => void act('cancel') }),
        bc.actions.includes('undo') &&
          h('button', { type: 'button', text: 'Undo', onclick: () => void undo() }),
        bc.undoOf &&
          link(`/bulk-changes/${bc.undoOf}`, { 'data-testid': 'undo-of', text: `Undo of #${bc.undoOf}` }),
        bc.undoneBy &&
          link(`/bulk-changes/${bc.undoneBy}`, {
            'data-testid': 'undone-by',
            text: `Undone by #${bc.undoneBy}`,
          }),
        bc.cancelRequestedAt &&
          OPEN_STATUSES.includes(bc.status) &&
          h('span', {
            class: 'note',
            'data-testid': 'cancelling',
            text: 'Cancelling: devices already begun finish all their steps.',
          }),
        link('/', { class: 'button', text: 'All bulk changes' }),
      ),
    );
    const tile = (
      /** @type {string} */ label,
      /** @type {number} */ value,
      /** @type {string} */ cls,
      /** @type {string} */ key,
    ) =>
      h(
        'div',
        { class: `tile ${cls}`, dataset: { tile: key } },
        h('div', { class: 'value', text: fmtNum(value) }),
        h('div', { class: 'label', text: label }),
      );
    replace(
      tiles,
      tile('Total', c.total, '', 'total'),
      tile('Processed', c.processed, 'ok', 'processed'),
      tile('Error', c.error, c.error ? 'err' : '', 'error'),
      tile('Waiting carrier', c.waiting, c.waiting ? 'busy' : '', 'waiting'),
      tile('Pending / processing', c.pending + c.processing, c.pending + c.processing ? 'busy' : '', 'open'),
      tile('Cancelled', c.cancelled, c.cancelled ? 'cancel' : '', 'cancelled'),
    );
    const done = c.processed + c.error + c.cancelled;
    replace(
      bar,
      progressBar(c, true),
      h('div', {
        class: 'muted small',
        style: 'margin-top:4px',
        text: `${fmtNum(done)} of ${fmtNum(c.total)} done${c.total ? ` (${Math.floor((100 * done) / c.total)}%)` : ''}`,
      }),
    );

    const o = bc.options ?? {};
    const cust = customerMap.get(bc.customerId);
    const yesNo = (/** @type {boolean} */ v, /** @type {string} */ detail) =>
      v ? `Yes${detail ? ` — ${detail}` : ''}` : 'No';
    const rev = o.revService ?? {};
    const revDetail = [
      rev.serviceTypeId && `service type ${rev.serviceTypeId}`,
      rev.packageId && `package ${rev.packageId}`,
      Array.isArray(rev.products) &&
        rev.products.length &&
        `products ${rev.products.map((/** @type {any} */ p) => `${p.productId} @ ${p.rate}`).join(', ')}`,
    ]
      .filter(Boolean)
      .join(', ');
    const crp = o.customerRatePlan ?? {};
    const dl = (/** @type {[string, any][]} */ pairs) =>
      h(
        'dl',
        { class: 'facts' },
        pairs.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v ?? '—' })]),
      );
    replace(
      facts,
      h(
        'div',
        { class: 'panel' },
        h('h2', { text: 'Timing' }),
        dl([
          ['Created', `${fmtTime(bc.createdAt)} by ${bc.createdBy?.name ?? '?'}`],
          ['Started', fmtTime(bc.startedAt)],
          ['Completed', fmtTime(bc.completedAt)],
          ['Duration', bc.startedAt ? fmtDuration(bc.startedAt, bc.completedAt) : '—'],
          ['Source', SOURCE_LABELS[bc.source] ?? bc.source],
          ...(bc.stats
            ? /** @type {[string, any][]} */ ([
                ['Throughput', `${fmtNum(bc.stats.devicesPerSecond)} devices/s`],
                ['External calls', externalCalls(bc.stats.externalCalls)],
              ])
            : []),
        ]),
      ),
      h(
        'div',
        { class: 'panel' },
        h('h2', { text: 'Options' }),
        dl([
          ['Provider', providerMap.get(bc.serviceProviderId)?.name ?? `#${bc.serviceProviderId}`],
          [
            'Customer',
            cust
              ? `${cust.name} (${cust.kind === 'rev' ? `Rev ${cust.revCustomerId}` : 'AMOP'})`
              : `#${bc.customerId}`,
          ],
          ['Site', bc.siteId ? (sites.get(bc.siteId)?.name ?? `#${bc.siteId}`) : 'default'],
          ['Rev.io service', yesNo(!!o.createRevService, revDetail)],
          [
            'Customer rate plan',
            yesNo(
              !!o.addCustomerRatePlan,
              [
                crp.ratePlanId && (planNames.get(`plan ${crp.ratePlanId}`) ?? `plan #${crp.ratePlanId}`),
                crp.ratePoolId && (planNames.get(`pool ${crp.ratePoolId}`) ?? `pool #${crp.ratePoolId}`),
              ]
                .filter(Boolean)
                .join(', '),
            ),
          ],
          [
            'Carrier rate plan',
            yesNo(
              !!o.addCarrierRatePlan,
              [o.carrierRatePlan?.ratePlan, o.carrierRatePlan?.communicationPlan].filter(Boolean).join(' / '),
            ),
          ],
          ['Effective date', o.effectiveDate ?? "each device's activation date"],
        ]),
      ),
    );
  };

  const drawTabs = () => {
    const tabButton = (/** @type {string} */ key, /** @type {string} */ label) =>
      h('button', {
        type: 'button',
        role: 'tab',
        'aria-selected': String(tab === key),
        text: label,
        onclick: () => {
          tab = key;
          void reloadRows();
        },
      });
    replace(tabs, tabButton('devices', 'Devices'), tabButton('log', 'Change log'));
  };

  const drawBody = () => {
    if (tab === 'devices') {
      const filters = h(
        'div',
        { class: 'tabs pills', role: 'tablist', 'aria-label': 'Device status' },
        DEVICE_FILTERS.map((f) =>
          h(
            'button',
            {
              type: 'button',
              role: 'tab',
              'aria-selected': String(filter.key === f.key),
              onclick: () => {
                filter = f;
                void reloadRows();
              },
            },
            f.label,
            h('span', { class: 'count', text: fmtNum(bc.counts[f.count] ?? 0) }),
          ),
        ),
      );
      const csv = h('button', {
        type: 'button',
        text: 'Download CSV',
        'data-testid': 'csv',
        onclick: () => void downloadCsv(),
      });
      const table = rows.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { 'aria-label': 'Devices' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...[
                    'Identifier',
                    'ICCID',
                    'MSISDN',
                    'Status',
                    'Error category',
                    'Message',
                    'Rev service',
                    'Processed',
                  ].map((t) => h('th', { text: t })),
                ),
              ),
              h(
                'tbody',
                {},
                rows.map((d) =>
                  h(
                    'tr',
                    { dataset: { status: d.status } },
                    h('td', { class: 'mono', text: d.identifier }),
                    h('td', { class: 'mono', text: d.iccid ?? '—' }),
                    h('td', { class: 'mono', text: d.msisdn ?? '—' }),
                    h('td', {}, badge(d.status)),
                    h('td', { text: d.errorCategory ?? '' }),
                    h('td', { text: d.message ?? '' }),
                    h('td', { text: d.revServiceId ?? '' }),
                    h('td', { class: 'small nowrap', text: d.processedAt ? fmtTime(d.processedAt) : '' }),
                  ),
                ),
              ),
            ),
          )
        : h('div', { class: 'table-wrap' }, h('div', { class: 'empty', text: 'No devices in this view.' }));
      replace(body, h('div', { class: 'toolbar' }, filters, h('div', { class: 'right' }, csv)), table);
    } else {
      const table = rows.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { 'aria-label': 'Change log' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['Time', 'Device', 'Description', 'Portal', 'Status', 'Error'].map((t) =>
                    h('th', { text: t }),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                rows.map((entry) => {
                  const detail = h(
                    'tr',
                    { hidden: true, class: 'log-detail' },
                    h(
                      'td',
                      { colspan: 6 },
                      h('div', {
                        class: 'small muted',
                        text: `Device ${entry.deviceId ?? '—'} · work order ${entry.workOrderId ?? '—'} · by ${entry.processedBy}`,
                      }),
                      h('div', { class: 'small', style: 'margin-top:6px' }, h('strong', { text: 'Request' })),
                      h('pre', { class: 'mono', text: entry.requestText ?? '(none)' }),
                      h(
                        'div',
                        { class: 'small', style: 'margin-top:6px' },
                        h('strong', { text: 'Response' }),
                      ),
                      h('pre', { class: 'mono', text: entry.responseText ?? '(none)' }),
                    ),
                  );
                  const toggle = () => {
                    detail.hidden = !detail.hidden;
                    row.setAttribute('aria-expanded', String(!detail.hidden));
                  };
                  const row = h(
                    'tr',
                    {
                      class: 'clickable',
                      tabindex: 0,
                      'aria-expanded': 'false',
                      onclick: toggle,
                      onkeydown: (/** @type {KeyboardEvent} */ e) =>
                        (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), toggle()),
                    },
                    h('td', { class: 'small nowrap', text: fmtTime(entry.processedAt) }),
                    h('td', { class: 'mono', text: entry.iccid ?? entry.identifier ?? '—' }),
                    h('td', { text: entry.description }),
                    h('td', { text: entry.portalType }),
                    h(
                      'td',
                      {},
                      entry.hasError
                        ? h('span', { class: 'badge err', text: entry.responseStatus ?? 'error' })
                        : h('span', { class: 'badge ok', text: entry.responseStatus ?? 'ok' }),
                    ),
                    h('td', { text: entry.errorText ?? '' }),
                  );
                  return [row, detail];
                }),
              ),
            ),
          )
        : h('div', { class: 'table-wrap' }, h('div', { class: 'empty', text: 'No change-log entries yet.' }));
      replace(body, table);
    }
    if (cursor)
      body.append(
        h(
          'div',
          { class: 'more' },
          h('button', { type: 'button', text: 'Load more', onclick: () => void loadMoreRows() }),
        ),
      );
  };

  const rowsUrl = (/** @type {number} */ limit, /** @type {string | null} */ after) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (after) q.set('cursor', after);
    if (tab === 'devices' && filter.status) q.set('status', filter.status);
    return `/bulk-changes/${id}/${tab === 'log' ? 'logs' : 'devices'}?${q}`;
  };

  const reloadRows = async (limit = 50) => {
    syncUrl();
    drawTabs();
    const wanted = `${tab}/${filter.key}`;
    const page = await api('GET', rowsUrl(Math.min(1000, Math.max(50, limit)), null));
    if (`${tab}/${filter.key}` !== wanted) return;
    rows = page.items;
    cursor = page.nextCursor;
    drawBody();
  };

  const loadMoreRows = async () => {
    const page = await api('GET', rowsUrl(50, cursor));
    rows = rows.concat(page.items);
    cursor = page.nextCursor;
    drawBody();
  };

  const downloadCsv = async () => {
    try {
      const res = await fetch(`${API}/bulk-changes/${id}/devices`, {
        credentials: 'same-origin',
        headers: { accept: 'text/csv' },
      });
      if (res.status === 401) return signedOut();
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: `bulk-change-${id}-devices.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      replace(message, h('div', { class: 'banner error', role: 'alert', text: errorText(error) }));
    }
  };

  /** Re-reads the bulk change, and the rows on screen when something moved. */
  const refresh = async (force = false) => {
    const next = await api('GET', `/bulk-changes/${id}`);
    const moved =
      force || JSON.stringify(next.counts) !== JSON.stringify(bc.counts) || next.status !== bc.status;
    bc = next;
    drawHead();
    if (moved) await reloadRows(rows.length);
  };

  let polling = false;
  const startPolling = () => {
    if (polling) return;
    polling = true;
    every(async () => {
      await refresh();
      const open = OPEN_STATUSES.includes(bc.status) || bc.counts.waiting > 0;
      if (!open) polling = false;
      return open;
    });
  };

  replace(main, head, message, tiles, bar, facts, tabs, body);
  drawHead();
  await reloadRows();
  if (OPEN_STATUSES.includes(bc.status) || bc.counts.waiting > 0) startPolling();
}

void render();
