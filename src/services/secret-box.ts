import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';

/**
 * Integration secrets at rest (issue 10, item 6): the `secrets` of a credentials row are sealed with
 * AES-256-GCM under a key that lives in configuration (`SECRETS_KEY`), never in the database. A
 * sealed value names its key by a short fingerprint, so that a re-key can run while older keys
 * (`SECRETS_KEY_PREVIOUS`) still open what they sealed. The associated data binds a sealed value to
 * its tenant and integration: a value copied into another tenant's row does not open.
 *
 * Rows written before encryption (plain JSON objects) still open, so that an upgrade does not
 * stop processing; `simbind secrets rekey` seals them.
 */

export type Secrets = Record<string, string>;

export interface SealedSecrets {
  sealed: 'aes-256-gcm';
  /** Fingerprint of the key that sealed it (not the key). */
  kid: string;
  iv: string;
  tag: string;
  data: string;
}

/**
 * What a sealed value is bound to: its table, the row's tenant and integration (for
 * `webhook_endpoint` rows, the endpoint's id).
 */
export interface SecretScope {
  tenantId: number | string;
  integration: string;
  /** Default `integration_credentials`. */
  table?: 'integration_credentials' | 'webhook_endpoint';
}

/** The scope of a webhook endpoint's signing secret (`{ signingSecret }`, sealed). */
export function webhookSecretScope(tenantId: number, endpointId: number): SecretScope {
  return { table: 'webhook_endpoint', tenantId, integration: String(endpointId) };
}

export interface SecretBox {
  /** Fingerprint of the key new values are sealed with; undefined when no key is configured. */
  readonly keyId: string | undefined;
  seal(secrets: Secrets, scope: SecretScope): SealedSecrets;
  /** Opens a sealed value with whichever known key sealed it, or returns a plain (older) row as is. */
  open(stored: unknown, scope: SecretScope): Secrets;
  /** Sealed with the current key (nothing for a re-key to do). */
  isCurrent(stored: unknown): boolean;
}

export class SecretKeyError extends Error {}

const KEY_BYTES = 32;

/** A key as configured: 32 bytes, base64 (standard or url) or hex. */
export function parseSecretKey(text: string, name = 'SECRETS_KEY'): Buffer {
  const value = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new SecretKeyError(
      `${name}: must be ${KEY_BYTES} random bytes, base64 or hex (e.g. \`npx simbind secrets keygen\`)`,
    );
  }
  return key;
}

/** A new random key, base64, for `SECRETS_KEY`. */
export function generateSecretKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('simbind-secrets-key').update(key).digest('hex').slice(0, 16);
}

export function isSealed(stored: unknown): stored is SealedSecrets {
  return (
    typeof stored === 'object' &&
    stored !== null &&
    (stored as { sealed?: unknown }).sealed === 'aes-256-gcm' &&
    typeof (stored as { kid?: unknown }).kid === 'string'
  );
}

const aad = (scope: SecretScope) =>
  Buffer.from(`${scope.table ?? 'integration_credentials'}:${scope.tenantId}:${scope.integration}`);

export function createSecretBox(keys: { current?: Buffer; previous?: Buffer[] }): SecretBox {
  const byId = new Map<string, Buffer>();
  for (const key of [...(keys.previous ?? []), ...(keys.current ? [keys.current] : [])]) {
    byId.set(keyIdOf(key), key);
  }
  const currentId = keys.current ? keyIdOf(keys.current) : undefined;

  return {
    keyId: currentId,

    seal(secrets, scope) {
      if (!keys.current) {
        throw new SecretKeyError('SECRETS_KEY is not set: secrets cannot be stored');
      }
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keys.current, iv);
      cipher.setAAD(aad(scope));
      const data = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
      return {
        sealed: 'aes-256-gcm',
        kid: currentId!,
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        data: data.toString('base64'),
      };
    },

    open(stored, scope) {
      if (!isSealed(stored)) {
        if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return {};
        return stored as Secrets;
      }
      const key = byId.get(stored.kid);
      if (!key) {
        throw new SecretKeyError(
          currentId
            ? `secrets sealed with key ${stored.kid}, which is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS`
            : `secrets sealed with key ${stored.kid}, but SECRETS_KEY is not set`,
        );
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(stored.iv, 'base64'));
        decipher.setAAD(aad(scope));
        decipher.setAuthTag(Buffer.from(stored.tag, 'base64'));
        const plain = Buffer.concat([decipher.update(Buffer.from(stored.data, 'base64')), decipher.final()]);
        return JSON.parse(plain.toString('utf8')) as Secrets;
      } catch {
        // Never the cause: it could carry key material or plaintext.
        throw new SecretKeyError(
          `secrets of ${scope.table === 'webhook_endpoint' ? `webhook endpoint ${scope.integration}` : scope.integration} for tenant ${scope.tenantId} do not open: altered, or sealed for another row`,
        );
      }
    },

    isCurrent(stored) {
      return isSealed(stored) && stored.kid === currentId;
    },
  };
}

/** The box of the configured keys (`SECRETS_KEY`, `SECRETS_KEY_PREVIOUS`); without a key it opens plain rows only. */
export function secretBoxOf(config: Config, fallbackKey?: Buffer): SecretBox {
  const current = config.secrets.key !== undefined ? parseSecretKey(config.secrets.key) : fallbackKey;
  return createSecretBox({
    current,
    previous: config.secrets.previous.map((k) => parseSecretKey(k, 'SECRETS_KEY_PREVIOUS')),
  });
}
