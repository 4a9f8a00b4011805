// The API client: requests to /api/v1, its errors, the signed-in user and the reference data
// cached per sign-in.

/** @typedef {import('./types.js').User} User */
/** @typedef {import('./types.js').Customer} Customer */
/** @typedef {import('./types.js').ServiceProvider} ServiceProvider */
/** @typedef {import('./types.js').ErrorDetail} ErrorDetail */

export const API = '/api/v1';

export class ApiError extends Error {
  /** @param {number} status @param {any} body */
  constructor(status, body) {
    super(body?.error?.message ?? `Request failed (${status})`);
    this.status = status;
    /** @type {string} */
    this.code = body?.error?.code ?? 'http_error';
    /** @type {ErrorDetail[]} */
    this.details = body?.error?.details ?? [];
    this.retryAfter = 0;
  }
}

/** Whether an error is the 401 that already sent the user to the sign-in screen. @param {unknown} error */
export const isSignedOut = (error) => error instanceof ApiError && error.status === 401;

/** What to say about a failed request. @param {unknown} error */
export function errorText(error) {
  if (error instanceof ApiError) return error.message;
  return 'The server could not be reached. Check your connection and try again.';
}

/** The signed-in user; null until `GET /auth/me` answered, and after signing out. @type {User | null} */
export let me = null;

/** @param {User | null} user */
export function setMe(user) {
  me = user;
  if (!user) forgetReferenceData();
}

export const canSubmit = () => me !== null && me.role !== 'viewer';

/** What a 401 does (the entry module sends the user to the sign-in screen). */
let onSignedOut = () => {};
/** @param {() => void} handler */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

/**
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {any} [body]
 * @param {{ noRedirect?: boolean }} [opts]
 * @returns {Promise<any>}
 */
export async function api(method, path, body, opts = {}) {
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

/** Every page of a list (reference data is small). @param {string} path @returns {Promise<any[]>} */
export async function all(path) {
  const items = [];
  /** @type {string | null} */
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    /** @type {import('./types.js').Page<any>} */
    const page = await api(
      'GET',
      `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** Reference data, loaded once per sign-in (a screen that changes it forgets it). */
const cache = {
  /** @type {Map<number, ServiceProvider> | null} */ providers: null,
  /** @type {Map<number, Customer> | null} */ customers: null,
};

export async function providers() {
  if (!cache.providers)
    cache.providers = new Map(
      (await all('/service-providers')).map((/** @type {ServiceProvider} */ p) => [p.id, p]),
    );
  return cache.providers;
}

export async function customers() {
  if (!cache.customers)
    cache.customers = new Map((await all('/customers')).map((/** @type {Customer} */ c) => [c.id, c]));
  return cache.customers;
}

/** Read the providers again next time (added on the Accounts screen or through the API). */
export const forgetProviders = () => void (cache.providers = null);
/** Read the customers again next time (added by the API, syncs and imports). */
export const forgetCustomers = () => void (cache.customers = null);

function forgetReferenceData() {
  forgetProviders();
  forgetCustomers();
}

/** A 401: the session is gone. */
export function signedOut() {
  setMe(null);
  onSignedOut();
}
