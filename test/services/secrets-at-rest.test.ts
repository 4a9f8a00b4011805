import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { rekeySecrets } from '../../src/db/repositories/credentials.repository.ts';
import { DEMO_SECRETS } from '../../src/db/repositories/seed.repository.ts';
import { resolveSecretBox } from '../../src/runtime.ts';
import { createIntegrationAccounts } from '../../src/services/integration-accounts.ts';
import {
  createSecretBox,
  generateSecretKey,
  keyIdOf,
  parseSecretKey,
  SecretKeyError,
  webhookSecretScope,
} from '../../src/services/secret-box.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * Issue 10, item 6: integration secrets are sealed at rest with a key from configuration, opened
 * only for the clients, and re-keyed all or nothing.
 */

const keyA = parseSecretKey(generateSecretKey());
const keyB = parseSecretKey(generateSecretKey());
const scope = { tenantId: 1, integration: 'revio' };
const plainValues = Object.values(DEMO_SECRETS).flatMap((s) => Object.values(s));

describe('the secret box', () => {
  const box = createSecretBox({ current: keyA });

  it('seals so that nothing of the secret shows, and opens to the same values', () => {
    const sealed = box.seal({ password: 'hunter2-very-secret' }, scope);
    expect(JSON.stringify(sealed)).not.toContain('hunter2');
    expect(sealed).toMatchObject({ sealed: 'aes-256-gcm', kid: keyIdOf(keyA) });
    expect(box.open(sealed, scope)).toEqual({ password: 'hunter2-very-secret' });
    // A fresh IV each time: the same secrets never seal to the same bytes.
    expect(box.seal({ password: 'x' }, scope).data).not.toBe(box.seal({ password: 'x' }, scope).data);
  });

  it('refuses a value altered, moved to another tenant or integration, or sealed with an unknown key', () => {
    const sealed = box.seal({ password: 'p' }, scope);
    const flipped = Buffer.from(sealed.data, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => box.open({ ...sealed, data: flipped.toString('base64') }, scope)).toThrow(SecretKeyError);
    expect(() => box.open(sealed, { ...scope, tenantId: 2 })).toThrow(/do not open/);
    expect(() => box.open(sealed, { ...scope, integration: 'jasper' })).toThrow(/do not open/);
    const other = createSecretBox({ current: keyB });
    expect(() => other.open(sealed, scope)).toThrow(/neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS/);
    expect(() => createSecretBox({}).open(sealed, scope)).toThrow(/SECRETS_KEY is not set/);
  });

  it('opens with a previous key, and says what is current', () => {
    const sealed = box.seal({ k: 'v' }, scope);
    const rotated = createSecretBox({ current: keyB, previous: [keyA] });
    expect(rotated.open(sealed, scope)).toEqual({ k: 'v' });
    expect(rotated.isCurrent(sealed)).toBe(false);
    expect(rotated.isCurrent(rotated.seal({ k: 'v' }, scope))).toBe(true);
  });

  it('opens a plain row written before encryption as it is', () => {
    expect(box.open({ apiKey: 'k' }, scope)).toEqual({ apiKey: 'k' });
    expect(box.isCurrent({ apiKey: 'k' })).toBe(false);
  });

  it('accepts 32-byte keys in base64 or hex only', () => {
    expect(parseSecretKey(keyA.toString('hex'))).toEqual(keyA);
    expect(() => parseSecretKey('too-short')).toThrow(/32 random bytes/);
    expect(() => loadConfig({ SECRETS_KEY: 'abc' })).toThrow(/SECRETS_KEY: must be 32 random bytes/);
    expect(() => loadConfig({ SECRETS_KEY: keyA.toString('base64'), SECRETS_KEY_PREVIOUS: 'x,y' })).toThrow(
      /SECRETS_KEY_PREVIOUS/,
    );
  });
});

describe('where the key comes from', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'simbind-key-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is required with a server database', async () => {
    await expect(resolveSecretBox(loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db' }))).rejects.toThrow(
      /SECRETS_KEY is required with DATABASE_URL/,
    );
  });

  it('is generated once into DATA_DIR/secrets.key (owner-only) for the embedded database, then reused', async () => {
    const config = loadConfig({ DATA_DIR: dir });
    const first = await resolveSecretBox(config);
    const file = path.join(dir, 'secrets.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const second = await resolveSecretBox(config);
    expect(second.keyId).toBe(first.keyId);
    expect(first.keyId).toBe(keyIdOf(parseSecretKey(await readFile(file, 'utf8'))));
  });

  it('is SECRETS_KEY when set', async () => {
    const box = await resolveSecretBox(loadConfig({ DATA_DIR: dir, SECRETS_KEY: keyB.toString('base64') }));
    expect(box.keyId).toBe(keyIdOf(keyB));
  });
});

