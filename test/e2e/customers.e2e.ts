import fs from 'node:fs/promises';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { axeViolations, launchChromium, screenshot, openAdminScreen, signIn as signInAs } from './harness.ts';

/**
 * Issue 11, item 5 on the screens: customers, their sites, customer rate plans and pools added
 * through the Customers screen (and offered by New assignment at once), and the Import screen's two
 * CSV uploads — a file with a bad row refused with its problems in a table and nothing added, the
 * fixed file imported, and a device file for a service provider. Real Chromium against
 * `simbind serve`, as ui.e2e.ts; axe-core checks each screen.
 */

// The run's shared simbind (global-setup.ts): the customers and devices added here are named for this file.
const { baseUrl } = inject('simbind');
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];

const signIn = (email: string, password: string) => signInAs(page, baseUrl, email, password);

/** axe-core on the current page: no serious or critical violation. */
async function accessible(screen: string): Promise<void> {
  expect(await axeViolations(page), `accessibility of ${screen}`).toEqual([]);
}

const shot = (name: string) => screenshot(page, name);

/** The API as the signed-in browser sees it. */
async function apiGet<T>(url: string): Promise<T> {
  const res = await page.request.get(`${baseUrl}/api/v1${url}`);
  expect(res.status(), url).toBe(200);
  return (await res.json()) as T;
}
const customerNames = async () =>
  (await apiGet<{ items: { name: string }[] }>('/customers?limit=1000')).items.map((c) => c.name);

/** Chooses a CSV "file" for an upload field, as a person picking it from disk would. */
const chooseCsv = (panel: string, name: string, lines: string[]) =>
  page
    .getByRole('form', { name: panel })
    .getByLabel('CSV file')
    .setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(`${lines.join('\n')}\n`) });

beforeAll(async () => {
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  context.setDefaultTimeout(20_000);
  page = await context.newPage();
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(baseUrl) && !url.startsWith('data:') && !url.startsWith('blob:'))
      pageErrors.push(`request to another origin: ${url}`);
  });
  page.on('pageerror', (error) => void pageErrors.push(error.message));
});

afterAll(async () => {
  await browser?.close();
});

