import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClusterWorker } from '../../workers/cluster-worker-runtime.js';
import { manifestCsv, sampleMsisdn, sampleRow } from '../../src/demo/sample-batch.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { runFaceWorker } from '../../workers/face-worker-runtime.js';
import { createLogger } from '../../src/logger.js';
import { ARTIFACTS, CHROMIUM, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { waitFor } from '../helpers/upload.js';

const SCRIPT_NAME = '<script>alert(1)</script>';

if (!HAS_CHROMIUM) {
  console.warn(`review UI e2e skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

let env: TestEnv;
let browser: Browser;
const keys: Record<string, string> = {};
const stoppers: (() => Promise<void>)[] = [];
const logger = createLogger({ logLevel: 'silent' });

/** Uploads one subscriber per photo, numbered from `first`; `names` replaces the sample names by position. */
async function upload(key: string, photos: Buffer[], first: number, names: (string | undefined)[] = []) {
  const rows = photos.map((_, i) => {
    const row = sampleRow(first + i, `photo-${i}.jpg`);
    return names[i] ? { ...row, name: names[i] } : row;
  });
  const form = new FormData();
  form.append('manifest', new Blob([manifestCsv(rows)]), 'manifest.csv');
  photos.forEach((bytes, i) => form.append(`photo-${i}.jpg`, new Blob([new Uint8Array(bytes)]), `photo-${i}.jpg`));
  const response = await fetch(`${env.url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  expect(response.status, await response.clone().text()).toBe(202);
}

async function flaggedClusters(): Promise<{ id: number; size: number }[]> {
  const response = await fetch(`${env.url}/v1/clusters?flagged=true`, {
    headers: { authorization: `Bearer ${keys.analyst!}` },
  });
  return ((await response.json()) as { items: { id: number; size: number }[] }).items;
}

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  env = await createTestEnv();
  Object.assign(keys, await env.keys(['JIO', 'AIRTEL'], ['analyst']));
  const faces = await runFaceWorker(env.config, logger);
  stoppers.push(() => faces.close());
  const clusters = await runClusterWorker(env.config, logger);
  stoppers.push(() => clusters.close());
  // One face (sample 1, person 0) under three names, two at JIO and one at AIRTEL; one of the names is markup.
  await upload(keys.jio!, [await portrait(1, 0, 0), await portrait(1, 0, 1), await portrait(3, 1, 0)], 1, [
    undefined,
    SCRIPT_NAME,
  ]);
  await upload(keys.airtel!, [await portrait(1, 0, 2)], 100);
  await waitFor(
    async () => ((await flaggedClusters()).some((cluster) => cluster.size === 3) ? true : undefined),
    120_000,
    'the flagged ring of three faces',
  );
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  for (const stop of stoppers.reverse()) await stop();
  await env?.close();
});

/** A page that fails the test on script errors, CSP violations and alert() (an injected script ran). */
async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/content security policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    problems.push(`unexpected ${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { page, problems };
}

describe.skipIf(!HAS_CHROMIUM)('analyst review UI in Chromium', () => {
  it('serves /ui/ with a strict CSP and redirects / to it', async () => {
    const root = await fetch(`${env.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const ui = await fetch(`${env.url}/ui/`);
    expect(ui.status).toBe(200);
    const csp = ui.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await ui.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect((await fetch(`${env.url}/ui/js/main.js`)).headers.get('content-type')).toMatch(/javascript/);
  });

  it('signs in, reviews the ring, confirms it and exports the numbers', async () => {
    const { page, problems } = await newPage();
    try {
      await reviewRing(page, problems);
    } catch (error) {
      await page.screenshot({ path: path.join(ARTIFACTS, 'review-failure.png'), fullPage: true });
      throw error;
    } finally {
      await page.close();
    }
  }, 120_000);
});

/**
 * Waits until `count` images match `selector` and every one decoded (naturalWidth > 0). The check is a function,
 * not a string: the page's CSP forbids eval. The test's tsconfig has no DOM types, hence ImageLike.
 */
