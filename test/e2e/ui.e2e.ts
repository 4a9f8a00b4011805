import fs from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifySignature } from '../../src/clients/webhook.client.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { axeViolations, freeDevices, launchChromium, screenshot, openAdminScreen } from './harness.ts';

// The run's shared simbind (global-setup.ts), with its built-in simulators (control routes at the root).
const { baseUrl, simulators, logFile } = inject('simbind');
const { jasper: jasperSim, revio: revioSim } = simulators;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;

async function signIn(email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** axe-core on the current page: no serious or critical violation (each listed with its nodes). */
async function accessible(screen: string): Promise<void> {
  expect(await axeViolations(page), `accessibility of ${screen}`).toEqual([]);
}

const shot = (name: string) => screenshot(page, name);

beforeAll(async () => {
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  context.setDefaultTimeout(20_000);
  page = await context.newPage();
  // Nothing may load from elsewhere: every request stays on simbind's origin (or data:/blob:).
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(baseUrl) && !url.startsWith('data:') && !url.startsWith('blob:'))
      pageErrors.push(`request to another origin: ${url}`);
  });
  page.on('pageerror', (error) => {
    pageErrors.push(error.message);
  });
  // The screens ask in their own accessible dialogs: a native alert/confirm/prompt is a failure.
  page.on('dialog', (dialog) => {
    pageErrors.push(`native ${dialog.type()} dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
});

const pageErrors: string[] = [];

describe('web UI', () => {
  let bulkChangeId = 0;

  it('serves the app shell without shadowing the API', async () => {
    const shell = await fetch(`${baseUrl}/bulk-changes/12`);
    expect(shell.status).toBe(200);
    expect(shell.headers.get('cache-control')).toBe('no-cache');
    expect(await shell.text()).toContain('<script type="module" src="/app.js">');
    const api = await fetch(`${baseUrl}/api/v1/bulk-changes`);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBeTruthy();
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
  });

  it('refuses a wrong password with a clear message', async () => {
    await signIn('admin@northwind.example', 'not-the-password');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong e-mail or password');
    expect(page.url()).toContain('/login');
    await shot('1-sign-in-error');
  });

  it('signs in and shows the bulk change list with the header', async () => {
    await signIn('admin@northwind.example', 'admin-demo');
    await page.getByRole('heading', { name: 'Bulk changes' }).waitFor();
    await expect.poll(() => page.getByTestId('tenant').textContent()).toBe('Northwind IoT');
    expect(await page.getByTestId('user-name').textContent()).toBe('Admin (northwind)');
    expect(await page.locator('.topbar .role').textContent()).toBe('admin');
  });

  it('checks and submits an assignment, then follows it to the end', async () => {
    const providers = (await (await page.request.get(`${baseUrl}/api/v1/service-providers`)).json()) as {
      items: { id: number; name: string }[];
    };
    const thingspace = providers.items.find((p) => p.name === 'Verizon ThingSpace M2M');
    expect(thingspace).toBeDefined();
    const free = (await (
      await page.request.get(
        `${baseUrl}/api/v1/devices?serviceProviderId=${thingspace!.id}&status=active&unassigned=true&limit=20`,
      )
    ).json()) as { items: { iccid: string }[] };
    expect(free.items).toHaveLength(20);
    const bogus = '8914800000000000000';
    const customers = (await (await page.request.get(`${baseUrl}/api/v1/customers?limit=1000`)).json()) as {
      items: { name: string; kind: string; active: boolean }[];
    };
    const amop = customers.items.find((c) => c.kind === 'amop' && c.active);
    expect(amop).toBeDefined();

    await page.getByRole('link', { name: 'New assignment' }).first().click();
    await page.getByRole('heading', { name: 'New assignment' }).waitFor();
    expect(page.url()).toBe(`${baseUrl}/new`);

    // Request errors land next to their fields.
    await page.getByRole('button', { name: 'Check' }).click();
    await expect
      .poll(() => page.locator('[data-error-for="serviceProviderId"]').textContent())
      .toContain('Choose a service provider');

    await page.getByLabel('Service provider').selectOption({ label: 'Verizon ThingSpace M2M' });
    // Mixed separators: newlines, a comma, spaces.
    const lines = free.items.map((d) => d.iccid);
    const pasted = `${lines.slice(0, 10).join('\n')}\n${lines.slice(10, 15).join(', ')} ${lines.slice(15).join('  ')}\n${bogus}\n`;
    await page.getByLabel('ICCIDs or MSISDNs').fill(pasted);
    expect(await page.getByTestId('device-count').textContent()).toBe('21 identifiers');
    await page.locator('#customer-filter').fill(amop!.name);
    await page.locator('#customer').selectOption({ label: `${amop!.name} — AMOP` });
    await expect.poll(() => page.locator('#site').isDisabled()).toBe(false);
    await page.locator('#opt-customer-plan').check();
    await page.locator('#customer-plan').selectOption({ index: 1 });
    const planName = (await page.locator('#customer-plan option:checked').textContent())!.split(' (')[0]!;

    await page.getByRole('button', { name: 'Check' }).click();
    const summary = page.getByTestId('check-summary');
    await summary.waitFor();
    expect(await summary.textContent()).toContain('20 eligible, 1 ineligible, 0 duplicates');
    const ineligible = page.getByRole('table', { name: 'Ineligible devices' }).locator('tbody tr');
    expect(await ineligible.count()).toBe(1);
    expect(await ineligible.first().textContent()).toContain(bogus);
    expect((await ineligible.first().locator('td').nth(2).textContent())?.length).toBeGreaterThan(3);
    await shot('3-new-assignment-checked');

    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/bulk-changes\/\d+$/);
    bulkChangeId = Number(/(\d+)$/.exec(page.url())?.[1]);
    expect(bulkChangeId).toBeGreaterThan(0);
    await page.getByRole('heading', { name: `Bulk change #${bulkChangeId}` }).waitFor();

    // The detail page refreshes itself until the bulk change is finished.
    await expect
      .poll(() => page.getByTestId('status').textContent(), { timeout: 40_000, interval: 500 })
      .toBe('PROCESSED WITH ERRORS');
    const tile = (key: string) => page.locator(`[data-tile="${key}"] .value`).textContent();
    await expect.poll(() => tile('processed')).toBe('20');
    expect(await tile('error')).toBe('1');
    expect(await tile('total')).toBe('21');
    // The only failure is an ineligible device: nothing a retry could fix, so no Retry offered.
    expect(await page.getByRole('button', { name: 'Retry failed' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    // Completion statistics: throughput and the calls made (an AMOP change on ThingSpace: none).
    const facts = page.locator('dl.facts').first();
    await expect.poll(() => facts.textContent()).toMatch(/Throughput[\d.,]+ devices\/s/);
    expect(await facts.textContent()).toContain('External calls');
    expect(await facts.textContent()).toContain('Sourcethese screens');
    // The options name the plan, not its id.
    expect(await page.locator('dl.facts').nth(1).textContent()).toContain(planName);
    await shot('4-detail');

    await page.getByRole('tab', { name: 'Errors' }).click();
    await page.waitForURL(/filter=errors/);
    const errorRows = page.getByRole('table', { name: 'Devices' }).locator('tbody tr');
    await expect.poll(() => errorRows.count()).toBe(1);
    expect(await errorRows.first().textContent()).toContain(bogus);
    expect(await errorRows.first().textContent()).toContain('eligibility');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv').click()]);
    const csv = await fs.readFile(await download.path(), 'utf8');
    const csvLines = csv.trim().split(/\r?\n/);
    expect(csvLines[0]).toMatch(/^deviceId,identifier,iccid/);
    expect(csvLines).toHaveLength(22);
    expect(csv).toContain(bogus);

    await page.getByRole('tab', { name: 'Change log' }).click();
    const logRows = page.getByRole('table', { name: 'Change log' }).locator('tbody tr.clickable');
    await expect.poll(() => logRows.count()).toBeGreaterThan(0);
    // Each entry names its device: the ICCID, or what was submitted when it matched none.
    const devices = await logRows.locator('td:nth-child(2)').allTextContents();
    expect(devices).toContain(bogus);
    expect(devices.some((text) => /^\d{19,20}$/.test(text))).toBe(true);
  });

  it('refuses devices of other customers unless asked to move them, and says whose they are', async () => {
    const providers = (await (await page.request.get(`${baseUrl}/api/v1/service-providers`)).json()) as {
      items: { id: number; name: string }[];
    };
    const thingspace = providers.items.find((p) => p.name === 'Verizon ThingSpace M2M')!;
    const customers = (await (await page.request.get(`${baseUrl}/api/v1/customers?limit=1000`)).json()) as {
      items: { id: number; name: string; kind: string; active: boolean }[];
    };
    const [target, owner] = customers.items.filter((c) => c.kind === 'amop' && c.active);
    const owned = (await (
      await page.request.get(
        `${baseUrl}/api/v1/devices?serviceProviderId=${thingspace.id}&customerId=${owner!.id}&status=active&limit=2`,
      )
    ).json()) as { items: { iccid: string }[] };
    expect(owned.items).toHaveLength(2);

    await page.getByRole('link', { name: 'New assignment' }).first().click();
    await page.getByRole('heading', { name: 'New assignment' }).waitFor();
    await page.getByLabel('Service provider').selectOption({ label: 'Verizon ThingSpace M2M' });
    await page.getByLabel('ICCIDs or MSISDNs').fill(owned.items.map((d) => d.iccid).join('\n'));
    await page.locator('#customer-filter').fill(target!.name);
    await page.locator('#customer').selectOption({ label: `${target!.name} — AMOP` });
    await page.getByRole('button', { name: 'Check' }).click();
    const summary = page.getByTestId('check-summary');
    await expect.poll(() => summary.textContent()).toContain('0 eligible, 2 ineligible');
    expect(await summary.textContent()).toContain(
      `2 devices belong to other customers (2 of ${owner!.name})`,
    );
    const rows = page.getByRole('table', { name: 'Ineligible devices' }).locator('tbody tr');
    expect(await rows.first().textContent()).toContain('owned');

    const option = page.getByLabel('Also move devices that belong to other customers');
    expect(await option.isChecked()).toBe(false);
    await option.check();
    await page.getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => summary.textContent()).toContain('2 eligible, 0 ineligible');
    expect(await page.getByTestId('changing-hands').textContent()).toBe(
      `2 devices belong to other customers and will change hands: 2 of ${owner!.name}.`,
    );
    await shot('3b-new-assignment-changing-hands');
  });

  it('lists the bulk change and opens it from the list (back button works)', async () => {
    await page.getByRole('link', { name: 'Bulk changes', exact: true }).click();
    const row = page.locator(`tr[data-id="${bulkChangeId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('PROCESSED WITH ERRORS');
    expect(await row.textContent()).toContain('Verizon ThingSpace M2M');
    await shot('2-list');
    await row.click();
    await page.waitForURL(`${baseUrl}/bulk-changes/${bulkChangeId}`);
    await page.goBack();
    await page.waitForURL(`${baseUrl}/`);
    await page.locator(`tr[data-id="${bulkChangeId}"]`).waitFor();
  });

  it('shows a server error under the exact field it names', async () => {
    await page.goto(`${baseUrl}/new`);
    await page.getByRole('heading', { name: 'New assignment' }).waitFor();
    await page.getByLabel('Service provider').selectOption({ label: 'Verizon ThingSpace M2M' });
    await page.getByLabel('ICCIDs or MSISDNs').fill('8914800000000000000');
    const customer = page.locator('#customer');
    const rev = await customer.locator('option', { hasText: '— Rev' }).first().getAttribute('value');
    await customer.selectOption(rev);
    await page.getByText('Create Rev.io service').click();
    // The choices are the Rev.io account's catalogue, read through the API and cached.
    const source = page.getByTestId('rev-catalogue');
    await expect.poll(() => source.textContent()).toMatch(/^Catalogue of Rev\.io billing as of /);
    const catalogue = (await (
      await page.request.get(`${baseUrl}/api/v1/customers/${rev}/rev-catalogue`)
    ).json()) as { serviceTypes: { id: number; name: string }[]; products: { id: number; rate: number }[] };
    const typeOptions = await page.locator('#service-type option').allTextContents();
    expect(typeOptions.slice(1)).toEqual(catalogue.serviceTypes.map((t) => `${t.name} · ${t.id}`));
    expect(await page.locator('#package-id option').first().textContent()).toBe('None');
    await page.locator('#service-type').selectOption('3');
    await page.locator('#package-id').selectOption('5');
    await page.locator('.product-id').first().selectOption('11');
    // The product's default rate is filled in, and stays editable.
    const rate = page.locator('.product-rate').first();
    expect(await rate.inputValue()).toBe(String(catalogue.products.find((p) => p.id === 11)!.rate));
    await rate.fill('2');
    await page.getByRole('button', { name: 'Check' }).click();
    // "products or a packageId, not both" names /revService/products: shown under the products.
    await expect
      .poll(() => page.locator('[data-error-for="revService/products"]').textContent())
      .toMatch(/not both/);
    expect(await page.locator('[data-error-for="revService/serviceTypeId"]').isHidden()).toBe(true);
    await accessible('new assignment with the Rev.io catalogue');
    await shot('5-field-error');

    // Rev.io failing: a refresh keeps the cached catalogue (still offered) and says why.
    expect(revioSim, `the Rev.io simulator's address in the server log, ${logFile}`).not.toBe('');
    const fault = (method: 'POST' | 'DELETE') =>
      fetch(`${revioSim}/__sim/faults`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'POST' ? JSON.stringify({ path: '/v1/Packages', status: 503 }) : undefined,
      });
    await fault('POST');
    const contoso = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      await page.locator('#rev-catalogue-refresh').click();
      await page
        .getByText(/Could not read the account again just now: Rev\.io account "Rev\.io billing"/)
        .waitFor();
      expect(await page.locator('#service-type').evaluate((el) => el.tagName)).toBe('SELECT');

      // Nothing cached yet (contoso's own Rev.io account, never read) and Rev.io failing: typed ids,
      // with a warning; the server checks nothing it has no catalogue for.
      const other = await contoso.newPage();
      await other.goto(`${baseUrl}/login`);
      await other.getByLabel('E-mail').fill('admin@contoso.example');
      await other.getByLabel('Password').fill('admin-demo');
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('link', { name: 'New assignment' }).first().click();
      await other.getByRole('heading', { name: 'New assignment' }).waitFor();
      const customers = other.locator('#customer');
      await customers.selectOption(
        await customers.locator('option', { hasText: '— Rev' }).first().getAttribute('value'),
      );
      await other.getByText('Create Rev.io service').click();
      await other
        .getByText(/The Rev\.io catalogue cannot be read \(Rev\.io account "Rev\.io billing"/)
        .waitFor();
      expect(await other.getByTestId('rev-catalogue').isHidden()).toBe(true);
      await other.getByLabel('Service type id').fill('3');
      await other.getByLabel('Product id').first().fill('11');
      expect(await other.locator('.product-rate').first().inputValue()).toBe('');
    } finally {
      await fault('DELETE');
      await contoso.close();
    }
  });

  it('cancels from the detail page: the button goes once requested, and every device has all steps or none', async () => {
    const providers = (await (await page.request.get(`${baseUrl}/api/v1/service-providers`)).json()) as {
      items: { id: number; name: string }[];
    };
    const jasper = providers.items.find((p) => p.name.includes('Jasper'))!;
    const free = await freeDevices(page, baseUrl, jasper.id, 400);
    const customers = (await (await page.request.get(`${baseUrl}/api/v1/customers?limit=1000`)).json()) as {
      items: { id: number; kind: string; active: boolean }[];
    };
    const rev = customers.items.find((c) => c.kind === 'rev' && c.active)!;
    const submitted = await page.request.post(`${baseUrl}/api/v1/bulk-changes`, {
      // The page's own origin, as the UI's fetch sends it (cookie sessions refuse cross-site changes).
      headers: { origin: baseUrl },
      data: {
        changeType: 'customer_assignment',
        serviceProviderId: jasper.id,
        customerId: rev.id,
        devices: free.map((d) => d.iccid),
        createRevService: true,
        revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 2 }] },
        addCarrierRatePlan: false,
        addCustomerRatePlan: false,
      },
    });
    expect(submitted.status(), await submitted.text()).toBe(202);
    const { id } = (await submitted.json()) as { id: number };
    await page.goto(`${baseUrl}/bulk-changes/${id}`);
    const cancel = page.getByRole('button', { name: 'Cancel' });
    await cancel.waitFor();
    const tile = async (key: string) =>
      Number(await page.locator(`[data-tile="${key}"] .value`).textContent());
    // mid-way: some devices done, most not begun
    await expect.poll(() => tile('processed'), { timeout: 30_000, interval: 250 }).toBeGreaterThan(0);
    await cancel.click();
    const ask = page.getByRole('dialog', { name: `Cancel bulk change #${id}?` });
    await ask.waitFor();
    expect(
      await ask
        .getByRole('button', { name: 'Keep processing' })
        .evaluate((b) => b === document.activeElement),
    ).toBe(true);
    await accessible('cancel confirmation');
    await shot('6-cancel-confirmation');
    await ask.getByRole('button', { name: 'Cancel bulk change' }).click();
    await ask.waitFor({ state: 'detached' });
    await expect.poll(() => cancel.count()).toBe(0);
    await expect
      .poll(() => page.getByTestId('status').textContent(), { timeout: 60_000, interval: 500 })
      .toBe('CANCELLED');
    const [processed, cancelled] = [await tile('processed'), await tile('cancelled')];
    expect(processed + cancelled).toBe(free.length);
    expect(processed).toBeGreaterThan(0);
    expect(cancelled).toBeGreaterThan(0);
    await shot('6-cancelled');
  });

  it('undoes a finished bulk change: the dry run in a dialog, then the undo followed to the end', async () => {
    const providers = (await (await page.request.get(`${baseUrl}/api/v1/service-providers`)).json()) as {
      items: { id: number; name: string }[];
    };
    const jasper = providers.items.find((p) => p.name.includes('Jasper'))!;
    const free = await freeDevices(page, baseUrl, jasper.id, 12);
    const customers = (await (await page.request.get(`${baseUrl}/api/v1/customers?limit=1000`)).json()) as {
      items: { id: number; kind: string; active: boolean }[];
    };
    const rev = customers.items.find((c) => c.kind === 'rev' && c.active)!;
    const submitted = await page.request.post(`${baseUrl}/api/v1/bulk-changes`, {
      headers: { origin: baseUrl },
      data: {
        changeType: 'customer_assignment',
        serviceProviderId: jasper.id,
        customerId: rev.id,
        devices: free.map((d) => d.iccid),
        createRevService: true,
        revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 2 }] },
        addCarrierRatePlan: false,
        addCustomerRatePlan: false,
      },
    });
    expect(submitted.status(), await submitted.text()).toBe(202);
    const { id } = (await submitted.json()) as { id: number };
    const statusOf = async (bulkChange: number) =>
      (
        (await (await page.request.get(`${baseUrl}/api/v1/bulk-changes/${bulkChange}`)).json()) as {
          status: string;
        }
      ).status;
    await expect.poll(() => statusOf(id), { timeout: 60_000, interval: 500 }).toBe('PROCESSED');

    await page.goto(`${baseUrl}/bulk-changes/${id}`);
    await page.getByRole('button', { name: 'Undo' }).click();
    const dialog = page.getByRole('dialog', { name: `Undo bulk change #${id}?` });
    await dialog.waitFor();
    await expect
      .poll(() => dialog.getByTestId('undo-restorable').textContent())
      .toBe(`${free.length} devices put back as they were`);
    expect(await dialog.getByTestId('undo-conflicts').textContent()).toBe(
      '0 changed since: left alone and reported',
    );
    expect(await dialog.getByTestId('undo-rev').textContent()).toBe(
      `${free.length} Rev.io services (${free.length} products) disconnected today`,
    );
    // The dry run wrote nothing: the bulk change is not undone yet.
    const before = (await (await page.request.get(`${baseUrl}/api/v1/bulk-changes/${id}`)).json()) as {
      undoneBy: number | null;
    };
    expect(before.undoneBy).toBeNull();
    await accessible('undo dialog');
    await shot('6b-undo-dry-run');

    await dialog.getByTestId('undo-confirm').click();
    await page.waitForURL(
      (url) => /\/bulk-changes\/\d+$/.test(url.pathname) && !url.pathname.endsWith(`/${id}`),
    );
    const undoId = Number(new URL(page.url()).pathname.split('/').pop());
    // The undo's own page (not the original's, still shown for a moment), followed to the end.
    await page.getByTestId('undo-of').waitFor();
    expect(await page.getByTestId('undo-of').textContent()).toBe(`Undo of #${id}`);
    await expect
      .poll(() => page.getByTestId('status').textContent(), { timeout: 60_000, interval: 500 })
      .toBe('PROCESSED');
    await expect
      .poll(async () => Number(await page.locator('[data-tile="processed"] .value').textContent()))
      .toBe(free.length);
    await shot('6c-undo-finished');
    await page.getByTestId('undo-of').click();
    expect(await page.getByTestId('undone-by').textContent()).toBe(`Undone by #${undoId}`);
    expect(await page.getByRole('button', { name: 'Undo' }).count()).toBe(0);
  });

  it('signs out; a viewer reads but cannot submit', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${baseUrl}/login`);
    await shot('1-sign-in');
    await signIn('viewer@northwind.example', 'viewer-demo');
    await page.getByRole('heading', { name: 'Bulk changes' }).waitFor();
    await page.locator(`tr[data-id="${bulkChangeId}"]`).waitFor();
    expect(await page.getByRole('link', { name: 'New assignment' }).count()).toBe(0);
    await page.locator(`tr[data-id="${bulkChangeId}"]`).click();
    await page.getByRole('heading', { name: `Bulk change #${bulkChangeId}` }).waitFor();
    expect(await page.getByRole('button', { name: 'Retry failed' }).count()).toBe(0);
  });

  it('sends a signed-out visitor of a deep link to sign in, then back', async () => {
    await context.clearCookies();
    await page.goto(`${baseUrl}/bulk-changes/${bulkChangeId}`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel('E-mail').fill('admin@northwind.example');
    await page.getByLabel('Password').fill('admin-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/bulk-changes/${bulkChangeId}`);
    expect(pageErrors).toEqual([]);
  });

  it('lets an admin add a person (one-time password shown once) and disable them', async () => {
    await openAdminScreen(page, 'People');
    await page.getByRole('heading', { name: 'People' }).waitFor();
    await page.getByLabel('E-mail').fill('new.operator@northwind.example');
    await page.getByLabel('Name').fill('New Operator');
    await page.getByLabel('Role').selectOption('operator');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const shown = page.getByTestId('one-time-password');
    await shown.waitFor();
    const password = (await shown.locator('code').textContent()) ?? '';
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    const row = page.locator('tr[data-email="new.operator@northwind.example"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('operator');
    await shot('6-people');
    await accessible('people');
    // The password works once the person is there; disabling stops it.
    const signIn = (pw: string) =>
      page.request.post(`${baseUrl}/api/v1/auth/login`, {
        data: { email: 'new.operator@northwind.example', password: pw },
        headers: { origin: baseUrl },
      });
    await page.getByRole('button', { name: 'Disable new.operator@northwind.example' }).click();
    await expect.poll(() => row.textContent()).toContain('DISABLED');
    expect((await signIn(password)).status()).toBe(401);
  });

  it('shows the accounts without their secrets and tests a connection', async () => {
    await openAdminScreen(page, 'Accounts');
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
    const table = page.getByRole('table', { name: 'Accounts' });
    expect(await table.textContent()).not.toContain('demo-password');
    const revio = table.locator('tbody tr', { hasText: 'Rev.io billing' });
    expect(await revio.textContent()).toMatch(/password, subscriptionKey: set \d{4}-\d{2}-\d{2}/);
    await revio.getByRole('button', { name: /Test connection/ }).click();
    await expect
      .poll(() => revio.textContent(), { timeout: 15_000 })
      .toMatch(/Connected.*GET \/ServiceTypes → 200/);
    await shot('7-accounts');
    await accessible('accounts');
  });

  it("syncs a provider's devices from Jasper and follows the run to the end", async () => {
    // Devices only the carrier knows of yet: ICCIDs with a valid check digit, outside the demo fleet.
    expect(jasperSim, `the Jasper simulator's address in the server log, ${logFile}`).not.toBe('');
    const seeded = Array.from({ length: 300 }, (_, i) => {
      const body = `891480777${String(i).padStart(9, '0')}`;
      return { iccid: `${body}${luhnCheckDigit(body)}`, status: 'ACTIVATED', ratePlan: 'IoT Basic 1MB' };
    });
    const seeding = await fetch(`${jasperSim}/__sim/devices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(seeded),
    });
    expect(seeding.status, await seeding.text()).toBe(200);

    await openAdminScreen(page, 'Accounts');
    await page.getByRole('heading', { name: 'Sync runs' }).waitFor();
    const providers = page.getByRole('table', { name: 'Service providers' });
    expect(await providers.textContent()).toContain('Cisco Jasper M2M');
    const revio = page
      .getByRole('table', { name: 'Accounts' })
      .locator('tbody tr', { hasText: 'Rev.io billing' });
    expect(await revio.getByRole('button', { name: 'Sync customers of Rev.io billing' }).count()).toBe(1);

    const button = page.getByRole('button', { name: 'Sync devices of Cisco Jasper M2M' });
    await button.click();
    const queued = page.getByRole('status');
    await expect
      .poll(() => queued.textContent())
      .toMatch(/^Sync queued: devices of Cisco Jasper M2M \(run #\d+\)\.$/);
    const runId = Number(/#(\d+)/.exec((await queued.textContent()) ?? '')?.[1]);
    // Enabled again once its request (and the table's reload) is done.
    await expect.poll(() => button.isEnabled()).toBe(true);

    // The table refreshes itself until the run is over.
    const row = page.getByRole('table', { name: 'Sync runs' }).locator(`tbody tr[data-id="${runId}"]`);
    await row.waitFor();
    await expect
      .poll(() => row.getAttribute('data-status'), { timeout: 60_000, interval: 500 })
      .toBe('SUCCEEDED');
    expect(await row.locator('.badge').textContent()).toBe('SUCCEEDED');
    const run = (await (await page.request.get(`${baseUrl}/api/v1/sync-runs/${runId}`)).json()) as {
      kind: string;
      mode: string;
      status: string;
      counts: Record<'pages' | 'seen' | 'created' | 'changed' | 'skipped', number> & { gone: number | null };
    };
    expect(run).toMatchObject({ kind: 'devices', mode: 'full', status: 'SUCCEEDED' });
    expect(run.counts.created).toBeGreaterThanOrEqual(seeded.length);
    expect(run.counts.seen).toBeGreaterThanOrEqual(seeded.length);
    const shown = async (key: string) =>
      (await row.locator(`[data-count="${key}"]`).textContent())?.replace(/,/g, '');
    for (const key of ['pages', 'seen', 'created', 'changed', 'skipped'] as const)
      expect(await shown(key), key).toBe(String(run.counts[key]));
    expect(await shown('gone')).toBe(run.counts.gone === null ? '—' : String(run.counts.gone));
    expect(await row.textContent()).toContain('Cisco Jasper M2M');
    // Synced devices are simbind's now: unassigned, on the Jasper provider.
    const device = (await (
      await page.request.get(`${baseUrl}/api/v1/devices?q=${seeded[0]!.iccid}&limit=1`)
    ).json()) as { items: { iccid: string }[] };
    expect(device.items.map((d) => d.iccid)).toEqual([seeded[0]!.iccid]);
    await shot('9-syncs');
    await accessible('accounts with sync runs');
  });

  it('adds a webhook (secret shown once), sends a signed test, and disables it', async () => {
    const received: { body: string; signature: string }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          body: Buffer.concat(chunks).toString(),
          signature: String(req.headers['x-simbind-signature']),
        });
        res.writeHead(202).end('queued by the ERP');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/simbind`;
      await openAdminScreen(page, 'Webhooks');
      await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
      await page.getByLabel('URL').fill(hookUrl);
      await page.getByLabel('Description').fill('Acme ERP');
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      const shown = page.getByTestId('webhook-secret');
      await shown.waitFor();
      const secret = (await shown.locator('code').textContent()) ?? '';
      expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      const row = page.locator('tbody tr', { hasText: 'Acme ERP' });
      expect(await row.textContent()).not.toContain(secret);

      await page.getByRole('button', { name: 'Send test: Acme ERP' }).click();
      await page.getByText('Test delivered: 202 · queued by the ERP').waitFor();
      expect(received).toHaveLength(1);
      expect(verifySignature(secret, received[0]!.body, received[0]!.signature)).toBe(true);
      const log = page.getByRole('table', { name: 'Delivery log: Acme ERP' });
      expect(await log.textContent()).toMatch(/webhook\.test\s*delivered\s*1\s*202/);
      await shot('8-webhooks');
      await accessible('webhooks');

      // A new secret is asked first: "Keep as is" changes nothing, confirming shows the new one once.
      await page.getByRole('button', { name: 'New secret: Acme ERP' }).click();
      const ask = page.getByRole('dialog', { name: 'Replace the signing secret?' });
      await ask.getByRole('button', { name: 'Keep as is' }).click();
      await ask.waitFor({ state: 'detached' });
      expect(await shown.count()).toBe(0);
      await page.getByText('Test delivered: 202 · queued by the ERP').waitFor();
      await page.getByRole('button', { name: 'New secret: Acme ERP' }).click();
      await ask.getByRole('button', { name: 'Replace secret' }).click();
      await shown.waitFor();
      expect(await shown.locator('code').textContent()).toMatch(/^whsec_/);
      expect(await shown.locator('code').textContent()).not.toBe(secret);

      await page.getByRole('button', { name: 'Disable: Acme ERP' }).click();
      await expect.poll(() => row.textContent()).toContain('disabled');
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('keeps the latest screen when an earlier, slower one finishes after it (router race)', async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByRole('heading', { name: 'Bulk changes' }).waitFor();
    // The People screen's list of people is held until the Customers screen is drawn.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const isUsers = (url: URL) => url.pathname === '/api/v1/users';
    await page.route(isUsers, async (route) => {
      await held;
      await route.continue();
    });
    try {
      const asked = page.waitForRequest((r) => isUsers(new URL(r.url())));
      await openAdminScreen(page, 'People');
      await asked;
      await page.getByRole('link', { name: 'Customers', exact: true }).click();
      await page.getByRole('heading', { name: 'Customers', exact: true }).waitFor();
      const answered = page.waitForResponse((r) => isUsers(new URL(r.url())));
      release();
      await (await answered).finished();
      // Every render started has finished, the People screen's included.
      await page.waitForFunction(() => document.getElementById('main')?.dataset.rendering === '0');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Customers');
      expect(await page.getByRole('table', { name: 'People' }).count()).toBe(0);
      expect(page.url()).toBe(`${baseUrl}/customers`);
    } finally {
      release();
      await page.unroute(isUsers);
    }
  });

  it('has no serious accessibility problems on the main screens (axe-core)', async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByRole('heading', { name: 'Bulk changes' }).waitFor();
    await accessible('bulk changes');
    await page.goto(`${baseUrl}/new`);
    await page.getByRole('heading', { name: 'New assignment' }).waitFor();
    await accessible('new assignment');
    await page.goto(`${baseUrl}/bulk-changes/${bulkChangeId}`);
    await page.getByRole('heading', { name: `Bulk change #${bulkChangeId}` }).waitFor();
    await accessible('bulk change');
  });
});