describe('customers and CSV imports on the screens', () => {
  const customer = 'Harbour Works E2E';

  it('adds a customer with its default site, then another site, as an admin', async () => {
    await signIn('admin@northwind.example', 'admin-demo');
    await page.getByRole('link', { name: 'Customers', exact: true }).click();
    await page.getByRole('heading', { name: 'Customers', exact: true }).waitFor();
    const rows = page.getByRole('table', { name: 'Customers' }).locator('tbody tr');
    expect(await rows.count()).toBeGreaterThan(5);

    // Field errors come back next to their fields: a Rev.io customer without its id.
    const form = page.getByRole('form', { name: 'Add a customer' });
    await form.getByLabel('Name').fill(customer);
    await form.getByLabel('Kind').selectOption('rev');
    await form.getByRole('button', { name: 'Add customer' }).click();
    await expect
      .poll(() => form.locator('[data-error-for="revCustomerId"]').textContent())
      .toContain('Enter its id in Rev.io');
    await accessible('customers, a field error');

    await form.getByLabel('Kind').selectOption('amop');
    await form.getByLabel('Default site').fill('Pier 4');
    await form.getByLabel('Its address').fill('4 Quay Road');
    await form.getByRole('button', { name: 'Add customer' }).click();
    await page.getByRole('heading', { name: customer }).waitFor();
    expect(page.url()).toMatch(/\/customers\/\d+$/);
    expect(await page.getByRole('status').first().textContent()).toContain(`${customer} added`);

    const sites = page.getByRole('table', { name: `Sites of ${customer}` }).locator('tbody tr');
    await expect.poll(() => sites.count()).toBe(1);
    expect(await sites.first().textContent()).toContain('Pier 4');
    expect(await sites.first().textContent()).toContain('default');

    const siteForm = page.getByRole('form', { name: 'Add a site' });
    await siteForm.getByLabel('Name').fill('Dry dock');
    await siteForm.getByLabel('Address').fill('Basin 2');
    await siteForm.getByRole('button', { name: 'Add site' }).click();
    await expect.poll(() => sites.count()).toBe(2);
    // The same name again: the API's 409 is shown, nothing added.
    await siteForm.getByLabel('Name').fill('Dry dock');
    await siteForm.getByRole('button', { name: 'Add site' }).click();
    await expect
      .poll(() => siteForm.getByRole('alert').first().textContent())
      .toContain('already has a site');
    expect(await sites.count()).toBe(2);
    await accessible('a customer');
    await shot('c1-customer');
  });

  it('adds a customer rate plan and a pool', async () => {
    await page.getByRole('link', { name: 'All customers' }).click();
    const planForm = page.getByRole('form', { name: 'Add a rate plan' });
    await planForm.getByLabel('Code').fill('HW-250');
    await planForm.getByLabel('Name').fill('Harbour 250 MB');
    await planForm.getByLabel('Data (MB)').fill('250');
    await planForm.getByLabel('Monthly rate').fill('-1');
    await planForm.getByRole('button', { name: 'Add rate plan' }).click();
    await expect
      .poll(() => planForm.locator('[data-error-for="monthlyRate"]').textContent())
      .toContain('>= 0');
    await planForm.getByLabel('Monthly rate').fill('4.5');
    await planForm.getByRole('button', { name: 'Add rate plan' }).click();
    const plans = page.getByRole('table', { name: 'Customer rate plans' });
    await expect.poll(() => plans.textContent()).toContain('Harbour 250 MB');
    expect(await plans.textContent()).toContain('4.50');

    const poolForm = page.getByRole('form', { name: 'Add a pool' });
    await poolForm.getByLabel('Name').fill('Harbour pool');
    await poolForm.getByLabel('Shared data (MB)').fill('10000');
    await poolForm.getByRole('button', { name: 'Add pool' }).click();
    await expect
      .poll(() => page.getByRole('table', { name: 'Rate pools' }).textContent())
      .toContain('Harbour pool');

    // The search narrows the list to the new customer.
    await page.getByLabel('Search customers by name or Rev.io id').fill('harbour works');
    await expect.poll(() => page.getByTestId('customer-count').textContent()).toBe('1 customer');
    await accessible('customers');
    await shot('c2-customers');
  });

  it('offers the new customer, its sites and the new plan on New assignment', async () => {
    await page.getByRole('link', { name: 'New assignment', exact: true }).click();
    await page.locator('#customer-filter').fill('Harbour Works');
    await page.locator('#customer').selectOption({ label: `${customer} — AMOP` });
    await expect.poll(() => page.locator('#site').isDisabled()).toBe(false);
    expect(await page.locator('#site option').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('Pier 4'), expect.stringContaining('Dry dock')]),
    );
    await page.locator('#opt-customer-plan').check();
    expect(await page.locator('#customer-plan option').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('Harbour 250 MB')]),
    );
  });

  it('refuses a customer file with a bad row, listing its problems, and imports it once fixed', async () => {
    await openAdminScreen(page, 'Import');
    await page.getByRole('heading', { name: 'Import from CSV' }).waitFor();
    const before = await customerNames();
    const header = 'name,kind,rev_customer_id,rev_account,site_name,site_address';
    const good = ['Lighthouse Labs E2E,amop,,,Cape,', 'Tidewater Meters E2E,amop,,,,'];

    await chooseCsv('Customers (CSV)', 'customers.csv', [
      header,
      ...good,
      'Quay Cranes E2E,vip,,,,',
      ',amop,,,,',
    ]);
    await page.getByRole('form', { name: 'Customers (CSV)' }).getByRole('button', { name: 'Import' }).click();
    const problems = page.getByTestId('customers-problems').locator('tbody tr');
    await expect.poll(() => problems.count()).toBe(2);
    expect(await problems.nth(0).locator('td').allTextContents()).toEqual([
      '4',
      'kind',
      'must be amop or rev',
    ]);
    expect(await problems.nth(1).locator('td').allTextContents()).toEqual(['5', 'name', 'is required']);
    expect(await page.getByTestId('customers-result').textContent()).toContain('nothing was imported');
    expect(await customerNames()).toEqual(before);
    await accessible('import, a refused file');
    await shot('c3-import-refused');

    await chooseCsv('Customers (CSV)', 'customers-fixed.csv', [header, ...good]);
    await page.getByRole('form', { name: 'Customers (CSV)' }).getByRole('button', { name: 'Import' }).click();
    await expect
      .poll(() => page.getByTestId('customers-result').textContent())
      .toBe('customers-fixed.csv: 2 rows: 2 customers created, 0 renamed, 0 already there.');
    expect(await page.getByTestId('customers-problems').count()).toBe(0);
    const after = await customerNames();
    expect(after).toEqual(expect.arrayContaining(['Lighthouse Labs E2E', 'Tidewater Meters E2E']));
    expect(after).toHaveLength(before.length + 2);

    // The template is the header row the import reads.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page
        .getByRole('form', { name: 'Customers (CSV)' })
        .getByRole('link', { name: 'Download the template (header row)' })
        .click(),
    ]);
    expect(await fs.readFile(await download.path(), 'utf8')).toBe(`${header}\n`);
  });

  it('imports a device file for the service provider chosen', async () => {
    const devices = page.getByRole('form', { name: 'Devices (CSV)' });
    const iccids = [1, 2, 3].map((n) => {
      const body = `891480000099${String(n).padStart(6, '0')}`;
      return body + luhnCheckDigit(body);
    });
    await chooseCsv('Devices (CSV)', 'devices.csv', ['iccid,status', ...iccids.map((i) => `${i},active`)]);
    await devices.getByRole('button', { name: 'Import' }).click();
    await expect
      .poll(() => devices.locator('[data-error-for="provider"]').textContent())
      .toContain('Choose the service provider');

    await devices.getByLabel('Service provider').selectOption({ label: 'Cisco Jasper M2M' });
    await devices.getByRole('button', { name: 'Import' }).click();
    await expect
      .poll(() => page.getByTestId('devices-result').textContent())
      .toBe('devices.csv: 3 rows: 3 devices created, 0 updated.');
    const providers = await apiGet<{ items: { id: number; name: string }[] }>('/service-providers');
    const jasper = providers.items.find((p) => p.name === 'Cisco Jasper M2M')!;
    for (const iccid of iccids) {
      const found = await apiGet<{ items: { iccid: string }[] }>(
        `/devices?serviceProviderId=${jasper.id}&q=${iccid}`,
      );
      expect(found.items.map((d) => d.iccid)).toEqual([iccid]);
    }
    await accessible('import');
    await shot('c4-import-devices');
  });

  it('shows a viewer the customers read-only, and no Import', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('viewer@northwind.example', 'viewer-demo');
    await page.getByRole('link', { name: 'Customers', exact: true }).click();
    await page.getByRole('heading', { name: 'Customers', exact: true }).waitFor();
    expect(await page.getByRole('table', { name: 'Customers' }).textContent()).toContain(customer);
    expect(await page.getByRole('form', { name: 'Add a customer' }).count()).toBe(0);
    expect(await page.getByRole('form', { name: 'Add a rate plan' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Admin' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Import', exact: true }).count()).toBe(0);
    await accessible('customers, read-only');
    expect(pageErrors).toEqual([]);
  });
});
