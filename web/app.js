// simbind's browser UI: plain ES modules, no build step, no framework (the README's "The screens"
// says how web/ is laid out). This entry module signs in, draws the top bar and routes each URL to its screen.
import { ApiError, api, canSubmit, errorText, me, setMe, whenSignedOut } from './lib/api.js';
import { h, link, replace } from './lib/dom.js';
import { beginView, counted, navigate, setRenderer } from './lib/router.js';
import { accountsScreen } from './screens/accounts.js';
import { bulkChangeScreen } from './screens/bulk-change.js';
import { bulkChangesScreen } from './screens/bulk-changes.js';
import { customerScreen } from './screens/customer.js';
import { customersScreen } from './screens/customers.js';
import { deviceScreen } from './screens/device.js';
import { fleetScreen } from './screens/fleet.js';
import { importScreen } from './screens/import.js';
import { loginScreen } from './screens/login.js';
import { newAssignmentScreen } from './screens/new-assignment.js';
import { passwordScreen } from './screens/password.js';
import { usersScreen } from './screens/users.js';
import { webhooksScreen } from './screens/webhooks.js';
import { menu } from './widgets/menu.js';

/** @typedef {import('./lib/router.js').View} View */

const topbar = /** @type {HTMLElement} */ (document.getElementById('topbar'));

/**
 * The screens by path: `[pattern, screen, admins only]`; a pattern's groups are the screen's ids.
 * @type {[RegExp, (view: View, id: number) => Promise<void> | void, boolean][]}
 */
const ROUTES = [
  [/^\/(?:bulk-changes)?$/, bulkChangesScreen, false],
  [/^\/new$/, newAssignmentScreen, false],
  [/^\/bulk-changes\/(\d+)$/, bulkChangeScreen, false],
  [/^\/users$/, usersScreen, true],
  [/^\/integrations$/, accountsScreen, true],
  [/^\/webhooks$/, webhooksScreen, true],
  [/^\/customers$/, customersScreen, false],
  [/^\/customers\/(\d+)$/, customerScreen, false],
  [/^\/devices$/, fleetScreen, false],
  [/^\/devices\/(\d+)$/, deviceScreen, false],
  [/^\/import$/, importScreen, true],
  [/^\/password$/, passwordScreen, false],
];

/** Draws the screen of the current URL; a later navigation makes it stale (see `beginView`). */
async function render() {
  const view = beginView();
  const path = location.pathname;
  if (path === '/login') {
    topbar.hidden = true;
    return loginScreen(view);
  }
  if (!me) {
    try {
      setMe((await api('GET', '/auth/me', undefined, { noRedirect: true })).user);
    } catch {
      if (view.current()) signedOut();
      return;
    }
  }
  if (!view.current() || !me) return;
  renderTopbar(path, me);
  const route = ROUTES.find(([pattern, , admin]) => pattern.test(path) && (!admin || me?.role === 'admin'));
  try {
    if (route) await route[1](view, Number(route[0].exec(path)?.[1]));
    else view.show(h('h1', { text: 'Not found' }), h('p', {}, link('/', { text: 'Back to bulk changes' })));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    if (!(error instanceof ApiError)) console.error(error);
    view.show(h('div', { class: 'banner error', role: 'alert', text: errorText(error) }));
  }
}

/** @param {string} path @param {import('./lib/types.js').User} user */
function renderTopbar(path, user) {
  topbar.hidden = false;
  const current = (/** @type {boolean} */ yes) => (yes ? 'page' : undefined);
  const admin = user.role === 'admin';
  /** @param {string} href @param {string} text @param {boolean} here */
  const nav = (href, text, here) => link(href, { text, 'aria-current': current(here) });
  replace(
    topbar,
    link('/', { class: 'brand', text: 'simbind' }),
    h(
      'nav',
      { 'aria-label': 'Main' },
      nav('/', 'Bulk changes', path === '/' || path.startsWith('/bulk-changes')),
      canSubmit() && nav('/new', 'New assignment', path === '/new'),
      nav('/devices', 'Fleet', path.startsWith('/devices')),
      nav('/customers', 'Customers', path.startsWith('/customers')),
      // The admin screens in one menu, so that the bar's labels never wrap.
      admin &&
        menu(
          'Admin',
          [
            nav('/users', 'People', path === '/users'),
            nav('/integrations', 'Accounts', path === '/integrations'),
            nav('/import', 'Import', path === '/import'),
            nav('/webhooks', 'Webhooks', path === '/webhooks'),
          ],
          ['/users', '/integrations', '/import', '/webhooks'].includes(path),
        ),
    ),
    h(
      'div',
      { class: 'who' },
      h('span', { class: 'tenant', text: user.tenant.name, 'data-testid': 'tenant' }),
      h('strong', { text: user.name, 'data-testid': 'user-name' }),
      h('span', { class: 'role', text: user.role }),
      nav('/password', 'Password', path === '/password'),
      h('button', { type: 'button', onclick: () => void signOut(), text: 'Sign out' }),
    ),
  );
}

/** The session ended (a 401): sign in again, then come back here. */
function signedOut() {
  const here = location.pathname + location.search;
  if (location.pathname !== '/login')
    navigate(`/login${here !== '/' ? `?next=${encodeURIComponent(here)}` : ''}`, true);
}

async function signOut() {
  try {
    await api('POST', '/auth/logout', undefined, { noRedirect: true });
  } catch {
    // signed out either way
  }
  setMe(null);
  navigate('/login');
}

whenSignedOut(signedOut);
setRenderer(() => counted(render));
void counted(render);
