import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeViolations, launchChromium, screenshot, signIn } from './harness.ts';

// The Fleet screen and the device page against the whole product: search, filters, sort, keyset
// pages, "select all N matching" handed to the new-assignment screen as a filter, and the device
// page showing the new owner and the bulk change in its history.

// The run's shared simbind (global-setup.ts), as Contoso's admin: this file assigns every active
// unassigned ThingSpace device of its tenant, and the other files work in Northwind.
const { baseUrl } = inject('simbind');
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];
/** Contoso's ThingSpace M2M provider: over 1,000 of its demo devices are unassigned and active. */
let providerId = 0;

const apiGet = async <T>(url: string): Promise<T> =>
  (await page.request.get(`${baseUrl}/api/v1${url}`)).json() as T;
const countOf = async (query: string) => (await apiGet<{ count: number }>(`/devices/count?${query}`)).count;
async function accessible(screen: string): Promise<void> {
  expect(await axeViolations(page), `accessibility of ${screen}`).toEqual([]);
}
const rows = () => page.getByTestId('fleet-table').locator('tbody tr');
const cellTexts = (column: number) => rows().locator(`td:nth-child(${column})`).allTextContents();
/** The fleet screen finished drawing (no render in flight). */
const settled = () => page.waitForFunction(() => document.getElementById('main')?.dataset.rendering === '0');
async function apply(): Promise<void> {
  await page.getByRole('button', { name: 'Apply' }).click();
  await settled();
}

beforeAll(async () => {
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  page.on('pageerror', (error) => void pageErrors.push(error.message));
  await signIn(page, baseUrl, 'admin@contoso.example');
  const providers = await apiGet<{ items: { id: number; name: string }[] }>('/service-providers');
  providerId = providers.items.find((p) => p.name === 'Verizon ThingSpace M2M')!.id;
});

afterAll(async () => {
  await browser?.close();
});

