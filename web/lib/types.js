// The API shapes the screens use often, as JSDoc types for `tsc -p web` (the OpenAPI document at
// /docs is the full contract; these name only what the screens read). No runtime code.

/** @typedef {{ path: string, message: string }} ErrorDetail one field's problem in a 400/409/422 */

/** @typedef {'admin' | 'operator' | 'viewer'} Role */

/**
 * @typedef {object} User the signed-in person (`GET /auth/me`)
 * @property {number} id
 * @property {string} email
 * @property {string} name
 * @property {Role} role
 * @property {{ id: number, slug: string, name: string }} tenant
 * @property {boolean} allCustomers
 */

/**
 * @typedef {object} ServiceProvider
 * @property {number} id
 * @property {string} name
 * @property {'thingspace' | 'jasper'} integration
 * @property {'m2m' | 'mobility' | 'lnp'} portalType
 * @property {boolean} hasCarrierAccount
 */

/**
 * @typedef {object} Customer
 * @property {number} id
 * @property {string} name
 * @property {'rev' | 'amop'} kind
 * @property {number | null} revCustomerId
 * @property {boolean} active
 * @property {number | null} defaultSiteId
 */

/** @typedef {{ id: number, name: string, address: string | null, isDefault: boolean }} Site */

/**
 * @typedef {object} Counts a bulk change's devices by status
 * @property {number} total
 * @property {number} pending
 * @property {number} processing
 * @property {number} waiting
 * @property {number} processed
 * @property {number} error
 * @property {number} cancelled
 */

/**
 * @typedef {object} BulkChange
 * @property {number} id
 * @property {string} status
 * @property {number} serviceProviderId
 * @property {number} customerId
 * @property {number | null} siteId
 * @property {any} options what was asked, as submitted
 * @property {string} source
 * @property {{ id: number, name: string, email: string }} createdBy
 * @property {string} createdAt
 * @property {string | null} startedAt
 * @property {string | null} completedAt
 * @property {string | null} cancelRequestedAt
 * @property {Counts} counts
 * @property {('cancel' | 'retry' | 'undo')[]} actions
 * @property {number | null} undoOf
 * @property {number | null} undoneBy
 * @property {{ durationMs: number, devicesPerSecond: number, externalCalls: Record<string, number> } | null} stats
 * @property {RevServiceNames | null} revServiceNames the names of `options.revService`'s ids (null: no Rev.io options)
 */

/**
 * @typedef {object} RevServiceNames names from the customer's Rev.io catalogue; null or absent: unknown
 * @property {string | null} serviceType
 * @property {string | null} package
 * @property {string | null} provider
 * @property {string | null} usagePlanGroup
 * @property {Record<string, string>} products product id → name
 */

/**
 * @template T
 * @typedef {{ items: T[], nextCursor: string | null }} Page one page of a list
 */

export {};