async function imagesLoaded(page: Page, selector: string, count: number): Promise<void> {
  interface ImageLike {
    complete: boolean;
    naturalWidth: number;
  }
  await expect
    .poll(
      () =>
        page
          .locator(selector)
          .evaluateAll((images: unknown[]) =>
            images.map((image) => (image as ImageLike).complete && (image as ImageLike).naturalWidth > 0),
          ),
      { timeout: 10_000 },
    )
    .toEqual(Array<boolean>(count).fill(true));
}

/** The analyst's path through the UI, from sign-in to the downloaded export and sign-out. */
async function reviewRing(page: Page, problems: string[]) {
  await page.goto(`${env.url}/`);
  await page.locator('#key').fill('not-a-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.locator('.form-error').textContent()).toMatch(/not valid/);
  await page.locator('#key').fill(keys.analyst!);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // The queue: the ring, one pending cluster left.
  const rows = page.locator('.queue-table tbody tr');
  await rows.first().waitFor();
  expect(await rows.count()).toBe(1);
  await expect.poll(() => page.locator('#pending-count').textContent()).toBe('1 left');
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-queue.png') });

  // Enter opens the selected cluster.
  await page.keyboard.press('Enter');
  const members = page.locator('.member');
  await members.nth(2).waitFor();
  expect(await members.count()).toBe(3);
  await imagesLoaded(page, 'img.thumb', 3);
  // The markup name is shown as text and created no element.
  await expect.poll(() => page.locator('.member-name').allTextContents()).toContain(SCRIPT_NAME);
  expect(await page.locator('.members script, .matrix script').count()).toBe(0);
  expect(await page.locator('.matrix').count()).toBe(2);
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-cluster.png'), fullPage: true });

  // The original photo loads on demand.
  await page.locator('.thumb-button').first().click();
  await imagesLoaded(page, 'dialog img.original-photo', 1);
  await page.keyboard.press('Escape');
  await page.locator('dialog').waitFor({ state: 'detached' });

  // After a reload the session (and its CSRF token) comes back from GET /v1/session; c confirms every number.
  await page.reload();
  await members.nth(2).waitFor();
  await page.keyboard.press('c');
  await page.locator('dialog').getByRole('button', { name: 'Confirm fraud' }).click();
  await expect
    .poll(() => page.locator('.candidates tbody .status').allTextContents(), { timeout: 10_000 })
    .toEqual(['confirmed', 'confirmed', 'confirmed']);
  await expect.poll(() => page.locator('#pending-count').textContent()).toBe('0 left');

  // Export JIO's confirmed numbers and download the CSV through the page's link.
  await page.getByRole('link', { name: 'Exports' }).click();
  await page.locator('select[name="operator"] option[value="JIO"]').waitFor({ state: 'attached' });
  await page.locator('select[name="operator"]').selectOption('JIO');
  await page.getByRole('button', { name: 'Create export' }).click();
  const csvLink = page.locator('.exports tbody tr').first().locator('a[data-format="csv"]');
  await csvLink.waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
  const csv = await readFile(await download.path(), 'utf8');
  expect(csv).toContain(sampleMsisdn(1));
  expect(csv).toContain(sampleMsisdn(2));
  expect(csv).not.toContain(sampleMsisdn(100));
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-exports.png') });

  // Agents ranked by risk; the riskiest has flagged enrolments.
  await page.getByRole('link', { name: 'Agents' }).click();
  await page.locator('.agents tbody tr').first().waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-agents.png') });
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator('table.grid tbody tr a[href^="#/cluster/"]').count()).toBeGreaterThan(0);

  // The confirmed ring under the status filter; d asks for a dismissal reason, ? lists the shortcuts.
  await page.getByRole('link', { name: 'Queue' }).click();
  await page.locator('select[name="status"]').selectOption('confirmed');
  await expect.poll(() => page.locator('.queue-table tbody tr').count()).toBe(1);
  await page.keyboard.press('d');
  await expect.poll(() => page.locator('dialog input[name="reason"]').count()).toBe(3);
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-dismiss-dialog.png') });
  await page.keyboard.press('Escape');
  await page.locator('dialog').waitFor({ state: 'detached' });
  await page.keyboard.press('?');
  await page.locator('dialog .shortcuts').waitFor();
  await page.keyboard.press('Escape');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#key').waitFor();
  expect(problems).toEqual([]);
}
