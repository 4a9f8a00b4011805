/** The OpenAPI texts the bulk change routes share (submission, reads, actions). */

export const tags = ['bulk changes'];

export const NOT_FOUND = 'No such bulk change among the customers the caller may access.';
export const BAD_ID = 'The id is not a positive integer.';
export const BAD_PAGE = 'The id, `limit`, `cursor` or a filter is invalid: `error.details` lists them.';
export const VIEWER = 'The caller is a viewer: viewers read bulk changes but do not change them.';