describe('credentials rows', () => {
  let database: TestDatabase;
  const boxA = createSecretBox({ current: keyA });

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { devices: 10, secretBox: boxA });
  });
  afterAll(async () => {
    await database.drop();
  });

  const storedText = async () =>
    (
      await database.pool.query<{ t: string }>(
        "SELECT string_agg(secrets::text, ' ') AS t FROM integration_credentials",
      )
    ).rows[0]!.t;
  const accountsWith = (box: ReturnType<typeof createSecretBox>) =>
    createIntegrationAccounts({ db: database.db, resolveBaseUrl: (u) => u, secretBox: box });
  const firstRevio = async () =>
    (
      await database.pool.query<{ id: number }>(
        "SELECT id::int FROM integration_credentials WHERE integration = 'revio' ORDER BY id LIMIT 1",
      )
    ).rows[0]!.id;

  it('hold no secret in clear after the seed, and the clients get them opened', async () => {
    const text = await storedText();
    for (const value of plainValues) expect(text).not.toContain(value);
    const revio = await accountsWith(boxA).revio(await firstRevio());
    expect(revio).toMatchObject(DEMO_SECRETS.revio);
  });

  it('fail the call, without the secret, when the key is wrong', async () => {
    await expect(accountsWith(createSecretBox({ current: keyB })).revio(await firstRevio())).rejects.toThrow(
      /neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS/,
    );
  });

  it('are re-keyed all or nothing: a row under an unknown key stops the re-key and changes nothing', async () => {
    const id = await firstRevio();
    const stranger = createSecretBox({ current: parseSecretKey(generateSecretKey()) });
    await database.pool.query('UPDATE integration_credentials SET secrets = $1 WHERE id = $2', [
      JSON.stringify(stranger.seal({ password: 'p' }, { tenantId: 0, integration: 'revio' })),
      id,
    ]);
    const before = await storedText();
    await expect(
      rekeySecrets(database.db, createSecretBox({ current: keyB, previous: [keyA] })),
    ).rejects.toThrow(SecretKeyError);
    expect(await storedText()).toBe(before);
    // Put that row back as a plain one, written before encryption.
    await database.pool.query('UPDATE integration_credentials SET secrets = $1 WHERE id = $2', [
      JSON.stringify(DEMO_SECRETS.revio),
      id,
    ]);
  });

  it('are re-keyed from a previous key and from plain, and then open with the new key alone', async () => {
    // A webhook endpoint written before signing secrets were sealed.
    const { rows: hook } = await database.pool.query<{ id: number; tenant_id: number }>(
      `INSERT INTO webhook_endpoint (tenant_id, url, secret)
       SELECT id, 'https://hooks.example/in', 'whsec_plain-before-sealing' FROM tenant ORDER BY id LIMIT 1
       RETURNING id::int, tenant_id::int`,
    );
    const rotated = createSecretBox({ current: keyB, previous: [keyA] });
    const result = await rekeySecrets(database.db, rotated);
    expect(result).toEqual({
      rows: 6,
      plain: 1,
      previous: 5,
      current: 0,
      webhooks: { rows: 1, plain: 1, previous: 0, current: 0 },
    });
    const { rows: stored } = await database.pool.query<{ secret: string | null; sealed_secret: unknown }>(
      'SELECT secret, sealed_secret FROM webhook_endpoint WHERE id = $1',
      [hook[0]!.id],
    );
    expect(stored[0]!.secret).toBeNull();
    expect(JSON.stringify(stored[0]!.sealed_secret)).not.toContain('plain-before-sealing');
    expect(
      createSecretBox({ current: keyB }).open(
        stored[0]!.sealed_secret,
        webhookSecretScope(hook[0]!.tenant_id, hook[0]!.id),
      ),
    ).toEqual({ signingSecret: 'whsec_plain-before-sealing' });
    const text = await storedText();
    for (const value of plainValues) expect(text).not.toContain(value);
    expect(text).not.toContain(keyIdOf(keyA));
    const onlyB = createSecretBox({ current: keyB });
    expect(await accountsWith(onlyB).revio(await firstRevio())).toMatchObject(DEMO_SECRETS.revio);
    expect(await rekeySecrets(database.db, onlyB)).toEqual({
      rows: 6,
      plain: 0,
      previous: 0,
      current: 6,
      webhooks: { rows: 1, plain: 0, previous: 0, current: 1 },
    });
  });
});
