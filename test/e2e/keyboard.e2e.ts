// The keyboard on the screens: a table costs the tab stops of its own links and buttons, its box one
// only when it scrolls with nothing focusable inside; and the fleet's Previous after a reload.
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { axeViolations, launchChromium, signIn } from './harness.ts';

/** The run's shared simbind (global-setup.ts); this file only reads. */
const { baseUrl } = inject('simbind');
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];

/** The screen finished drawing (no render in flight). */
const settled = () => page.waitForFunction(() => document.getElementById('main')?.dataset.rendering === '0');

/** Every tab stop of the page in order, from the top: "role: name" (a region by its name). */
async function tabStops(): Promise<string[]> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const stops: string[] = [];
  const seen = await page.evaluateHandle(() => new WeakSet<Element>());
  for (let i = 0; i < 300; i += 1) {
    await page.keyboard.press('Tab');
    const stop = await seen.evaluate((visited) => {
      const el = document.activeElement;
      // Back at the top (or out of the page): every stop has been seen.
      if (!el || el === document.body || visited.has(el)) return null;
      visited.add(el);
      const labelledBy = el.getAttribute('aria-labelledby');
      const name =
        el.getAttribute('aria-label') ??
        (labelledBy ? document.getElementById(labelledBy)?.textContent : el.textContent) ??
        '';
      return `${el.getAttribute('role') ?? el.tagName.toLowerCase()}: ${name.trim().slice(0, 40)}`;
    });
    if (stop === null) break;
    stops.push(stop);
  }
  await seen.dispose();
  return stops;
}

beforeAll(async () => {
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(20_000);
  page = await context.newPage();
  page.on('pageerror', (error) => void pageErrors.push(error.message));
  await signIn(page, baseUrl, 'admin@northwind.example');
});

afterAll(async () => {
  await browser?.close();
});

describe('keyboard', () => {
  it("goes from a table's last control before it straight to its first link, its box no stop", async () => {
    await page.goto(`${baseUrl}/customers`);
    await settled();
    const stops = await tabStops();
    const first = (await page
      .getByRole('table', { name: 'Customers' })
      .getByRole('link')
      .first()
      .textContent())!;
    expect(stops).not.toContain('region: Customers');
    expect(stops[stops.indexOf('select: Kind') + 1]).toBe(`a: ${first}`);
  });

  it('makes a box a tab stop when it scrolls and holds nothing focusable, and only then', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${baseUrl}/integrations`);
      await page.getByRole('heading', { name: 'Sync runs' }).waitFor();
      await settled();
      const runs = page.locator('.table-wrap[aria-labelledby="sync-runs-title"]');
      await expect.poll(() => runs.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
      const stops = await tabStops();
      expect(stops).toContain('region: Sync runs');
      // The accounts' box scrolls too, and its Test connection buttons reach it.
      expect(stops).not.toContain('region: Accounts');
      expect(await axeViolations(page), 'accessibility at 390 px').toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('goes back one page with Previous after a reload of a later fleet page', async () => {
    const providers = (await (await page.request.get(`${baseUrl}/api/v1/service-providers`)).json()) as {
      items: { id: number; name: string }[];
    };
    const jasper = providers.items.find((p) => p.name.includes('Jasper'))!;
    await page.goto(`${baseUrl}/devices?providerId=${jasper.id}`);
    await settled();
    const iccids = () =>
      page.getByTestId('fleet-table').locator('tbody tr td:nth-child(2)').allTextContents();
    const pages = [await iccids()];
    for (const n of [2, 3]) {
      await page.getByRole('button', { name: 'Next' }).click();
      await expect.poll(iccids).not.toEqual(pages[n - 2]);
      pages.push(await iccids());
    }
    expect(page.url()).toContain('cursor=');
    await page.reload();
    await settled();
    expect(await iccids()).toEqual(pages[2]);

    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(iccids).not.toEqual(pages[2]);
    expect(await iccids(), 'page 2, not the first').toEqual(pages[1]);
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(iccids).toEqual(pages[0]);
    expect(page.url()).not.toContain('cursor=');
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
