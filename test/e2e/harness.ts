import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * What every browser test shares: Debian's Chromium with the flags that keep it off the network
 * (nothing downloads a browser), axe-core injected into the page, screenshots, and stopping the
 * `simbind serve` child cleanly.
 */

const require = createRequire(import.meta.url);
/** axe-core, injected into the page: the accessibility rules checked on every screen. */
const AXE_SOURCE = await fs.readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Screenshots of each screen, overwritten on every run (scratch, not committed). */
export const SHOTS = path.join(ROOT, 'test/e2e/.screenshots');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** axe-core's serious and critical violations on the current page, each with its nodes. */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the app's CSP (no inline scripts) stays on for the page.
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
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
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await fs.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** SIGINT (simbind's clean stop), SIGKILL after 20 s; resolves when the process has exited. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * ICCID endings the simulators answer with a failure or a throttle (simulators/*.ts). The run's
 * files share one database: a device one file's bulk change failed on is unassigned still, first in
 * the next file's list of free devices, so a file that wants a clean run leaves these out.
 */
const SIMULATED_FAILURE = /(0404|0429|0500)$/;

/**
 * The first `count` active unassigned devices of a provider (in id order) that no simulator fails
 * on purpose, through the signed-in page's session.
 */
export async function freeDevices(
  page: Page,
  baseUrl: string,
  providerId: number,
  count: number,
): Promise<{ id: number; iccid: string }[]> {
  const limit = Math.min(1000, count + 100);
  const res = await page.request.get(
    `${baseUrl}/api/v1/devices?serviceProviderId=${providerId}&status=active&unassigned=true&limit=${limit}`,
  );
  const { items } = (await res.json()) as { items: { id: number; iccid: string }[] };
  return items.filter((d) => !SIMULATED_FAILURE.test(d.iccid)).slice(0, count);
}

/** Opens an admin screen from the top bar's Admin menu (People, Accounts, Import, Webhooks). */
export async function openAdminScreen(page: Page, name: string): Promise<void> {
  const link = page.getByRole('link', { name, exact: true });
  if (!(await link.isVisible())) await page.getByRole('button', { name: 'Admin' }).click();
  await link.click();
}

/** Signs in through the login screen and waits for the home screen (the bulk change list). */
export async function signIn(
  page: Page,
  baseUrl: string,
  email: string,
  password = 'admin-demo',
): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Bulk changes' }).waitFor();
}
