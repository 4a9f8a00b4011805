// The bulk change page live (pushed progress or polling, no reload), its steps and change-log
// filters, the list's filters and paging, and every screen at 390 px.
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeViolations, freeDevices, launchChromium, screenshot, signIn } from './harness.ts';

/** The run's shared simbind (global-setup.ts): other files' bulk changes are there too. */
const { baseUrl } = inject('simbind');
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];
const requested: string[] = [];

const accessible = async (screen: string) =>
  expect(await axeViolations(page), `accessibility of ${screen}`).toEqual([]);
/** No sideways scroll of the page (else: the outermost elements that stick out). */
const fitsWidth = async (screen: string) => {
  const { over, widest } = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    type Box = {
      getBoundingClientRect(): { right: number };
      parentElement: Box | null;
      tagName: string;
      className: string;
    };
    const sticking = (Array.from(document.querySelectorAll('body *')) as unknown as Box[])
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .filter((el) => !el.parentElement || el.parentElement.getBoundingClientRect().right <= width + 0.5);
    return {
      over: document.documentElement.scrollWidth - width,
      widest: sticking.slice(0, 5).map((el) => `${el.tagName}.${el.className}`),
    };
  });
  expect(over, `sideways scroll on ${screen}: ${widest.join(', ')}`).toBeLessThanOrEqual(0);
};
const getJson = async <T>(url: string): Promise<T> =>
  (await page.request.get(`${baseUrl}${url}`)).json() as Promise<T>;
const submit = async (data: Record<string, unknown>) => {
  const res = await page.request.post(`${baseUrl}/api/v1/bulk-changes`, {
    headers: { origin: baseUrl },
    data,
  });
  expect(res.status(), await res.text()).toBe(202);
  return ((await res.json()) as { id: number }).id;
};

beforeAll(async () => {
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(20_000);
  page = await context.newPage();
  page.on('request', (request) => void requested.push(request.url()));
  page.on('pageerror', (error) => void pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    pageErrors.push(`native ${dialog.type()} dialog`);
    void dialog.dismiss();
  });
  await signIn(page, baseUrl, 'admin@northwind.example');
});

afterAll(async () => {
  await browser?.close();
});

type Items<T> = { items: T[] };
/**
 * Devices of the first change. Rev.io takes 500 calls a minute, two a device, spaced evenly: 120
 * devices take about 30 s, long enough to see progress pushed many times and the throughput shown.
 */
const DEVICES = 120;

