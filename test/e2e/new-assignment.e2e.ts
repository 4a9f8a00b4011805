// The New assignment screen: a file of identifiers, the Fleet screen's hand-over, a Check that names
// the owners and offers the ineligible as CSV, moving owned devices after a confirmation, the
// searchable Rev.io pickers and the review sentence.
import fs from 'node:fs/promises';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeViolations, freeDevices, launchChromium, screenshot, signIn } from './harness.ts';

/** The run's shared simbind (global-setup.ts). */
const { baseUrl } = inject('simbind');
let browser: Browser | undefined;
let page: Page;
/** Page errors, console errors and native dialogs (the screens ask in their own dialogs). */
const pageErrors: string[] = [];

type Customer = { id: number; name: string; kind: string; active: boolean };
type Device = { id: number; iccid: string; customerId: number | null; customerName: string | null };

const get = async <T>(url: string): Promise<T> =>
  (await (await page.request.get(`${baseUrl}/api/v1${url}`)).json()) as T;
const providerId = async (name: string) =>
  (await get<{ items: { id: number; name: string }[] }>('/service-providers')).items.find((p) =>
    p.name.includes(name),
  )!.id;
const customers = async () => (await get<{ items: Customer[] }>('/customers?limit=1000')).items;
const devices = async (query: string) => (await get<{ items: Device[] }>(`/devices?${query}`)).items;
const statusOf = async (id: number) => (await get<{ status: string }>(`/bulk-changes/${id}`)).status;

async function accessible(screen: string): Promise<void> {
  expect(await axeViolations(page), `accessibility of ${screen}`).toEqual([]);
}

/** Chooses a customer through the picker's filter and its list. */
async function chooseCustomer(c: Customer): Promise<void> {
  await page.locator('#customer-filter').fill(c.name);
  await page.locator('#customer').selectOption(String(c.id));
  await expect.poll(() => page.locator('#site').isDisabled()).toBe(false);
}

const review = () => page.getByTestId('review').textContent();

