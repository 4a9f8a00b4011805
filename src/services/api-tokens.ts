import { createHash, randomBytes } from 'node:crypto';

/**
 * API tokens: `sbt_` + 32 random bytes (base64url). Only the SHA-256 is stored: a token has 256 bits
 * of entropy, so a fast hash is enough (unlike passwords), and lookups stay one indexed equality.
 */

export const TOKEN_PREFIX = 'sbt_';

export function generateApiToken(): { token: string; hash: Buffer; prefix: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashApiToken(token), prefix: token.slice(0, 10) };
}

export function hashApiToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