describe('bulk change page, live', () => {
  let id = 0;
  let revCustomer = { id: 0, name: '' };
  let jasperId = 0;
  let free: { iccid: string }[] = [];

  it('follows a running change to its final status without a reload', async () => {
    const providers = await getJson<Items<{ id: number; name: string }>>('/api/v1/service-providers');
    jasperId = providers.items.find((p) => p.name.includes('Jasper'))!.id;
    free = await freeDevices(page, baseUrl, jasperId, DEVICES + 60);
    const customers = await getJson<Items<{ id: number; name: string; kind: string; active: boolean }>>(
      '/api/v1/customers?limit=1000',
    );
    // A Rev.io customer no other file has changed: the list filtered by it counts this file's only.
    for (const c of customers.items.filter((c) => c.kind === 'rev' && c.active)) {
      const changes = await getJson<Items<unknown>>(`/api/v1/bulk-changes?customerId=${c.id}&limit=1`);
      if (changes.items.length === 0) {
        revCustomer = c;
        break;
      }
    }
    expect(revCustomer.id, 'a Rev.io customer without bulk changes').toBeGreaterThan(0);
    id = await submit({
      changeType: 'customer_assignment',
      serviceProviderId: jasperId,
      customerId: revCustomer.id,
      devices: free.slice(0, DEVICES).map((d) => d.iccid),
      createRevService: true,
      revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 2 }] },
      addCarrierRatePlan: false,
      addCustomerRatePlan: false,
    });
    await page.goto(`${baseUrl}/bulk-changes/${id}`);
    await page.getByRole('heading', { name: `Bulk change #${id}` }).waitFor();
    await page.evaluate(() => void ((window as unknown as { marker: string }).marker = 'same page'));
    const tile = async (key: string) =>
      Number((await page.locator(`[data-tile="${key}"] .value`).textContent())?.replace(/\D/g, ''));
    // The processed counts seen while the change was open, and whether a throughput was shown.
    const seen = new Set<number>();
    let rateShown = false;
    await expect
      .poll(
        async () => {
          const status = await page.getByTestId('status').textContent();
          if (!/PROCESSED/i.test(status ?? '')) {
            seen.add(await tile('processed'));
            rateShown ||= /devices\/min over the last minute/.test(
              (await page.getByTestId('throughput').textContent()) ?? '',
            );
          }
          return status;
        },
        { timeout: 90_000, interval: 300 },
      )
      .toMatch(/PROCESSED/i);
    // Pushed over the event stream (no fallback to polling), several times before the end.
    expect(await page.evaluate(() => document.body.dataset.live)).toBe('events');
    expect(seen.size, 'the processed count moved on screen').toBeGreaterThanOrEqual(4);
    expect(rateShown, 'a throughput was shown while open').toBe(true);
    // every device finished (the simulators fail a few on purpose)
    expect((await tile('processed')) + (await tile('error'))).toBe(DEVICES);
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');
    expect(requested.some((u) => u.endsWith(`/api/v1/bulk-changes/${id}/events`))).toBe(true);
    await accessible('bulk change page, finished');
    await screenshot(page, 'live-1-finished');
  }, 120_000);

  it('shows each device its steps, linked to its device page', async () => {
    const row = page.locator('tbody tr').first();
    await expect.poll(() => row.locator('[data-state="done"]').count()).toBe(2);
    expect(await row.locator('.steps').textContent()).toContain('Rev.io service: done');
    const device = row.getByRole('link').first();
    expect(await device.getAttribute('href')).toMatch(/^\/devices\/\d+$/);
    // Its page names the line's service type and product from the account's cached catalogue.
    await getJson(`/api/v1/customers/${revCustomer.id}/rev-catalogue`);
    await device.click();
    // This change's line: the device may hold older ones, disconnected by another file's undo.
    const line = page
      .getByRole('table', { name: 'Rev.io service lines' })
      .locator('tbody tr', { hasText: new RegExp(`Bulk change ${id}\\b`) });
    await expect.poll(() => line.textContent()).toContain('M2M Data Line');
    expect(await line.textContent()).toContain('M2M line access at 2 (created)');
    // The change is listed with what became of this device in it.
    const change = page
      .getByRole('table', { name: 'Bulk changes that had the device' })
      .locator('tbody tr', { has: page.getByRole('link', { name: `Bulk change ${id}`, exact: true }) });
    expect(await change.locator('td').nth(3).textContent()).toMatch(/^processed$/i);
    await accessible('device page with a Rev.io line');
    await screenshot(page, 'live-device');
    await page.goBack();
    await page.getByRole('heading', { name: `Bulk change #${id}` }).waitFor();
  });

  it('filters the change log by ICCID and by step', async () => {
    await page.getByRole('tab', { name: 'Change log' }).click();
    await page.getByLabel('Device ICCID').fill(free[0]!.iccid);
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.url()).toContain(`iccid=${free[0]!.iccid}`);
    const cells = page.locator('table tbody tr:not(.log-detail) td:nth-child(2)');
    await expect.poll(async () => [...new Set(await cells.allTextContents())]).toEqual([free[0]!.iccid]);
    await page.getByLabel('Step').selectOption('ownership');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.url()).toContain('step=ownership');
    // the ownership step's entries only (once the filtered page has replaced the previous one)
    const descriptions = page.locator('table tbody tr:not(.log-detail) td:nth-child(3)');
    await expect
      .poll(async () => (await descriptions.allTextContents()).map((text) => /AMOP/.test(text)))
      .toEqual([true]);
    await accessible('change log filtered');
    await screenshot(page, 'live-2-log-filtered');
  });

  it('filters the list by status and customer, reflected in the URL, with a next page', async () => {
    // 51 one-device changes for this customer (more than a page), from every provider's free devices.
    const spare: [number, string][] = free.slice(DEVICES).map((d) => [jasperId, d.iccid]);
    const providers = await getJson<Items<{ id: number }>>('/api/v1/service-providers');
    for (const p of providers.items.filter((p) => p.id !== jasperId)) {
      const more = await getJson<Items<{ iccid: string }>>(
        `/api/v1/devices?serviceProviderId=${p.id}&status=active&unassigned=true&limit=60`,
      );
      spare.push(...more.items.map((d): [number, string] => [p.id, d.iccid]));
    }
    expect(spare.length).toBeGreaterThanOrEqual(51);
    for (const [serviceProviderId, iccid] of spare.slice(0, 51))
      await submit({
        changeType: 'customer_assignment',
        serviceProviderId,
        customerId: revCustomer.id,
        devices: [iccid],
        addCarrierRatePlan: false,
        addCustomerRatePlan: false,
      });
    await page.goto(`${baseUrl}/`);
    await page.getByLabel('Customer').selectOption(String(revCustomer.id));
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.url()).toContain(`customerId=${revCustomer.id}`);
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows.count()).toBe(52);
    await page.getByLabel('Status').selectOption('CANCELLED');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.url()).toContain('status=CANCELLED');
    await page.getByText('No bulk change matches these filters.').waitFor();
    await accessible('bulk change list filtered');
    await screenshot(page, 'live-3-list-filtered');
  }, 120_000);

  it('has an Admin menu in the top bar, keyboard-operable', async () => {
    const admin = page.getByRole('button', { name: 'Admin' });
    expect(await admin.getAttribute('aria-expanded')).toBe('false');
    await admin.focus();
    await page.keyboard.press('Enter');
    expect(await admin.getAttribute('aria-expanded')).toBe('true');
    await accessible('admin menu open');
    await screenshot(page, 'live-4-admin-menu');
    await page.keyboard.press('Escape');
    expect(await admin.getAttribute('aria-expanded')).toBe('false');
    const heights = await page
      .locator('#topbar nav a, #topbar .who > *')
      .evaluateAll((els) => els.map((el) => el.getBoundingClientRect().height));
    expect(Math.max(...heights), 'a top bar label wraps').toBeLessThan(40);
  });

  it('fits 390 px on every screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, url] of [
      ['list', '/'],
      ['bulk-change', `/bulk-changes/${id}`],
      ['users', '/users'],
      ['integrations', '/integrations'],
      ['import', '/import'],
      ['webhooks', '/webhooks'],
      ['customers', '/customers'],
      ['fleet', '/devices'],
      ['new', '/new'],
    ]) {
      await page.goto(`${baseUrl}${url}`);
      await page.locator('#main h1').first().waitFor();
      await expect.poll(() => page.locator('#main').getAttribute('data-rendering')).toBe('0');
      await screenshot(page, `live-390-${name}`);
      await fitsWidth(name!);
      await accessible(`${name} at 390 px`);
    }
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