describe('fleet and device page', () => {
  let bulkChangeId = 0;
  let assignedCount = 0;
  let customer = { id: 0, name: '' };

  it('lists a provider from the top bar and searches by identifier prefix, kept in the URL', async () => {
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await page.getByLabel('Service provider', { exact: true }).selectOption({ value: String(providerId) });
    await page.waitForURL(new RegExp(`providerId=${providerId}`));
    await settled();
    const all = await countOf(`serviceProviderId=${providerId}`);
    expect(await page.getByTestId('fleet-count').textContent()).toBe(
      `${all.toLocaleString('en-US')} devices match.`,
    );
    expect(await rows().count()).toBe(50);

    const [first] = (
      await apiGet<{ items: { msisdn: string; iccid: string }[] }>(
        `/devices?serviceProviderId=${providerId}&limit=1&sort=msisdn`,
      )
    ).items;
    await page.getByLabel('ICCID, MSISDN or IMEI starts with').fill(first!.msisdn);
    await apply();
    expect(page.url()).toContain(`q=${first!.msisdn}`);
    expect(await cellTexts(2)).toEqual([first!.iccid]);
    await page.reload();
    await settled();
    expect(await cellTexts(2)).toEqual([first!.iccid]);
    expect(await page.getByLabel('ICCID, MSISDN or IMEI starts with').inputValue()).toBe(first!.msisdn);
    await page.goBack();
    await settled();
    expect(await rows().count()).toBe(50);
  });

  it('filters by status, customer and site, carrier plan', async () => {
    await page.goto(`${baseUrl}/devices?providerId=${providerId}`);
    await settled();
    await page.getByLabel('Status', { exact: true }).selectOption('suspended');
    await apply();
    const suspended = await countOf(`serviceProviderId=${providerId}&status=suspended`);
    expect(suspended).toBeGreaterThan(0);
    expect(await page.getByTestId('fleet-count').textContent()).toContain(suspended.toLocaleString('en-US'));
    // The status badge (an archived device has a second badge beside it).
    const statuses = await rows().locator('td:nth-child(5) .badge:first-child').allTextContents();
    expect(new Set(statuses)).toEqual(new Set(['SUSPENDED']));

    const owned = (
      await apiGet<{
        items: { customerId: number; customerName: string; siteName: string; siteId: number }[];
      }>(`/devices?serviceProviderId=${providerId}&unassigned=false&limit=1`)
    ).items[0]!;
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await page.getByLabel('Customer', { exact: true }).selectOption({ value: String(owned.customerId) });
    await expect.poll(() => page.getByLabel('Site', { exact: true }).isDisabled()).toBe(false);
    await page.getByLabel('Site', { exact: true }).selectOption({ value: String(owned.siteId) });
    await apply();
    expect(page.url()).toContain(`customerId=${owned.customerId}`);
    expect(page.url()).toContain(`siteId=${owned.siteId}`);
    expect(new Set(await cellTexts(6))).toEqual(new Set([owned.customerName]));
    expect(new Set(await cellTexts(7))).toEqual(new Set([owned.siteName]));

    await page.getByRole('button', { name: 'Clear' }).click();
    await settled();
    await page.getByLabel('Carrier plan', { exact: true }).fill('M2M-1GB-SHR');
    await apply();
    const onPlan = await countOf(`serviceProviderId=${providerId}&carrierRatePlan=M2M-1GB-SHR`);
    expect(await page.getByTestId('fleet-count').textContent()).toContain(onPlan.toLocaleString('en-US'));
    expect(new Set(await cellTexts(8))).toEqual(new Set(['M2M-1GB-SHR']));

    // Archived devices are left out unless asked for. A search by an archived device's ICCID less
    // its last two digits and check digit lists it among its neighbours, one page's worth.
    const [archived] = (
      await apiGet<{ items: { iccid: string }[] }>(
        `/devices?serviceProviderId=${providerId}&archived=only&limit=1`,
      )
    ).items;
    await page.goto(`${baseUrl}/devices?providerId=${providerId}&q=${archived!.iccid.slice(0, -3)}`);
    await settled();
    const unarchived = await cellTexts(2);
    expect(unarchived.length).toBeGreaterThan(0);
    expect(unarchived).not.toContain(archived!.iccid);
    expect(
      await rows()
        .locator('.badge', { hasText: /^archived$/ })
        .count(),
    ).toBe(0);
    await page.getByLabel('Show archived devices').check();
    await apply();
    expect(page.url()).toContain('archived=include');
    expect(await cellTexts(2)).toEqual([...unarchived, archived!.iccid].sort());
    const flagged = rows().filter({ has: page.locator('.badge', { hasText: /^archived$/ }) });
    expect(await flagged.locator('td:nth-child(2)').allTextContents()).toEqual([archived!.iccid]);
    await accessible('fleet with archived devices');
  });

  it('sorts by a column (aria-sort) and pages with Next and Previous', async () => {
    await page.goto(`${baseUrl}/devices?providerId=${providerId}&status=active&unassigned=true`);
    await settled();
    const iccidHead = page.getByRole('columnheader', { name: /ICCID/ });
    expect(await iccidHead.getAttribute('aria-sort')).toBe('ascending');
    const ascending = await cellTexts(2);
    expect([...ascending].sort()).toEqual(ascending);
    await iccidHead.getByRole('button').click();
    await settled();
    expect(await page.getByRole('columnheader', { name: /ICCID/ }).getAttribute('aria-sort')).toBe(
      'descending',
    );
    const descending = await cellTexts(2);
    expect([...descending].sort().reverse()).toEqual(descending);
    expect(descending[0]! > ascending[0]!).toBe(true);

    await page.getByRole('button', { name: 'Next' }).click();
    await settled();
    expect(page.url()).toContain('cursor=');
    const second = await cellTexts(2);
    expect(second[0]! < descending[49]!).toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await settled();
    expect(await cellTexts(2)).toEqual(descending);
  });

  it('selects all N matching (over 1,000) and hands the filter to the new assignment', async () => {
    assignedCount = await countOf(`serviceProviderId=${providerId}&status=active&unassigned=true`);
    expect(assignedCount).toBeGreaterThanOrEqual(1000);
    await page.goto(`${baseUrl}/devices?providerId=${providerId}&status=active&unassigned=true`);
    await settled();
    await page.getByLabel('Select every device of this page').check();
    expect(await page.getByTestId('selection').textContent()).toBe('50 devices selected');
    await page.getByTestId('select-all-matching').click();
    const n = assignedCount.toLocaleString('en-US');
    expect(await page.getByTestId('selection').textContent()).toBe(`${n} devices selected`);
    await accessible('fleet with a selection');
    await screenshot(page, 'fleet-1-selected');
    await page.getByRole('button', { name: 'Assign to customer' }).click();
    await page.waitForURL(/\/new\?/);
    const url = new URL(page.url());
    expect(url.searchParams.get('providerId')).toBe(String(providerId));
    expect(JSON.parse(url.searchParams.get('filter')!)).toEqual({ status: 'active', unassigned: true });
    await expect.poll(() => page.locator('main').textContent()).toContain(`All ${n} devices matching`);
    await screenshot(page, 'fleet-2-new-assignment');

    // Check, then Submit on the new-assignment screen: the filter stays a filter.
    const customers = await apiGet<{ items: { id: number; name: string; kind: string; active: boolean }[] }>(
      '/customers?limit=1000',
    );
    customer = customers.items.find((c) => c.kind === 'amop' && c.active)!;
    await page.locator('#customer').selectOption({ label: `${customer.name} — AMOP` });
    await expect.poll(() => page.locator('#site').isDisabled()).toBe(false);
    await page.getByRole('button', { name: 'Check' }).click();
    const summary = page.getByTestId('check-summary');
    await summary.waitFor({ timeout: 60_000 });
    const [, eligible, ineligible] = /([\d,]+) eligible, ([\d,]+) ineligible/.exec(
      (await summary.textContent())!,
    )!;
    const number = (text: string | undefined) => Number(text!.replace(/,/g, ''));
    expect(number(eligible)).toBeGreaterThanOrEqual(1000);
    expect(number(eligible) + number(ineligible)).toBe(assignedCount);
    await screenshot(page, 'fleet-2-new-assignment-checked');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/bulk-changes\/\d+$/, { timeout: 60_000 });
    bulkChangeId = Number(/(\d+)$/.exec(page.url())?.[1]);
    expect(bulkChangeId).toBeGreaterThan(0);

    // The demo fleet has archived devices: the filter (as GET /devices) leaves them out by default,
    // so every device it selects is eligible and the change ends PROCESSED, all of them assigned.
    type Counts = { processed: number; error: number; total: number };
    const state = () => apiGet<{ status: string; counts: Counts }>(`/bulk-changes/${bulkChangeId}`);
    await expect
      .poll(async () => (await state()).status, { timeout: 120_000, interval: 1000 })
      .toMatch(/^PROCESSED/);
    const { status, counts } = await state();
    expect(status).toBe('PROCESSED');
    expect(counts.total).toBe(assignedCount);
    expect(counts.processed).toBe(assignedCount);
    expect(counts.error).toBe(0);
    expect(await countOf(`serviceProviderId=${providerId}&customerId=${customer.id}`)).toBeGreaterThanOrEqual(
      counts.processed,
    );
  }, 180_000);

  it('shows the new owner and the history entry on a device page', async () => {
    await page.goto(`${baseUrl}/devices?providerId=${providerId}&customerId=${customer.id}&sort=-updatedAt`);
    await settled();
    const firstLink = rows().first().locator('td:nth-child(2) a');
    const iccid = await firstLink.textContent();
    await firstLink.click();
    await page.getByRole('heading', { name: `Device ${iccid}` }).waitFor();
    expect(await page.getByTestId('device-owner').textContent()).toContain(customer.name);
    const history = page.getByTestId('device-history');
    const link = history.getByRole('link', { name: `Bulk change ${bulkChangeId}` });
    expect(await link.getAttribute('href')).toBe(`/bulk-changes/${bulkChangeId}`);
    expect(await history.textContent()).toContain(customer.name);
    await accessible('device page');
    await screenshot(page, 'fleet-3-device');
  });

  it('fits a 390 px screen without a sideways scroll of the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${baseUrl}/devices?providerId=${providerId}`);
    await settled();
    await page.getByLabel('Select every device of this page').check();
    const widths = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ]);
    expect(widths[0]).toBeLessThanOrEqual(widths[1]!);
    await accessible('fleet at 390 px');
    await screenshot(page, 'fleet-4-narrow');
    expect(pageErrors).toEqual([]);
  });
});
