import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SECRETS, DEMO_THINGSPACE_ACCOUNT } from '../../src/db/repositories/seed.repository.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * Issue 11, items 1 and 3, in a real browser: `simbind serve` on an empty database with demo data
 * off shows the first-run screen; it takes the setup code the server printed and nothing else, signs
 * the new admin in, and the Accounts screen then adds a Jasper account pointing at the built-in
 * simulator, tests it, edits it (an empty secret field keeps the secret), shows a ThingSpace
 * account's callback URL, and adds a service provider. Every screen and dialog is checked with
 * axe-core and photographed.
 */

const require = createRequire(import.meta.url);
const AXE_SOURCE = await fs.readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = path.join(ROOT, 'test/e2e/.screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: ChildProcess | undefined;
let serverLog = '';
let dataDir = '';
let baseUrl = '';
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];

async function waitFor(test: () => boolean | Promise<boolean>, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server?.exitCode !== null) throw new Error(`simbind exited early:\n${serverLog}`);
    if (
      await Promise.resolve()
        .then(test)
        .catch(() => false)
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} not within ${timeoutMs} ms:\n${serverLog}`);
}

async function accessible(screen: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (ctx: Document) => Promise<{
            violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run(document);
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
  });
  expect(violations, `accessibility of ${screen}`).toEqual([]);
}

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-first-run-'));
  await fs.chmod(dataDir, 0o755);
  await fs.mkdir(SHOTS, { recursive: true });
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, ['bin/simbind.js', 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: baseUrl,
      EMBEDDED_PG_PORT: String(await freePort()),
      DATA_DIR: dataDir,
      SEED_ON_START: 'false',
      // No account exists yet to say so: the built-in simulators, for the accounts added below.
      SIMULATORS: 'on',
      LOG_LEVEL: 'warn',
      SMTP_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    serverLog = (serverLog + chunk.toString()).slice(-20_000);
  };
  server.stdout?.on('data', keep);
  server.stderr?.on('data', keep);
  await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).ok, 'simbind ready', 75_000);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(baseUrl) && !url.startsWith('data:'))
      pageErrors.push(`request to another origin: ${url}`);
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  await browser?.close();
  const child = server;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

const ADMIN = { email: 'ada@acme.example', password: 'acme-admin-password' };

describe('first run and accounts, on the screens', () => {
  let setupCode = '';

  it('prints a setup code and no demo logins on an empty database', () => {
    setupCode = /with this setup code: ([0-9a-f]{32})/.exec(serverLog)?.[1] ?? '';
    expect(setupCode, serverLog).toMatch(/^[0-9a-f]{32}$/);
    expect(serverLog).not.toContain('Demo logins');
  });

  it('shows the first-run screen instead of sign-in, and refuses a wrong code next to its field', async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByRole('heading', { name: 'Set up simbind' }).waitFor();
    expect(page.url()).toContain('/login');
    await accessible('first-run screen');
    await page.getByLabel('Setup code').fill('0'.repeat(32));
    await page.getByLabel('Organisation').fill('Acme IoT');
    await page.getByLabel('Your e-mail').fill(ADMIN.email);
    await page.getByLabel('Your name').fill('Ada Admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('Password again').fill('something-else-entirely');
    await page.getByRole('button', { name: 'Set up simbind' }).click();
    // The passwords differ: said locally, nothing sent.
    await expect.poll(() => page.locator('[data-error-for="confirm"]').textContent()).toContain('differ');
    await page.getByLabel('Password again').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Set up simbind' }).click();
    const codeError = page.locator('[data-error-for="setupCode"]');
    await expect.poll(() => codeError.textContent()).toContain('setup code is incorrect');
    expect(await page.getByLabel('Setup code').getAttribute('aria-invalid')).toBe('true');
    expect((await (await fetch(`${baseUrl}/api/v1/setup`)).json()) as unknown).toEqual({ needed: true });
    await accessible('first-run screen with errors');
    await shot('first-run-1-wrong-code');
  });

  it('sets simbind up with the printed code and signs the admin in', async () => {
    await page.getByLabel('Setup code').fill(setupCode);
    await page.getByRole('button', { name: 'Set up simbind' }).click();
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
    await expect.poll(() => page.getByTestId('tenant').textContent()).toBe('Acme IoT');
    expect(await page.getByTestId('user-name').textContent()).toBe('Ada Admin');
    expect((await (await fetch(`${baseUrl}/api/v1/setup`)).json()) as unknown).toEqual({ needed: false });
    await accessible('accounts, empty');
    await shot('first-run-2-accounts-empty');
  });

  it('adds a Jasper account, showing the API’s field errors next to the fields', async () => {
    await page.getByRole('button', { name: 'Add an account' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add an account' });
    await dialog.waitFor();
    await dialog.getByLabel('System').selectOption('jasper');
    await dialog.getByLabel('Name', { exact: true }).fill('Our Control Center');
    await dialog.getByLabel('Base URL').fill('ftp://jasper.example');
    await dialog.getByLabel('User name').fill('simbind');
    await dialog.getByRole('button', { name: 'Add account' }).click();
    await expect
      .poll(() => dialog.locator('[data-error-for="secrets/apiKey"]').textContent())
      .toContain('required');
    expect(await dialog.locator('[data-error-for="baseUrl"]').textContent()).toContain('https://');
    await accessible('add-account dialog with errors');
    await shot('first-run-3-add-account-errors');

    await dialog.getByLabel('Base URL').fill('simulator://jasper');
    await dialog.getByLabel('API key').fill(DEMO_SECRETS.jasper.apiKey);
    await dialog.getByRole('button', { name: 'Add account' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Our Control Center added');
    const row = page
      .getByRole('table', { name: 'Accounts' })
      .locator('tbody tr', { hasText: 'Our Control Center' });
    expect(await row.textContent()).toMatch(/apiKey: set \d{4}-\d{2}-\d{2}.* by Ada Admin/);
    expect(await page.content()).not.toContain(DEMO_SECRETS.jasper.apiKey);
    await row.getByRole('button', { name: 'Test connection of Our Control Center' }).click();
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/Connected.*GET \/devices\//);
  });

  it('edits it: an empty secret field keeps the secret, a typed one replaces it', async () => {
    const table = page.getByRole('table', { name: 'Accounts' });
    const before = (await (await page.request.get(`${baseUrl}/api/v1/integrations`)).json()) as {
      items: { id: number; secrets: { setAt: string } }[];
    };
    await page.getByRole('button', { name: 'Edit Our Control Center' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit Our Control Center' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('API key').inputValue()).toBe('');
    expect(await dialog.textContent()).toMatch(/set on \d{4}-\d{2}-\d{2} [\d:]+ by Ada Admin/);
    await dialog.getByLabel('Name', { exact: true }).fill('Control Center');
    await dialog.getByLabel('Requests').fill('4');
    await dialog.getByLabel('Per (ms)').fill('1000');
    await accessible('edit-account dialog');
    await shot('first-run-4-edit-account');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Control Center saved');
    const after = (await (await page.request.get(`${baseUrl}/api/v1/integrations`)).json()) as {
      items: { name: string; rateLimit: unknown; secrets: { setAt: string } }[];
    };
    expect(after.items[0]).toMatchObject({
      name: 'Control Center',
      rateLimit: { requests: 4, windowMs: 1000 },
    });
    expect(after.items[0]!.secrets.setAt).toBe(before.items[0]!.secrets.setAt);
    const row = table.locator('tbody tr', { hasText: 'Control Center' });
    await row.getByRole('button', { name: 'Test connection of Control Center' }).click();
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('Connected');

    // A wrong key typed in replaces the stored one: the test now fails with Control Center's answer.
    await page.getByRole('button', { name: 'Edit Control Center' }).click();
    const again = page.getByRole('dialog', { name: 'Edit Control Center' });
    await again.getByLabel('API key').fill('not-the-key');
    await again.getByRole('button', { name: 'Save' }).click();
    await again.waitFor({ state: 'detached' });
    await row.getByRole('button', { name: 'Test connection of Control Center' }).click();
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/Failed.*401/);
    await page.getByRole('button', { name: 'Edit Control Center' }).click();
    await again.getByLabel('API key').fill(DEMO_SECRETS.jasper.apiKey);
    await again.getByRole('button', { name: 'Save' }).click();
    await again.waitFor({ state: 'detached' });
    await row.getByRole('button', { name: 'Test connection of Control Center' }).click();
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('Connected');
  });

  it("shows a ThingSpace account's callback URL, read-only, with a copy button", async () => {
    await page.getByRole('button', { name: 'Add an account' }).click();
    const add = page.getByRole('dialog', { name: 'Add an account' });
    await add.getByLabel('System').selectOption('thingspace');
    await add.getByLabel('Name', { exact: true }).fill('Our ThingSpace');
    await add.getByLabel('Base URL').fill('simulator://thingspace');
    await add.getByLabel('User name').fill('simbind');
    await add.getByLabel('Account name').fill(DEMO_THINGSPACE_ACCOUNT);
    await add.getByLabel('App key').fill(DEMO_SECRETS.thingspace.appKey);
    await add.getByLabel('App secret').fill(DEMO_SECRETS.thingspace.appSecret);
    await add.getByLabel('Password').fill(DEMO_SECRETS.thingspace.password);
    await add.getByRole('button', { name: 'Add account' }).click();
    await add.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Edit Our ThingSpace' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Our ThingSpace' });
    const url = edit.getByLabel(/Callback URL/);
    expect(await url.inputValue()).toBe(`${baseUrl}/api/v1/carrier-callbacks/thingspace/`);
    expect(await url.getAttribute('readonly')).not.toBeNull();
    await edit.getByRole('button', { name: 'Copy URL' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(await url.inputValue());
    await accessible('edit ThingSpace account');
    await shot('first-run-5-thingspace-callback');
    await edit.getByRole('button', { name: 'Cancel' }).click();
    await edit.waitFor({ state: 'detached' });
  });

  it('adds a service provider on the Jasper account', async () => {
    await page.getByRole('button', { name: 'Add a service provider' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a service provider' });
    await dialog.getByLabel('Carrier account').selectOption({ label: 'Control Center (Jasper)' });
    await dialog.getByRole('button', { name: 'Add service provider' }).click();
    await expect.poll(() => dialog.locator('[data-error-for="name"]').textContent()).not.toBe('');
    await dialog.getByLabel('Name', { exact: true }).fill('Our Jasper M2M');
    await accessible('add-provider dialog');
    await shot('first-run-6-add-provider');
    await dialog.getByRole('button', { name: 'Add service provider' }).click();
    await dialog.waitFor({ state: 'detached' });
    const providers = page.getByRole('table', { name: 'Service providers' });
    await expect.poll(() => providers.textContent()).toContain('Our Jasper M2M');
    expect(await providers.getByRole('button', { name: 'Sync devices of Our Jasper M2M' }).count()).toBe(1);
    const listed = (await (await page.request.get(`${baseUrl}/api/v1/service-providers`)).json()) as {
      items: { name: string; integration: string; portalType: string }[];
    };
    expect(listed.items).toEqual([
      expect.objectContaining({ name: 'Our Jasper M2M', integration: 'jasper', portalType: 'm2m' }),
    ]);
    await accessible('accounts');
    await shot('first-run-7-accounts');
  });

  it('signs in normally afterwards: the first-run screen is gone', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Set up simbind' }).count()).toBe(0);
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('tenant').textContent()).toBe('Acme IoT');
    expect(serverLog.match(/setup code: [0-9a-f]{32}/g)).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });
});
