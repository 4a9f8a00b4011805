/**
 * The most each route reads, in bytes: what it needs, not the largest any route needs, so an
 * oversized body is refused (413) as it arrives instead of being read and parsed in full.
 */

const KB = 1024;
const MB = 1024 * KB;

export const BODY_LIMITS = {
  /** Any route that names none: small JSON bodies (the carrier callback is about 1 KB). */
  default: 64 * KB,
  /** A bulk change lists up to 100,000 identifiers (~2.5 MB as JSON); leave room, refuse the absurd. */
  submission: 16 * MB,
  /** `{ email, password }`, `{ name, expiresInDays }`: under 2 KB at their longest. */
  credentials: 8 * KB,
  /** Routes that take no body (cancel, retry, logout): an empty `{}` at most. */
  none: 1 * KB,
} as const;
