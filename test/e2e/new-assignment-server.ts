// The New assignment browser test's world: its own simbind (2,000 seeded devices) and a Chromium page
// signed in as the Northwind admin. Native dialogs, page errors and console errors are collected.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { freePort } from '../helpers/ports.ts';
import { launchChromium, ROOT, SHOTS, stopProcess } from './harness.ts';

export type World = { baseUrl: string; page: Page; pageErrors: string[]; stop: () => Promise<void> };

async function waitReady(server: ChildProcess, baseUrl: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 75_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`simbind exited early:\n${log()}`);
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`simbind not ready after 75 s:\n${log()}`);
}

export async function startSignedIn(): Promise<World> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-e2e-new-'));
  // The embedded PostgreSQL may run as another user than the test (root → postgres).
  await fs.chmod(dataDir, 0o755);
  await fs.mkdir(SHOTS, { recursive: true });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let serverLog = '';
  const server = spawn(process.execPath, ['bin/simbind.js', 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      EMBEDDED_PG_PORT: String(await freePort()),
      DATA_DIR: dataDir,
      SEED_DEVICES: '2000',
      LOG_LEVEL: 'warn',
      SMTP_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => void (serverLog = (serverLog + chunk.toString()).slice(-20_000));
  server.stdout?.on('data', keep);
  server.stderr?.on('data', keep);
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close();
    await stopProcess(server);
    await fs.rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitReady(server, baseUrl, () => serverLog);
    browser = await launchChromium();
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => void pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      pageErrors.push(`native ${dialog.type()} dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(`${baseUrl}/login`);
    // The first load of a fresh server on a busy machine may take a while.
    await page.getByLabel('E-mail').waitFor({ timeout: 30_000 });
    await page.getByLabel('E-mail').fill('admin@northwind.example');
    await page.getByLabel('Password').fill('admin-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Bulk changes' }).waitFor();
    return { baseUrl, page, pageErrors, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