beforeAll(async () => {
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  context.setDefaultTimeout(20_000);
  page = await context.newPage();
  page.on('pageerror', (error) => void pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    pageErrors.push(`native ${dialog.type()} dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await signIn(page, baseUrl, 'admin@northwind.example');
});

afterAll(async () => {
  await browser?.close();
});

describe('new assignment', () => {
  it('reads an uploaded CSV, counts its rows, and offers every ineligible device as CSV', async () => {
    const thingspace = await providerId('ThingSpace');
    const free = await devices(`serviceProviderId=${thingspace}&status=active&unassigned=true&limit=42`);
    expect(free).toHaveLength(42);
    const unknown = ['8914800000000000001', '8914800000000000002'];
    const rows = [
      ...free.map((d, i) => `${d.iccid},tracker ${i}`),
      ...free.slice(0, 3).map((d) => `"${d.iccid}",again`),
      'abc,not an identifier',
      '12345,too short',
      '8914-800,dashes',
      ...unknown.map((u) => `${u},unknown`),
    ];
    expect(rows).toHaveLength(50);
    const amop = (await customers()).find((c) => c.kind === 'amop' && c.active)!;

    await page.goto(`${baseUrl}/new`);
    await page.getByRole('heading', { name: 'New assignment' }).waitFor();
    await page.getByLabel('Service provider').selectOption(String(thingspace));
    await page.getByLabel('Choose a CSV or text file').setInputFiles({
      name: 'devices.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`Label,ICCID\n${rows.map((r) => r.split(',').reverse().join(',')).join('\n')}\n`),
    });
    await expect
      .poll(() => page.getByTestId('file-counts').textContent())
      .toBe('44 recognised, 3 duplicates, 3 malformed');
    const summary = (await page.getByTestId('file-summary').textContent())!;
    expect(summary).toContain('header "iccid"');
    expect(summary).toContain('line 47: not an identifier,abc');
    expect(summary).toContain('line 49: dashes,8914-800');
    expect(await page.getByLabel('ICCIDs or MSISDNs').isHidden()).toBe(true);
    await accessible('new assignment with a file');
    await screenshot(page, 'new-1-file-counts');

    await chooseCustomer(amop);
    await page.getByLabel('Effective date').fill('2026-12-05');
    await expect
      .poll(review)
      .toMatch(new RegExp(`^Assign 44 devices to ${amop.name}, site [^,]+, on 2026-12-05\\.$`));

    await page.getByRole('button', { name: 'Check', exact: true }).click();
    // The 2 unknown identifiers are ineligible (and whatever the business rules refuse among the 42).
    const checkSummary = page.getByTestId('check-summary');
    await expect
      .poll(() => checkSummary.textContent())
      .toMatch(/^\d+ eligible, \d+ ineligible, 0 duplicates/);
    const [eligible, refused] = /^(\d+) eligible, (\d+) ineligible/
      .exec((await checkSummary.textContent())!)!
      .slice(1)
      .map(Number);
    expect(eligible! + refused!).toBe(44);
    expect(refused).toBeGreaterThanOrEqual(2);
    const ineligible = page.getByRole('table', { name: 'Ineligible devices' }).locator('tbody tr');
    expect(await ineligible.count()).toBe(refused);
    expect(await page.getByTestId('eligible-only').textContent()).toContain(
      `Submit assigns the ${eligible} eligible devices only. The ${refused} ineligible are recorded in the bulk change as errors`,
    );
    await expect
      .poll(review)
      .toContain(`Assign ${eligible} devices (the eligible ones) to ${amop.name}, site `);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Download all ${refused} ineligible (CSV)` }).click(),
    ]);
    const csv = (await fs.readFile(await download.path(), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('identifier,reason,message,current_owner,current_site');
    expect(csv).toHaveLength(refused! + 1);
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(expect.arrayContaining(unknown));
    await accessible('new assignment checked');
    await screenshot(page, 'new-2-checked');
  });

  it('refuses a device another customer owns, and moves it with reassign after a confirmation', async () => {
    const thingspace = await providerId('ThingSpace');
    const all = await customers();
    const someOwned = await devices(`serviceProviderId=${thingspace}&unassigned=false&status=active&limit=1`);
    const ownerId = someOwned[0]!.customerId!;
    const owned = await devices(
      `serviceProviderId=${thingspace}&customerId=${ownerId}&status=active&limit=2`,
    );
    expect(owned).toHaveLength(2);
    const owner = owned[0]!.customerName!;
    const target = all.find((c) => c.kind === 'amop' && c.active && c.id !== ownerId)!;

    // The Fleet screen hands identifiers over in the URL.
    await page.goto(`${baseUrl}/new?providerId=${thingspace}&devices=${owned.map((d) => d.iccid).join(',')}`);
    await expect.poll(() => page.getByTestId('device-count').textContent()).toBe('2 identifiers');
    expect(await page.getByLabel('Service provider').inputValue()).toBe(String(thingspace));
    await chooseCustomer(target);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('check-summary').textContent())
      .toContain('0 eligible, 2 ineligible');
    expect(await page.getByTestId('check-summary').textContent()).toContain(`of ${owner}`);
    const refused = page.getByRole('table', { name: 'Ineligible devices' }).locator('tbody tr');
    expect(await refused.first().textContent()).toContain('owned');

    await page.getByLabel('Also move devices that belong to other customers').check();
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('changing-hands').textContent())
      .toContain('2 devices belong to other customers and will change hands');
    const moving = page.getByRole('table', { name: 'Devices changing hands' }).locator('tbody tr');
    expect(await moving.count()).toBe(2);
    expect(await moving.first().textContent()).toContain(owner);
    await screenshot(page, 'new-3-changing-hands');

    await page.getByRole('button', { name: 'Submit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Move devices other customers own?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(
      `2 devices belong to other customers today and will be moved to ${target.name}`,
    );
    await accessible('the changing-hands confirmation');
    await screenshot(page, 'new-4-confirm');
    // "Go back" submits nothing.
    await dialog.getByRole('button', { name: 'Go back' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(page.url()).toContain('/new');
    await page.getByRole('button', { name: 'Submit' }).click();
    await dialog.getByRole('button', { name: 'Move 2 and submit' }).click();
    await page.waitForURL(/\/bulk-changes\/\d+$/);
    const id = Number(/(\d+)$/.exec(page.url())![1]);
    await expect.poll(() => statusOf(id), { timeout: 60_000, interval: 500 }).toBe('PROCESSED');
    for (const d of owned)
      expect((await devices(`serviceProviderId=${thingspace}&q=${d.iccid}`))[0]!.customerId).toBe(target.id);
  });

  it('shows a filter selection as "All N devices matching", counted by the server', async () => {
    const thingspace = await providerId('ThingSpace');
    const { count } = await get<{ count: number }>(
      `/devices/count?serviceProviderId=${thingspace}&status=active&unassigned=true`,
    );
    expect(count).toBeGreaterThan(0);
    const filter = encodeURIComponent(JSON.stringify({ status: 'active', unassigned: true }));
    await page.goto(`${baseUrl}/new?providerId=${thingspace}&filter=${filter}`);
    await expect
      .poll(() => page.getByTestId('filter-summary').textContent())
      .toContain(`All ${count.toLocaleString('en-US')} devices matching: status active, unassigned`);
    expect(await page.getByLabel('ICCIDs or MSISDNs').isHidden()).toBe(true);
    const amop = (await customers()).find((c) => c.kind === 'amop' && c.active)!;
    await chooseCustomer(amop);
    await expect.poll(review).toContain(`Assign ${count.toLocaleString('en-US')} devices to ${amop.name}`);
    await accessible('new assignment with a filter selection');
    await screenshot(page, 'new-5-filter');
  });

  it('assigns with a Rev.io service whose products are picked by searching, to PROCESSED', async () => {
    const jasper = await providerId('Jasper');
    const free = await freeDevices(page, baseUrl, jasper, 3);
    expect(free).toHaveLength(3);
    // The Fleet screen's selection through sessionStorage.
    await page.evaluate((s) => sessionStorage.setItem('simbind.selection', JSON.stringify(s)), {
      providerId: jasper,
      devices: free.map((d) => d.iccid),
    });
    await page.goto(`${baseUrl}/new?selection=session`);
    await expect.poll(() => page.getByTestId('device-count').textContent()).toBe('3 identifiers');
    const customer = page.locator('#customer');
    const revId = (await customer.locator('option', { hasText: '— Rev' }).first().getAttribute('value'))!;
    await customer.selectOption(revId);
    await page.getByText('Create Rev.io service').click();
    await expect.poll(() => page.getByTestId('rev-catalogue').textContent()).toMatch(/^Catalogue of /);
    const catalogue = await get<{
      serviceTypes: { id: number; name: string }[];
      products: { id: number; name: string }[];
    }>(`/customers/${revId}/rev-catalogue`);
    const type = catalogue.serviceTypes.find((t) => t.id === 3)!;
    await page.getByLabel('Filter service types').fill(`${type.name} · 3`);
    await expect.poll(() => page.locator('#service-type').inputValue()).toBe('3');
    const [first, second] = catalogue.products.slice(0, 2);
    await page.getByLabel('Filter products').first().fill(`${first!.name} · ${first!.id}`);
    await expect.poll(() => page.locator('.product-id').first().inputValue()).toBe(String(first!.id));
    await page.getByRole('button', { name: 'Add product' }).click();
    await page.getByLabel('Filter products').nth(1).fill(`${second!.name} · ${second!.id}`);
    await expect.poll(() => page.locator('.product-id').nth(1).inputValue()).toBe(String(second!.id));
    await page.locator('.product-rate').first().fill('2');
    await page.locator('.product-rate').nth(1).fill('3');
    await page.getByLabel('Effective date').fill('2026-12-05');
    const name = (await customer.locator('option:checked').textContent())!.split(' — ')[0];
    await expect
      .poll(review)
      .toMatch(
        new RegExp(
          `^Assign 3 devices to ${name}, site [^,]+, create 3 Rev\\.io services with 2 products each, on 2026-12-05\\.$`,
        ),
      );
    await accessible('new assignment with searchable Rev.io pickers');
    await screenshot(page, 'new-6-rev-pickers');

    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/bulk-changes\/\d+$/);
    const id = Number(/(\d+)$/.exec(page.url())![1]);
    await expect.poll(() => statusOf(id), { timeout: 60_000, interval: 500 }).toBe('PROCESSED');
  });

  it('fits a 390 px screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${baseUrl}/new`);
    await page.getByRole('heading', { name: 'New assignment' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await accessible('new assignment at 390 px');
    await screenshot(page, 'new-7-390px');
    expect(pageErrors).toEqual([]);
  });
});
